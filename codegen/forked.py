"""Independent pieces of one command split over the machine's cores.

Two steps are slow enough in a cold run to be worth a second core: the model generator
(``render/models.py``) and the compatibility judgements of many new version pairs
(``gate.py``). Workers are forked, so they start with everything this process has
imported and loaded (no second interpreter start-up), and each piece is a pure function
of its input, so the result is the same as one process computing it all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 4


def workers() -> int:
    """Worker processes for a split: the cores, up to MAX_WORKERS; 1 means "do not split".

    Forking a process that runs other threads can copy a lock one of them holds, so a
    command with threads (``check --samples`` reads the broker meanwhile) stays in one
    process."""
    if os.name != "posix" or threading.active_count() > 1:
        return 1
    return min(os.cpu_count() or 1, MAX_WORKERS)


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` in ``parts`` contiguous runs of near-equal length (neighbours stay
    together: pairs of one event type share most of their sub-judgements)."""
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return [chunk for chunk in out if chunk]


def map_forked(fn: Callable[[T], R], chunks: list[T]) -> list[R]:
    """``[fn(c) for c in chunks]``: this process computes the first chunk while one forked
    worker per other chunk computes the rest (all here when there is one chunk)."""
    if len(chunks) < 2:
        return [fn(c) for c in chunks]
    import concurrent.futures
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork")
    first: list[R] = []
    try:
        with concurrent.futures.ProcessPoolExecutor(len(chunks) - 1, mp_context=ctx) as pool:
            futures = [pool.submit(fn, c) for c in chunks[1:]]
            first.append(fn(chunks[0]))
            return [first[0], *(f.result() for f in futures)]
    except (OSError, BrokenProcessPool):
        # no fork here (process limits, a killed worker): the pieces are pure, so this
        # process computes them itself
        if not first:
            first.append(fn(chunks[0]))
        return [first[0], *(fn(c) for c in chunks[1:])]

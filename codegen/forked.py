"""Independent pieces of one command split over the machine's cores.

Four steps are slow enough to be worth a second core: bundling and linting the version
files of a large tree (``build.py``), the model generator in a cold run
(``render/models.py``), the compatibility judgements of many new version pairs
(``gate.py``), and the docs of a large tree, written beside the Python package
(``render/python.py``). Workers are forked, so they start with everything this process has
imported and loaded (no second interpreter start-up), and each piece is a pure function
of its input, so the result is the same as one process computing it all.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
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
    worker per other chunk computes the rest (all here when there is one chunk).

    A worker sends its pickled result through a pipe and leaves with ``os._exit``: its
    copy of this process is never torn down object by object, which took longer than
    starting it. A worker that dies or fails, or a fork that fails, only means this
    process computes that chunk too (the pieces are pure)."""
    if len(chunks) < 2:
        return [fn(c) for c in chunks]
    workers: list[tuple[int, int] | None] = []
    results: list[R] = []
    try:
        for chunk in chunks[1:]:
            workers.append(_start(fn, chunk))
        results.append(fn(chunks[0]))
        for i, chunk in enumerate(chunks[1:]):
            w, workers[i] = workers[i], None  # collected from here on
            results.append(_result(w, fn, chunk))
        return results
    finally:
        for w in workers:
            if w is not None:  # not collected (an error here): stop it, close its pipe
                with contextlib.suppress(OSError):
                    os.kill(w[0], signal.SIGKILL)
                    os.waitpid(w[0], 0)
                with contextlib.suppress(OSError):
                    os.close(w[1])


def _start(fn: Callable[[T], R], chunk: T) -> tuple[int, int] | None:
    """Fork a worker for ``chunk``: (pid, read end of its pipe), None if it cannot fork."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the worker
        code = 1
        try:
            os.close(read)
            data = pickle.dumps(fn(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _result(worker: tuple[int, int] | None, fn: Callable[[T], R], chunk: T) -> R:
    if worker is None:
        return fn(chunk)
    pid, read = worker
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return fn(chunk)
    result: R = pickle.loads(data)
    return result

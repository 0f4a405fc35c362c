"""Settling: acks, idempotency marks, staged effects and dead letters, batched.

Outcomes are collected as handlers finish and sent in one `Source.settle` call (one round
trip on Redis), with at most one call in flight: whatever finishes while a call is out
goes in the next one. So settling never sits between reading and handling, and under load
batches grow by themselves. A call that fails because the broker is away is retried with
backoff (the handlers ran; acking them is what is left); after a stop, retrying ends once
the backoff is exhausted and the entries stay pending (redelivered; effects still apply
once, being atomic with the marks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from runtime.backoff import Backoff
from runtime.transport import DeadLetter, Inbound, Settled, Source

log = logging.getLogger("schemabus.settle")

#: Broker failures that are waited out (transports raise `BrokerUnavailable`, a
#: ConnectionError, for these).
TRANSIENT = (ConnectionError, OSError, TimeoutError)

OnSettled = Callable[[Sequence[Inbound], Sequence[DeadLetter], Settled | None], None]
"""`on_settled(done, dead, result)`: `result` says what was refused; None when nothing
could be settled (the broker kept failing): the entries stay pending."""

#: Non-transient settle failures tolerated (with backoff) before the entries are given
#: back to the source to be read again.
MAX_FAILURES = 5


class Settler:
    def __init__(self, source: Source, on_settled: OnSettled, stopping: asyncio.Event) -> None:
        self._source = source
        self._on_settled = on_settled
        self._stopping = stopping
        self._done: list[Inbound] = []
        self._dead: list[DeadLetter] = []
        self._task: asyncio.Task[None] | None = None
        self._scheduled = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._done) + len(self._dead)

    def done(self, inbound: Inbound) -> None:
        self._done.append(inbound)
        self._schedule()

    def dead(self, letter: DeadLetter) -> None:
        self._dead.append(letter)
        self._schedule()

    def _schedule(self) -> None:
        self._idle.clear()
        if not self._scheduled and self._task is None:
            self._scheduled = True
            # After the current burst of handling (the reader hands out a whole read
            # before it yields), so one call carries all of it.
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._task is not None:
            return
        if not self._done and not self._dead:
            self._idle.set()
            return
        done, dead = self._done, self._dead
        self._done, self._dead = [], []
        self._task = asyncio.get_running_loop().create_task(self._settle(done, dead))
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            log.error("settling failed", exc_info=task.exception())
        self._flush()

    async def _settle(self, done: list[Inbound], dead: list[DeadLetter]) -> None:
        backoff = Backoff()
        failures = 0
        result: Settled | None = None
        while True:
            try:
                result = await self._source.settle(done, dead)
                break
            except TRANSIENT as exc:
                if self._stopping.is_set() and backoff.exhausted:
                    log.error("could not settle %d entries: %s", len(done) + len(dead), exc)
                    break
                log.warning("settle failed (%s); retrying", exc)
            except Exception:
                # Not the connection: a script error, an out-of-memory server... Retry a
                # little, then give the entries back (they stay pending, read again).
                failures += 1
                log.exception("settling %d entries failed", len(done) + len(dead))
                if failures >= MAX_FAILURES:
                    break
            await backoff.sleep()
        self._on_settled(done, dead, result)

    async def join(self) -> None:
        """Wait until everything handed in so far is settled."""
        while not self._idle.is_set():
            if self._task is None and not self._scheduled:
                self._flush()
                continue
            await self._idle.wait()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

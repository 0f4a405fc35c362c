"""Per-aggregate lanes: entries of one key strictly in order, keys in parallel, no barrier.

A lane is the queue of one key's entries (one aggregate of one partition). Entries are
pushed as they are read; a key with a running lane gets its entry appended, a new key
starts a lane. Lanes never wait for each other: a slow or hanging handler holds back only
its own key, while the reader keeps feeding every other key (the bound on that is the
consumer's per-partition in-flight limit).

Most handlers finish without ever suspending (or suspend rarely), and wrapping every lane
in an asyncio Task costs more than the handlers themselves (measured: ~190 µs per 32
trivial lanes as tasks, against ~3 µs run inline). So a new lane's coroutine is first
stepped inline, in its own context copy; only a lane that actually suspends becomes a Task
(in that same context, so context variables set before the suspension — the current
envelope — stay valid), and at most `concurrency` lanes are suspended at once: starting
one more waits for a free slot, which is the back-pressure on the reader.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Hashable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

log = logging.getLogger("schemabus.lanes")


class _Resume:
    """Awaitable that continues driving a coroutine that was already stepped once and is
    suspended on `pending` (what it yielded to the event loop). `done` runs the moment the
    coroutine ends, in the same step: a done-callback of the task would run a loop
    iteration later, and an entry pushed to the lane in between would be stranded."""

    __slots__ = ("_coro", "_done", "_pending")

    def __init__(
        self, coro: Coroutine[Any, Any, Any], pending: Any, done: Callable[[], None]
    ) -> None:
        self._coro = coro
        self._pending = pending
        self._done = done

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        try:
            while True:
                try:
                    value = yield pending
                except BaseException as exc:  # cancellation is forwarded into the lane
                    try:
                        pending = coro.throw(exc)
                    except StopIteration as stop:
                        return stop.value
                else:
                    try:
                        pending = coro.send(value)
                    except StopIteration as stop:
                        return stop.value
        finally:
            self._done()


async def _finish(resume: _Resume) -> Any:
    return await resume


LaneRunner = Callable[[K, deque[T]], Coroutine[Any, Any, None]]
"""`run(key, queue)`: handle `queue` from its head, popping each entry once it is done,
until it is empty (entries pushed meanwhile are appended to it) or the lane stops early
(it may leave entries in the queue: they are forgotten by the lanes)."""


class Lanes(Generic[K, T]):
    def __init__(
        self,
        run: LaneRunner[K, T],
        concurrency: int,
        *,
        on_suspend: Callable[[asyncio.Task[Any]], None] | None = None,
    ) -> None:
        self._run = run
        self.concurrency = max(concurrency, 1)
        self._on_suspend = on_suspend
        self._queues: dict[K, deque[T]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()

    def __contains__(self, key: K) -> bool:
        return key in self._queues

    def __len__(self) -> int:
        """Lanes started or waiting to start."""
        return len(self._queues)

    @property
    def suspended(self) -> int:
        return len(self._tasks)

    def push(self, key: K, item: T) -> bool:
        """Append `item` to `key`'s lane if one exists; False when it does not."""
        queue = self._queues.get(key)
        if queue is None:
            return False
        queue.append(item)
        return True

    async def submit(self, key: K, item: T) -> None:
        if not self.push(key, item):
            await self.start(key, deque((item,)))

    def try_start(self, key: K, queue: deque[T]) -> bool:
        """Start a lane for `key` (which has none) over `queue` if a slot is free now;
        False (nothing done) when the caller must `await start(...)` instead."""
        if len(self._tasks) >= self.concurrency:
            return False
        self._queues[key] = queue
        self._step(key, queue)
        return True

    async def start(self, key: K, queue: deque[T]) -> None:
        """Start a lane for `key` (which has none) over `queue`. Entries pushed for `key`
        from now on join `queue`, even while this waits for a free slot."""
        self._queues[key] = queue
        while len(self._tasks) >= self.concurrency:
            self._changed.clear()
            await self._changed.wait()
        self._step(key, queue)

    def _step(self, key: K, queue: deque[T]) -> None:
        # First step inline, in a context of its own; a Task only if it suspends.
        coro = self._run(key, queue)
        ctx = contextvars.copy_context()
        try:
            pending = ctx.run(coro.send, None)
        except StopIteration:
            self._finished(key, queue)
            return
        except BaseException:
            self._finished(key, queue)
            raise
        task = asyncio.get_running_loop().create_task(
            _finish(_Resume(coro, pending, lambda: self._finished(key, queue))), context=ctx
        )
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        if self._on_suspend is not None:
            self._on_suspend(task)

    def _finished(self, key: K, queue: deque[T]) -> None:
        if self._queues.get(key) is queue:
            del self._queues[key]
        self._changed.set()

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("lane failed", exc_info=task.exception())

    def drop(self, select: Callable[[K], bool]) -> Iterator[T]:
        """Remove the waiting entries (every one but the head, which may be running) of the
        lanes whose key `select` picks; yields them."""
        for key, queue in list(self._queues.items()):
            if select(key):
                while len(queue) > 1:
                    yield queue.pop()

    async def join(self) -> None:
        """Wait until no lane is running."""
        while self._queues or self._tasks:
            self._changed.clear()
            await self._changed.wait()

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

"""Handler deadlines: a lane whose handler runs too long is cancelled, and only that lane.

Only lanes that actually wait get a timer (a lane that finishes inline cannot hang on I/O,
and arming a timer per entry would cost more than most handlers). The timer covers the
entry being handled; `rearm` gives the lane's next entry a fresh one. When a timer fires
the lane's task is cancelled; the lane then asks `expired()` whether the cancellation was
the deadline (it is un-cancelled and the entry counts as a failed attempt) or a real one
(shutdown, which propagates).
"""

from __future__ import annotations

import asyncio
from typing import Any


class HandlerTimeout(Exception):
    """A handler ran longer than `ConsumerSettings.handler_timeout_ms`; it was cancelled
    and counts as a failed attempt."""


class Deadlines:
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_s = timeout_ms / 1000
        self._timers: dict[asyncio.Task[Any], asyncio.TimerHandle] = {}
        self._expired: set[asyncio.Task[Any]] = set()

    @property
    def armed(self) -> bool:
        return bool(self._timers)

    def on_suspend(self, task: asyncio.Task[Any]) -> None:
        """Called for each lane that suspended and became a task."""
        if self.timeout_s > 0:
            loop = asyncio.get_running_loop()
            self._timers[task] = loop.call_later(self.timeout_s, self._expire, task)
            task.add_done_callback(self._disarm)

    def rearm(self) -> None:
        """The current lane starts its next entry: a fresh deadline for it."""
        task = asyncio.current_task()
        handle = self._timers.get(task) if task is not None else None
        if task is not None and handle is not None:
            handle.cancel()
            loop = asyncio.get_running_loop()
            self._timers[task] = loop.call_later(self.timeout_s, self._expire, task)

    def expired(self) -> HandlerTimeout | None:
        """If the deadline is what cancelled the current task: un-cancel it, re-arm it for
        the next entry and return the failure to record; None for a real cancellation."""
        task = asyncio.current_task()
        if task is None or task not in self._expired:
            return None
        self._expired.discard(task)
        task.uncancel()
        self.rearm()
        return HandlerTimeout(f"handler did not finish within {self.timeout_s:g}s")

    def _disarm(self, task: asyncio.Task[Any]) -> None:
        handle = self._timers.pop(task, None)
        if handle is not None:
            handle.cancel()
        self._expired.discard(task)

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._expired.add(task)
        task.cancel()

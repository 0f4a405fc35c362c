"""Retry parking: a key whose head entry failed waits, with everything behind it, for its
backoff, while every other key keeps flowing.

Entries that arrive for a parked key join the back of its queue (still unacknowledged), so
the key's order holds across the retry. When the backoff is due, `on_due(key, queue)` runs;
the key stays parked until the consumer calls `resume(key)` (after recording the new
delivery attempt with the broker), so an entry read in between cannot overtake the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Parking(Generic[K, T]):
    def __init__(self, on_due: Callable[[K, deque[T]], None]) -> None:
        self._on_due = on_due
        self._queues: dict[K, deque[T]] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}

    def __contains__(self, key: K) -> bool:
        return key in self._queues

    def __len__(self) -> int:
        """Entries parked."""
        return sum(len(q) for q in self._queues.values())

    def park(self, key: K, queue: deque[T], delay_s: float) -> None:
        self._queues[key] = queue
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay_s, self._due, key)

    def push(self, key: K, item: T) -> bool:
        """Append `item` behind `key`'s parked queue; False when `key` is not parked."""
        queue = self._queues.get(key)
        if queue is None:
            return False
        queue.append(item)
        return True

    def _due(self, key: K) -> None:
        self._timers.pop(key, None)
        queue = self._queues.get(key)
        if queue is not None:
            self._on_due(key, queue)

    def resume(self, key: K) -> deque[T] | None:
        """Unpark `key`, handing back its queue (None if it was dropped meanwhile)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        return self._queues.pop(key, None)

    def delay(self, key: K, delay_s: float) -> None:
        """Try again later (the broker was unavailable when the retry was due)."""
        if key in self._queues:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(delay_s, self._due, key)

    def drop(self, select: Callable[[K], bool]) -> Iterator[T]:
        """Unpark and yield every entry of the keys `select` picks."""
        for key in [k for k in self._queues if select(k)]:
            queue = self.resume(key)
            if queue is not None:
                yield from queue

    def next_due(self) -> float | None:
        """Loop time of the earliest pending retry, if any."""
        if not self._timers:
            return None
        return min(t.when() for t in self._timers.values())

    def clear(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._queues.clear()

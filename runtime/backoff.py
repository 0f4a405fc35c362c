"""The one backoff helper: exponential delays with "equal jitter".

Used for handler retries (`delay_s(policy, attempts)`) and for every loop that waits out a
broker (`Backoff`: reconnecting, re-settling, re-reading). Equal jitter keeps half of the
delay fixed and randomises the other half, so many consumers that failed together do not
hammer a recovering dependency in step, and no retry comes sooner than half its due time.
"""

from __future__ import annotations

import asyncio
import random

from runtime.spec import RetryPolicy


def jittered(full_s: float) -> float:
    return full_s / 2 + random.random() * full_s / 2


def delay_s(policy: RetryPolicy, attempts: int) -> float:
    """Backoff before retry number `attempts` of a handler: backoff_ms * 2^(attempts-1),
    capped at backoff_max_ms, with equal jitter."""
    exponent = min(max(attempts - 1, 0), 30)
    full = min(policy.backoff_max_ms, policy.backoff_ms * (1 << exponent)) / 1000.0
    return jittered(full)


class Backoff:
    """Delays for a loop that waits out a broker: `initial_s`, doubling up to `max_s`.

    backoff = Backoff()
    while True:
        try: ...; backoff.reset(); break
        except BrokerUnavailable: await backoff.sleep()
    """

    __slots__ = ("_initial", "_max", "delay")

    def __init__(self, initial_s: float = 0.05, max_s: float = 2.0) -> None:
        self._initial = initial_s
        self._max = max_s
        self.delay = initial_s

    @property
    def exhausted(self) -> bool:
        """True once the delay has reached its cap (callers may then give up)."""
        return self.delay >= self._max

    def next(self) -> float:
        """The next delay (jittered into [d/2, d]), doubling d for the one after it."""
        current = self.delay
        self.delay = min(self.delay * 2, self._max)
        return jittered(current)

    async def sleep(self) -> None:
        await asyncio.sleep(self.next())

    def reset(self) -> None:
        self.delay = self._initial

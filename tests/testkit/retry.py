"""Retrying a client call while servers fail over (counts the failed attempts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import RedisError

T = TypeVar("T")

RETRIED: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


async def eventually(
    op: Callable[..., Awaitable[T]],
    *args: Any,
    timeout: float = 30.0,
    retried: tuple[type[BaseException], ...] = RETRIED,
) -> tuple[T, int]:
    """Await `op(*args)` until it succeeds; returns its result and how many calls failed."""
    failures = 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await op(*args), failures
        except retried:
            failures += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)

"""Which Redis failures are transient, and turning them into `BrokerUnavailable`.

Connection-level failures and `LOADING` (Redis replaying its AOF after a restart) pass;
the engine waits them out and nothing is lost. Everything else is a real error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from runtime.errors import BrokerUnavailable

#: Errors after which an operation may be retried once Redis is back.
RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, TimeoutError)


def is_loading(exc: BaseException) -> bool:
    """Redis answers LOADING while it replays its AOF after a restart: retry later."""
    return isinstance(exc, ResponseError) and str(exc).startswith("LOADING")


def is_nogroup(exc: BaseException) -> bool:
    """The stream or its group vanished (FLUSHALL, a restart without persistence)."""
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE) or is_loading(exc)


@asynccontextmanager
async def transient() -> AsyncIterator[None]:
    """Turn redis-py's connection-level failures into `BrokerUnavailable`, which the
    engine retries, so a Redis restart never kills a consumer."""
    try:
        yield
    except BrokerUnavailable:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise BrokerUnavailable(f"Redis unavailable: {exc}") from exc
        raise

"""Which Redis failures are transient, and turning them into `BrokerUnavailable`.

Connection-level failures and `LOADING` (Redis replaying its AOF after a restart) pass;
the engine waits them out and nothing is lost. On a Redis Cluster so do the states of a
failover or a slot migration that the cluster client could not ride out by itself
(`CLUSTERDOWN`, `TRYAGAIN`, a redirect loop, a slot no live node serves yet), and behind
Sentinel a write that reached a demoted primary (`READONLY`). Everything else is a real
error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import (
    AskError,
    ClusterDownError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from runtime.errors import BrokerUnavailable

#: Errors after which an operation may be retried once Redis is back.
RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, TimeoutError)

#: A cluster (or Sentinel-managed primary) in transition: retried like a lost connection.
#: MovedError is an AskError; both only surface when the client's own redirects ran out.
FAILOVER = (ClusterDownError, TryAgainError, AskError, SlotNotCoveredError, ReadOnlyError)


def is_loading(exc: BaseException) -> bool:
    """Redis answers LOADING while it replays its AOF after a restart: retry later."""
    return isinstance(exc, ResponseError) and str(exc).startswith("LOADING")


def is_nogroup(exc: BaseException) -> bool:
    """The stream or its group vanished (FLUSHALL, a restart without persistence)."""
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (*RETRYABLE, *FAILOVER)) or is_loading(exc):
        return True
    # redis-py's cluster client says so when no seed node answers (all restarting).
    return isinstance(exc, RedisClusterException) and "cannot be connected" in str(exc)


def raise_reply(reply: Any) -> None:
    """Raise a pipelined reply that is an error (`BrokerUnavailable` when transient)."""
    if isinstance(reply, Exception):
        if is_transient(reply):
            raise BrokerUnavailable(f"Redis unavailable: {reply}") from reply
        raise reply


@asynccontextmanager
async def transient() -> AsyncIterator[None]:
    """Turn redis-py's connection-level failures into `BrokerUnavailable`, which the
    engine retries, so a Redis restart (or a failover) never kills a consumer."""
    try:
        yield
    except BrokerUnavailable:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise BrokerUnavailable(f"Redis unavailable: {exc}") from exc
        raise

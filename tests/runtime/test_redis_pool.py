"""The pool's idle-connection fast path keeps the blocking pool's bound and waiting."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from runtime.redis_conn import FastBlockingConnectionPool, FastConnection


def _client(url: str, *, max_connections: int, timeout: float = 20) -> aioredis.Redis:
    pool = FastBlockingConnectionPool.from_url(
        url, connection_class=FastConnection, max_connections=max_connections, timeout=timeout
    )
    return aioredis.Redis(connection_pool=pool)


async def test_sequential_commands_reuse_one_connection(redis_url: str) -> None:
    r = _client(redis_url, max_connections=4)
    try:
        for i in range(20):
            await r.set("pool:k", i)
        assert await r.get("pool:k") == b"19"
        pool = r.connection_pool
        assert isinstance(pool, FastBlockingConnectionPool)
        assert len(pool._available_connections) == 1 and not pool._in_use_connections
    finally:
        await r.aclose()


async def test_concurrent_commands_wait_for_the_bounded_connections(redis_url: str) -> None:
    r = _client(redis_url, max_connections=2)
    try:
        await r.delete("pool:n")
        await asyncio.gather(*(r.incr("pool:n") for _ in range(200)))
        assert await r.get("pool:n") == b"200"
        pool = r.connection_pool
        assert len(pool._available_connections) <= 2 and not pool._in_use_connections
    finally:
        await r.aclose()


async def test_a_busy_pool_waits_then_times_out_clearly(redis_url: str) -> None:
    r = _client(redis_url, max_connections=1, timeout=0.2)
    try:
        await r.ping()  # one idle connection
        blocked = asyncio.ensure_future(r.blpop(["pool:never"], timeout=1))
        await asyncio.sleep(0.05)  # the blocking command holds the only connection
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await r.ping()
        assert await blocked is None
        assert await r.ping()  # the connection is back and handed out again
    finally:
        await r.aclose()


async def test_a_waiter_is_served_before_newcomers(redis_url: str) -> None:
    r = _client(redis_url, max_connections=1)
    try:
        await r.ping()
        order: list[str] = []
        blocked = asyncio.ensure_future(r.blpop(["pool:never2"], timeout=0.3))
        await asyncio.sleep(0.05)

        async def call(name: str) -> None:
            await r.ping()
            order.append(name)

        first = asyncio.ensure_future(call("waiter"))
        await blocked
        # The connection was just released to the queued waiter; a newcomer must not take it.
        await call("newcomer")
        await first
        assert order == ["waiter", "newcomer"]
    finally:
        await r.aclose()

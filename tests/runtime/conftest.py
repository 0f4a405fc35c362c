from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.runtime.harness import Harness, MemoryHarness, NatsHarness, RedisHarness

TRANSPORTS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("nats", id="nats", marks=pytest.mark.nats),
]


@pytest_asyncio.fixture(params=TRANSPORTS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    h: Harness
    if request.param == "memory":
        h = MemoryHarness()
    elif request.param == "nats":
        h = await NatsHarness.create(request.getfixturevalue("nats_url"))
    else:
        url = request.getfixturevalue("redis_url")
        client = aioredis.Redis.from_url(url)
        await client.flushall()
        await client.aclose()
        h = RedisHarness(url)
    try:
        yield h
    finally:
        await h.close()

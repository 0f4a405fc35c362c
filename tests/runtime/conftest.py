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


# Capabilities only some transports have are tested on exactly those transports (instead
# of generating a test per transport and skipping where the feature does not exist).
WITH_EFFECTS = [p for p in TRANSPORTS if p.values[0] in ("memory", "redis")]
WITH_REQUESTS = [p for p in TRANSPORTS if p.values[0] in ("memory", "nats")]
WITH_LEASES = [p for p in TRANSPORTS if p.values[0] in ("memory", "redis")]


@pytest_asyncio.fixture(params=TRANSPORTS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async for h in _harness(request):
        yield h


@pytest_asyncio.fixture(params=WITH_EFFECTS)
async def effects_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Transports with staged effects committed atomically with the ack."""
    async for h in _harness(request):
        yield h


@pytest_asyncio.fixture(params=WITH_REQUESTS)
async def request_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Transports with request/reply."""
    async for h in _harness(request):
        yield h


@pytest_asyncio.fixture(params=WITH_LEASES)
async def leases_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Transports with partitions owned through leases and fencing tokens."""
    async for h in _harness(request):
        yield h


async def _harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
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

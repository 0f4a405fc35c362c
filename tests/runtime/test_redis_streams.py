"""Redis Streams specifics: retention, connection pressure, the settle script, groups."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import redis.asyncio as aioredis

from runtime import constants as C
from runtime.bus import Bus
from runtime.envelope import Envelope
from runtime.redis_source import RedisSource
from runtime.redis_streams import RedisTransport
from runtime.settings import RedisSettings
from runtime.spec import Registry, Retention
from runtime.transport import Outbound, Settled
from tests.runtime.harness import FAST, lease_all
from tests.runtime.models import ORDER_V2, OrderCreatedV2

pytestmark = pytest.mark.redis


async def _source(r: aioredis.Redis, consumer: str = "c") -> RedisSource:
    """A source that holds the lease on `orders`, as its consumer's ownership loop would."""
    source = RedisSource(r, "g", consumer, ("orders",), FAST)
    await source.open()
    await lease_all(source, consumer)
    return source


@pytest.fixture
async def r(redis_url: str) -> aioredis.Redis:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    yield client
    await client.aclose()


def _bus(url: str, retention: Retention) -> Bus:
    spec = dataclasses.replace(ORDER_V2, retention=retention)
    return Bus(Registry.build([spec]), source="p", durable=RedisTransport.from_url(url), live=None)


async def test_maxlen_retention_trims_approximately(r: aioredis.Redis, redis_url: str) -> None:
    bus = _bus(redis_url, Retention(maxlen=100))
    for _ in range(10):
        await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(100)])
    length = await r.xlen("orders")
    assert 100 <= length < 1000
    await bus.close()


async def test_minid_retention_drops_old_entries(r: aioredis.Redis, redis_url: str) -> None:
    bus = _bus(redis_url, Retention(max_age_ms=50))
    for _ in range(3):
        await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(150)])
    await asyncio.sleep(0.1)
    await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(150)])
    first_id = (await r.xrange("orders", count=1))[0][0].decode()
    # Whole old macro-nodes are gone: the oldest kept entry is not from the first batch.
    assert await r.xlen("orders") < 600
    assert int(first_id.split("-")[0]) > 0
    await bus.close()


async def test_many_concurrent_publishers_share_a_small_pool(
    r: aioredis.Redis, redis_url: str
) -> None:
    transport = await RedisTransport.connect(
        dataclasses.replace(RedisSettings.from_url(redis_url), max_connections=3)
    )
    bus = Bus(Registry.build([ORDER_V2]), source="p", durable=transport, live=None)
    await asyncio.gather(*(bus.publish(OrderCreatedV2(order_id="a", total=i)) for i in range(300)))
    assert await r.xlen("orders") == 300
    await bus.close()


async def test_settle_is_one_script_and_skips_effects_of_completed(r: aioredis.Redis) -> None:
    source = await _source(r)
    env = Envelope.new(source="t", type="x", dataversion=1, data=b"{}")
    transport = RedisTransport(r)
    await transport.publish([Outbound("orders", env), Outbound("orders", env)])  # a duplicate
    batch = await source.fetch(10, 100)
    assert len(batch) == 2 and batch[0].envelope and batch[0].envelope.id == env.id
    assert [i.completed for i in batch] == [False, False]  # neither was completed yet
    for inbound in batch:
        inbound.effects.append(("INCR", "effect-count"))
    assert await source.settle(batch[:1], []) == Settled()
    await source.settle(batch[1:], [])
    assert await r.get("effect-count") == b"1"  # the duplicate's effects were skipped
    assert (await r.xpending("orders", "g"))["pending"] == 0
    assert await r.ttl(C.idempotency_key("orders", "g", env.id)) > 0
    # Published again after completion: the read itself flags it (no extra round trip).
    await transport.publish([Outbound("orders", env)])
    (again,) = await source.fetch(10, 100)
    assert again.completed


async def test_busygroup_is_tolerated_and_history_is_read_first(r: aioredis.Redis) -> None:
    transport = RedisTransport(r)
    await transport.publish(
        [Outbound("orders", Envelope.new(source="t", type="x", dataversion=1, data=b"{}"))]
    )
    a = await _source(r, "same")
    await a.open()  # BUSYGROUP
    first = await a.fetch(10, 100)
    assert [i.attempts for i in first] == [1]
    b = await _source(r, "same")  # the same consumer, restarted
    again = await b.fetch(10, 100)
    assert [i.message_id for i in again] == [first[0].message_id]
    assert again[0].attempts == 2
    await b.settle(again, [])
    assert await b.fetch(10, 50) == []


async def test_redeliver_bumps_the_server_side_count(r: aioredis.Redis) -> None:
    transport = RedisTransport(r)
    await transport.publish(
        [Outbound("orders", Envelope.new(source="t", type="x", dataversion=1, data=b"{}"))]
    )
    s = await _source(r)
    (inbound,) = await s.fetch(1, 100)
    await s.redeliver(inbound)
    await s.redeliver(inbound)
    assert inbound.attempts == 3
    rows = await r.xpending_range("orders", "g", "-", "+", 10)
    assert rows[0]["times_delivered"] == 3


async def test_entry_trimmed_while_pending_is_reported_not_lost_silently(r: aioredis.Redis) -> None:
    transport = RedisTransport(r)
    await transport.publish(
        [Outbound("orders", Envelope.new(source="t", type="x", dataversion=1, data=b"{}"))]
    )
    s = await _source(r)
    (inbound,) = await s.fetch(1, 100)
    await r.xdel("orders", inbound.message_id)
    s2 = await _source(r)
    history = await s2.fetch(10, 50)
    assert len(history) == 1 and history[0].envelope is None
    assert history[0].error is not None and "trimmed" in history[0].error

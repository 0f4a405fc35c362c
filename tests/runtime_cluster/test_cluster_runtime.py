"""The runtime on a real 3 + 3 Redis Cluster (`redis+cluster://`): what only a cluster
has. The conformance, partition and fencing suites run on it too (the `redis-cluster`
harness in tests/runtime/conftest.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
import pytest_asyncio
from redis.asyncio.cluster import ClusterNode
from redis.crc import key_slot

from runtime import cli
from runtime import constants as C
from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.dlq import dead_letters, replay
from runtime.partitioning import colocated_key, partition_keys, slot_tag
from runtime.redis_conn import make_client
from runtime.redis_streams import RedisTransport
from runtime.settings import RedisSettings, Settings
from runtime.spec import Context, ServiceWiring, Subscription
from runtime.state import RedisState
from runtime.status import status
from runtime.testkit import RedisCluster
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2_P4, REGISTRY_P4, OrderCreatedV2
from tests.runtime.test_conformance import eventually

pytestmark = [pytest.mark.redis, pytest.mark.slow]

KEYS = partition_keys("orders", 4)


@pytest_asyncio.fixture
async def cluster(redis_cluster: RedisCluster) -> AsyncIterator[RedisCluster]:
    client = make_client(RedisSettings.from_url(redis_cluster.url))
    await client.flushall()  # every primary
    await client.aclose()
    yield redis_cluster


def _bus(url: str, **kw: Any) -> Bus:
    return Bus(
        REGISTRY_P4,
        source="p",
        durable=RedisTransport.from_url(url),
        live=None,
        settings=Settings(redis=None, consumer=kw.pop("consumer", FAST)),
    )


def _wiring(handler: Any) -> ServiceWiring:
    return ServiceWiring("payment", (Subscription(ORDER_V2_P4, handler),))


async def test_partitions_live_on_several_shards_and_publish_is_one_trip_per_node(
    cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    owners = {cluster.master_for_key(k).port for k in KEYS}
    assert len(owners) >= 2, "the test needs partitions on more than one shard"
    calls: Counter[str] = Counter()
    real = ClusterNode.execute_pipeline

    async def counting(self: ClusterNode, commands: Any) -> bool:
        calls[self.name] += 1
        return await real(self, commands)

    bus = _bus(cluster.url)
    # Reads the slot map and, on a cluster no earlier test used, loads the scripts (a
    # first NOSCRIPT costs each node a second trip, which is not what is measured here).
    await bus.publish_many([OrderCreatedV2(order_id=f"warm-up-{k}", total=0) for k in KEYS])
    monkeypatch.setattr(ClusterNode, "execute_pipeline", counting)
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(200)])
    monkeypatch.undo()
    # One pipelined round trip to each node that holds a partition, none twice.
    assert sorted(int(name.rsplit(":", 1)[1]) for name in calls) == sorted(owners)
    assert set(calls.values()) == {1}, calls
    client = make_client(RedisSettings.from_url(cluster.url))
    lengths = [int(await client.xlen(k)) for k in KEYS]
    assert sum(lengths) == 200 + len(KEYS) and all(lengths)
    await client.aclose()
    await bus.close()


async def test_idle_consumer_wakes_for_any_shard(cluster: RedisCluster) -> None:
    """Idle, the consumer blocks in one XREAD per slot; an entry on any shard wakes it.
    BLOCK is 30 s here, so handling within the 10 s bound proves the wake-up."""
    settings = replace(FAST, block_ms=30_000)
    bus = _bus(cluster.url, consumer=settings)
    seen: list[str] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        seen.append(event.order_id)

    runner = bus.service(_wiring(handler), consumer_name="m", settings=settings)
    await runner.start()
    (consumer,) = runner.consumers
    assert consumer.ownership is not None
    await eventually(lambda: len(consumer.ownership.tokens) == 4)  # type: ignore[union-attr]
    ids = {k: next(f"a{i}" for i in range(1000) if ORDER_V2_P4.route(f"a{i}") == k) for k in KEYS}
    for aggregate in ids.values():
        await asyncio.sleep(0.3)  # let it go idle in its blocking reads again
        await bus.publish(OrderCreatedV2(order_id=aggregate, total=1))
        await eventually(lambda a=aggregate: a in seen, timeout=10)  # type: ignore[misc]
    await runner.stop()
    await bus.close()


async def test_staged_effects_must_stay_in_the_partition_slot(cluster: RedisCluster) -> None:
    bus = _bus(cluster.url)

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext) and ctx.inbound is not None
        if event.order_id.startswith("bad"):
            ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)  # another slot: refused here
        else:
            ctx.stage("HINCRBY", colocated_key(ctx.inbound.destination, "ledger"), ctx.event_id, 1)

    runner = bus.service(_wiring(handler), consumer_name="m")
    await runner.start()
    good = [OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(20)]
    await bus.publish_many([*good, OrderCreatedV2(order_id="bad-1", total=99)])
    await eventually(lambda: runner.handled == 20 and runner.dead_lettered == 1, timeout=20)
    await runner.stop()
    client = make_client(RedisSettings.from_url(cluster.url))
    ledgers = {k: await client.hgetall(colocated_key(k, "ledger")) for k in KEYS}
    assert sum(len(v) for v in ledgers.values()) == 20
    for key, ledger in ledgers.items():
        assert key_slot(colocated_key(key, "ledger").encode()) == key_slot(key.encode())
        assert all(int(v) == 1 for v in ledger.values())
    assert await client.exists("ledger") == 0
    (letter,) = await dead_letters(client)
    assert letter.get(C.DLQ_REASON) == C.REASON_HANDLER_FAILED
    assert "outside the Redis Cluster slot" in letter.get(C.DLQ_ERROR_MESSAGE)
    assert "colocated_key" in letter.get(C.DLQ_ERROR_MESSAGE)
    await client.aclose()
    await bus.close()


async def test_state_store_and_status_and_dlq_on_a_cluster(cluster: RedisCluster) -> None:
    state = RedisState.from_settings(RedisSettings.from_url(cluster.url))
    for i in range(30):  # keys all over the slots
        await state.hset(f"order:{i}", {"status": "placed"})
    assert await state.hget("order:29", "status") == "placed"
    assert await state.hincrby("stock", "sku-1", 3) == 3
    await state.close()

    bus = _bus(cluster.url)

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        if event.total % 10 == 3:
            raise RuntimeError(f"boom {event.total}")

    runner = bus.service(_wiring(handler), consumer_name="m1")
    await runner.start()
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(40)])
    await eventually(lambda: runner.handled == 36 and runner.dead_lettered == 4, timeout=20)
    client = make_client(RedisSettings.from_url(cluster.url))
    result = await status(client)
    (orders,) = result.streams
    assert [p.key for p in orders.partitions] == KEYS and orders.length == 40
    assert orders.dead_letters == 4
    for p in orders.partitions:
        (g,) = p.groups
        assert g.owner == "m1" and g.pending == 0 and g.lag == 0
    assert [m.name for m in result.members["payment"]] == ["m1"]
    await runner.stop()

    letters = await dead_letters(client)
    assert len(letters) == 4 and {e.get(C.DLQ_REASON) for e in letters} == {"handler_failed"}
    # Replay is one script over the dead letter and its stream: same slot, by design.
    first = letters[0]
    other = next(k for k in KEYS if key_slot(k.encode()) != key_slot(first.dlq_stream.encode()))
    kept = await replay(client, [first], to=other)
    ((_, outcome, why),) = kept.outcomes
    assert outcome == "kept" and slot_tag(first.stream) in why and "Redis Cluster" in why
    done = await replay(client, letters)
    assert len(done.replayed) == 4 and not done.rejected
    assert await dead_letters(client) == []
    assert sum([int(await client.xlen(k)) for k in KEYS]) == 44
    await client.aclose()
    await bus.close()


def test_cli_status_and_dlq_on_a_cluster(
    cluster: RedisCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    async def make() -> None:
        bus = _bus(cluster.url)

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            if event.total == 3:
                raise RuntimeError("boom")

        runner = bus.service(_wiring(handler), consumer_name="m1")
        await runner.start()
        await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(10)])
        await eventually(lambda: runner.handled == 9 and runner.dead_lettered == 1, timeout=20)
        await runner.stop()
        await bus.close()

    asyncio.run(make())
    assert cli.main(["--redis-url", cluster.url, "status", "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    (orders,) = data["streams"]
    assert orders["length"] == 10 and orders["dead_letters"] == 1
    assert [p["key"] for p in orders["partitions"]] == KEYS
    assert cli.main(["--redis-url", cluster.url, "dlq", "list", "--json"]) == 0
    (entry,) = orjson.loads(capsys.readouterr().out)
    assert entry["reason"] == "handler_failed"
    assert cli.main(["--redis-url", cluster.url, "dlq", "replay", entry["id"]]) == 0
    assert "replayed" in capsys.readouterr().out

"""`durability: replicated`: publishes and acks wait for a replica (WAIT on the connection
that wrote them), on a Redis Cluster (per node) and behind Sentinel (one pipeline).

What is asserted is what a user relies on: when `publish` returns, every event is
already on a replica; when `settle` returns, so are the acks; with no replica running, a
replicated publish is refused (while other streams keep publishing), and it goes through
again once a replica is back."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
import redis

from runtime.bus import Bus
from runtime.errors import TransportError
from runtime.partitioning import partition_keys
from runtime.redis_conn import make_client
from runtime.redis_source import RedisSource
from runtime.redis_streams import RedisTransport, replicated_streams
from runtime.settings import RedisSettings, Settings
from runtime.spec import Registry
from runtime.testkit import RedisCluster, RedisSentinelGroup
from runtime.testkit.pytest_plugin import RedisClusterFactory, RedisSentinelFactory
from runtime.testkit.servers import RedisServer
from runtime.transport import Inbound, Settled
from tests.runtime.harness import FAST, lease_all
from tests.runtime.models import ORDER_V2_P4, PAYMENT_P4, OrderCreatedV2, PaymentProcessedV1

pytestmark = [pytest.mark.redis, pytest.mark.slow]

KEYS = partition_keys("orders", 4)
# orders is replicated, payments is not: one registry, both kinds of stream.
REPLICATED = dataclasses.replace(ORDER_V2_P4, durability="replicated")
REGISTRY = Registry.build([REPLICATED, PAYMENT_P4])


def _bus(url: str, **options: Any) -> Bus:
    transport = RedisTransport.from_url(url, replicated=replicated_streams(REGISTRY), **options)
    return Bus(REGISTRY, source="p", durable=transport, live=None, settings=Settings(redis=None))


def _cluster_replica_of(cluster: RedisCluster, key: str) -> RedisServer:
    (replica,) = cluster.replicas_of(cluster.master_for_key(key))
    return replica


def test_replicated_streams_come_from_the_registry() -> None:
    assert replicated_streams(REGISTRY) == frozenset({"orders"})
    assert replicated_streams(Registry.build([ORDER_V2_P4, PAYMENT_P4])) == frozenset()


async def test_cluster_publish_returns_once_every_replica_has_the_events(
    redis_cluster: RedisCluster,
) -> None:
    await _flush(redis_cluster.url)
    bus = _bus(redis_cluster.url)
    replicas = {k: _cluster_replica_of(redis_cluster, k) for k in KEYS}
    for round_ in range(5):
        await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(200)])
        # No waiting here: WAIT already did it.
        for key, replica in replicas.items():
            with _direct(redis_cluster, replica) as r:
                on_replica = r.execute_command("XLEN", key)
            with redis_cluster.client(redis_cluster.master_for_key(key)) as m:
                assert on_replica == m.execute_command("XLEN", key), (round_, key)
    await bus.close()


async def test_cluster_settle_returns_once_the_acks_are_on_a_replica(
    redis_cluster: RedisCluster,
) -> None:
    """One settle over partitions of a replicated and of a plain stream: the replicated
    part waits for its replicas, the plain part does not hold it up (or vice versa)."""
    await _flush(redis_cluster.url)
    bus = _bus(redis_cluster.url)
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(100)])
    await bus.publish_many([PaymentProcessedV1(order_id=f"o{i}") for i in range(100)])
    transport = bus.durable
    assert isinstance(transport, RedisTransport)
    partitions = [*KEYS, *partition_keys("payments", 4)]
    source = transport.source("svc", "m", partitions, FAST)
    await source.open()
    await lease_all(source, "m", ttl_ms=60_000)
    got: list[Inbound] = []
    while len(got) < 200:
        got += await source.fetch(200, 100)
    assert await source.settle(got, []) == Settled()
    for key in KEYS:
        with _direct(redis_cluster, _cluster_replica_of(redis_cluster, key)) as r:
            assert r.xpending(key, "svc")["pending"] == 0
            marks = r.keys(f"schemabus:done:{key}:svc:*")
            assert len(marks) == sum(1 for i in got if i.destination == key)
    assert isinstance(source, RedisSource) and source.unconfirmed_settles == 0
    await source.close()
    await bus.close()


@pytest.mark.parametrize("kind", ["cluster", "sentinel"])
async def test_without_a_replica_replicated_publishes_are_refused_until_one_is_back(
    kind: str,
    redis_cluster_factory: RedisClusterFactory,
    redis_sentinel_factory: RedisSentinelFactory,
) -> None:
    group: RedisCluster | RedisSentinelGroup
    replica: RedisServer
    if kind == "cluster":
        group = redis_cluster_factory()
        key = KEYS[0]
        replica = _cluster_replica_of(group, key)
        aggregate = next(f"a{i}" for i in range(1000) if REPLICATED.route(f"a{i}") == key)
    else:
        group = redis_sentinel_factory()
        (replica,) = group.replicas()
        aggregate = "a0"
    settings = dataclasses.replace(RedisSettings.from_url(group.url), replica_wait_ms=200)
    transport = RedisTransport(
        make_client(settings),
        settings,
        publish_timeout_s=2.0,
        replicated=replicated_streams(REGISTRY),
    )
    bus = Bus(REGISTRY, source="p", durable=transport, live=None, settings=Settings(redis=None))
    await bus.publish(OrderCreatedV2(order_id=aggregate, total=0))

    group.kill(replica)
    with pytest.raises(TransportError, match="replica") as refused:
        await bus.publish(OrderCreatedV2(order_id=aggregate, total=1))
    print(f"refused: {refused.value}")
    # Streams without `durability: replicated` do not wait.
    await bus.publish(PaymentProcessedV1(order_id=aggregate))

    group.restart(replica)
    await bus.publish(OrderCreatedV2(order_id=aggregate, total=2))
    stream = REPLICATED.route(aggregate)
    with _direct(group, replica) as r:
        totals = [orjson.loads(f["data"])["total"] for _, f in r.xrange(stream)]
    # The refused event may be in the log (applied on the primary, not confirmed): the
    # publisher was told it failed; consumers deduplicate a retried publish by event id.
    assert totals[0] == 0 and totals[-1] == 2 and set(totals) <= {0, 1, 2}
    await bus.close()


def _direct(group: RedisCluster | RedisSentinelGroup, node: RedisServer) -> redis.Redis:
    """A client of one node; on a cluster replica it reads (READONLY) instead of
    redirecting to the master."""
    client = group.client(node, single_connection_client=True)
    if isinstance(group, RedisCluster):
        client.execute_command("READONLY")
    return client


async def _flush(url: str) -> None:
    client = make_client(RedisSettings.from_url(url))
    await client.flushall()
    await client.aclose()

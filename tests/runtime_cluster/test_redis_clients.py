"""`make_client(settings)` against real servers: a client built from each URL kind talks
to the test kit's single server, Redis Cluster and Sentinel group, and keeps working
after a master is killed (cluster) or the primary fails over (Sentinel)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.exceptions import RedisClusterException

from runtime.redis_conn import (
    FastConnection,
    FastSentinelManagedConnection,
    SentinelRedis,
    make_client,
)
from runtime.settings import RedisSettings, Secret
from runtime.testkit import RedisCluster, RedisSentinelGroup, RedisServer
from runtime.testkit.pytest_plugin import RedisClusterFactory, RedisSentinelFactory
from tests.testkit.retry import eventually

pytestmark = pytest.mark.redis

# Keys of one partition share a hash tag, so a script over them stays in one slot.
TAGGED = ["orders:{7}", "orders:{7}:group", "dlq:orders:{7}"]


async def test_single_server_url(redis_server: RedisServer) -> None:
    client = make_client(RedisSettings.from_url(redis_server.url))
    try:
        assert type(client) is Redis
        await client.set("single:k", "v")
        assert await client.get("single:k") == b"v"
        assert all(
            isinstance(c, FastConnection) for c in client.connection_pool._available_connections
        )
    finally:
        await client.delete("single:k")
        await client.aclose()


@pytest.mark.slow
async def test_cluster_url_reaches_every_shard(redis_cluster: RedisCluster) -> None:
    client = make_client(RedisSettings.from_url(redis_cluster.url))
    assert isinstance(client, AsyncRedisCluster)
    keys = [f"client-test:{i}" for i in range(60)]
    try:
        for key in keys:
            await client.set(key, key)
        assert {redis_cluster.master_for_key(k).port for k in keys} == {
            m.port for m in redis_cluster.masters()
        }
        # One pipeline spanning every shard (redis-py splits it per node).
        async with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            assert await pipe.execute() == [k.encode() for k in keys]
        # A script over keys with one hash tag runs on the node owning that slot ...
        script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[3])"
        await client.set(TAGGED[2], "dlq")
        assert await client.eval(script, 3, *TAGGED, "x") == b"dlq"
        # ... and across slots the client refuses it: why partitions use hash tags.
        with pytest.raises(RedisClusterException, match="same key slot"):
            await client.eval(script, 3, "a", "b", "c", "x")
        nodes = client.get_nodes()
        assert {n.port for n in nodes} >= {m.port for m in redis_cluster.masters()}
        used = [c for n in nodes for c in n._connections]
        assert used and all(type(c) is FastConnection for c in used)
    finally:
        await client.delete(*keys, *TAGGED)
        await client.aclose()


@pytest.mark.slow
async def test_cluster_client_follows_a_master_kill(
    redis_cluster_factory: RedisClusterFactory,
) -> None:
    cluster = redis_cluster_factory(password="cluster secret")
    assert cluster.url.startswith("redis+cluster://:cluster%20secret@")
    client = make_client(RedisSettings.from_url(cluster.url))
    try:
        for i in range(50):
            await client.set(f"k{i}", i)
        cluster.wait_replicas_synced()
        dead = cluster.kill_master_of("k0")
        # Calls made while the cluster has not noticed yet fail or wait; afterwards the
        # client re-reads the slot map by itself.
        cluster.wait_failover(dead)
        _, failed = await eventually(client.set, "k0", "after")
        print(f"{failed} calls failed after the failover")
        assert await client.get("k0") == b"after"
        assert [await client.get(f"k{i}") for i in range(1, 50)] == [
            str(i).encode() for i in range(1, 50)
        ]
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_sentinel_url_follows_failover(redis_sentinel_factory: RedisSentinelFactory) -> None:
    group: RedisSentinelGroup = redis_sentinel_factory(
        password="data-secret", sentinel_password="watch-secret"
    )
    assert group.url.startswith("redis+sentinel://:data-secret@")
    assert group.url.endswith("/schemabus")
    # Without the Sentinels' own password they will not name the primary.
    unauthorised = make_client(RedisSettings.from_url(group.url))
    with pytest.raises(Exception, match=r"(?i)auth|master"):
        await unauthorised.ping()
    await unauthorised.aclose()

    # Two connections only: 20 concurrent calls must wait for one, not fail.
    settings = RedisSettings.from_url(
        group.url + "/0", max_connections=2, sentinel_password=Secret("watch-secret")
    )
    client = make_client(settings)
    assert isinstance(client, SentinelRedis)
    try:
        await asyncio.gather(*(client.set(f"k{i}", i) for i in range(20)))
        assert await client.get("k19") == b"19"
        assert all(
            type(c) is FastSentinelManagedConnection
            for c in client.connection_pool._available_connections
        )
        old = group.primary()
        group.wait_replicas_synced()
        dead = group.kill_primary()
        assert dead is old
        new = group.wait_promotion(dead)
        # The same client asks the Sentinels again and writes to the promoted replica.
        _, failed = await eventually(client.set, "after", "failover")
        print(f"{failed} calls failed after the failover")
        with group.client(new) as direct:
            assert direct.get("after") == "failover"
        assert await asyncio.gather(*(client.get(f"k{i}") for i in range(20))) == [
            str(i).encode() for i in range(20)
        ]
    finally:
        await client.aclose()

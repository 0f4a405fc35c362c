"""Parsing redis+cluster:// and redis+sentinel:// URLs into RedisSettings (no servers)."""

from __future__ import annotations

import pytest

from runtime.errors import ConfigError
from runtime.redis_conn import make_client
from runtime.settings import RedisSettings, Secret, Settings


def test_cluster_url_lists_every_seed_node() -> None:
    s = RedisSettings.from_url("redis+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002")
    assert s.mode == "cluster"
    assert s.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002))
    assert (s.host, s.port, s.db, s.master_name) == ("10.0.0.1", 7000, 0, None)
    assert s.username == "app" and s.password == Secret("p@ss")
    assert s.url == "redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002"
    assert "p@ss" not in repr(s)
    assert RedisSettings.from_url("redis+cluster://h:1/0").nodes == (("h", 1),)
    assert RedisSettings.from_url("REDIS+CLUSTER://h:1").mode == "cluster"


def test_sentinel_url_names_master_and_db() -> None:
    s = RedisSettings.from_url("redis+sentinel://:pw@s1:5000,s2,s3:5002/orders-primary/2")
    assert s.mode == "sentinel"
    assert s.nodes == (("s1", 5000), ("s2", 26379), ("s3", 5002))
    assert (s.master_name, s.db, s.username) == ("orders-primary", 2, None)
    assert s.password == Secret("pw")
    assert s.url == "redis+sentinel://:***@s1:5000,s2:26379,s3:5002/orders-primary/2"
    plain = RedisSettings.from_url("redis+sentinel://s1:5000/mymaster")
    assert (plain.master_name, plain.db, plain.password) == ("mymaster", 0, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://h:1/3", "a Redis Cluster has only database 0; drop '/3'"),
        ("redis+sentinel://s1:1", "a Sentinel URL names the master"),
        ("redis+sentinel://s1:1/m/0/extra", "a Sentinel URL names the master"),
        ("redis+sentinel://s1:1/m/zero", "bad database number 'zero'"),
        ("redis+cluster://h:port", "bad port 'port'"),
        ("redis+cluster://h:70000", "port 70000 out of range"),
        ("redis+cluster://h:1,,h:2", "empty host"),
        ("rediss+cluster://h:1", "TLS to a Redis Cluster or Sentinel is not supported yet"),
        ("redis+shard://h:1", "Redis URL must look like redis://"),
        ("h:1", "Redis URL must look like"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        RedisSettings.from_url(url)
    assert "\n" not in str(info.value)


def test_errors_never_show_the_password() -> None:
    for url in ("redis+cluster://:hunter2@h:x", "redis+sentinel://u:hunter2@s:1"):
        with pytest.raises(ConfigError) as info:
            RedisSettings.from_url(url)
        assert "hunter2" not in str(info.value)


def test_single_server_urls_are_unchanged() -> None:
    s = RedisSettings.from_url("rediss://app:pw@cache:6380/3")
    assert (s.mode, s.nodes, s.host, s.port, s.db, s.tls) == ("single", (), "cache", 6380, 3, True)
    kwargs = s.client_kwargs()
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["ssl"]) == ("cache", 6380, 3, True)


def test_single_server_kwargs_refuse_cluster_and_sentinel() -> None:
    # A component that only knows single servers must not quietly talk to one node.
    for url in ("redis+cluster://h:1", "redis+sentinel://s:1/m"):
        with pytest.raises(ConfigError, match=r"make_client\(settings\)"):
            RedisSettings.from_url(url).client_kwargs()


def test_environment_selects_the_mode() -> None:
    s = Settings.from_env(
        {
            "SCHEMABUS_REDIS_URL": "redis+sentinel://s1:26379,s2:26379/main",
            "SCHEMABUS_REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        }
    )
    assert s.redis is not None and s.redis.mode == "sentinel" and s.redis.master_name == "main"
    assert s.redis.sentinel_password == Secret("sentinel-secret")
    assert "sentinel-secret" not in repr(s)
    c = Settings.from_env({"REDIS_URL": "redis+cluster://a:1,b:2"})
    assert c.redis is not None and c.redis.nodes == (("a", 1), ("b", 2))


async def test_make_client_builds_the_right_kind_without_connecting() -> None:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from runtime.redis_conn import FastBlockingConnectionPool, SentinelRedis

    single = make_client(RedisSettings.from_url("redis://h:1/2"))
    cluster = make_client(RedisSettings.from_url("redis+cluster://h:1,h:2"))
    sentinel = make_client(RedisSettings.from_url("redis+sentinel://s:1/m/3"))
    try:
        assert type(single) is Redis
        assert isinstance(single.connection_pool, FastBlockingConnectionPool)
        assert isinstance(cluster, RedisCluster)
        assert [(n.host, n.port) for n in cluster.startup_nodes] == [("h", 1), ("h", 2)]
        assert isinstance(sentinel, SentinelRedis)
        assert sentinel.connection_pool.connection_kwargs["db"] == 3
    finally:
        for client in (single, cluster, sentinel):
            await client.aclose()

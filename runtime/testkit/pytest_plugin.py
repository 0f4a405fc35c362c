"""pytest fixtures that run real Redis/Valkey and NATS servers for the test session.

Enable with `pytest_plugins = ["runtime.testkit.pytest_plugin"]` in a conftest.

Shared (session) servers are cheap to use and must not be stopped by tests; tests that
kill, restart or reconfigure a server take a `*_fresh` one or build their own with the
`*_factory` fixtures. The same holds for the groups: `redis_cluster`,
`redis_sentinel` and `nats_cluster` are shared, `*_fresh` ones are private to a test.

`redis_server` runs the preferred binary (Valkey, see `find_redis_server`);
`redis_servers.get("redis")` / `.get("valkey")` give one shared server per flavour, for
suites that run against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol, TypeVar

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from runtime.testkit.nats_cluster import NatsCluster
from runtime.testkit.redis_cluster import RedisCluster
from runtime.testkit.redis_sentinel import RedisSentinelGroup
from runtime.testkit.servers import NatsServer, RedisFlavor, RedisServer

RedisFactory = Callable[..., RedisServer]
NatsFactory = Callable[..., NatsServer]
RedisClusterFactory = Callable[..., RedisCluster]
RedisSentinelFactory = Callable[..., RedisSentinelGroup]
NatsClusterFactory = Callable[..., NatsCluster]


class _Closable(Protocol):
    def start(self) -> Any: ...
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


def _factory(cls: Callable[..., C]) -> Iterator[Callable[..., C]]:
    """Yield a `make(**options)` that starts `cls(**options)`; close them all afterwards."""
    made: list[C] = []

    def make(**options: Any) -> C:
        thing = cls(**options)
        made.append(thing)
        try:
            thing.start()
        except BaseException:
            thing.close()
            raise
        return thing

    try:
        yield make
    finally:
        for thing in reversed(made):
            thing.close()


class SharedRedisServers:
    """One lazily started server per flavour, for the whole session."""

    def __init__(self) -> None:
        self._servers: dict[RedisFlavor | None, RedisServer] = {}

    def get(self, flavor: RedisFlavor | None = None) -> RedisServer:
        """The shared server of `flavor` (None: the preferred binary)."""
        if flavor not in self._servers:
            self._servers[flavor] = RedisServer(flavor=flavor).start()
        return self._servers[flavor]

    def close(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()


# -- single servers ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_servers() -> Iterator[SharedRedisServers]:
    """Shared servers by flavour (`.get("valkey")`, `.get("redis")`). Do not stop them."""
    shared = SharedRedisServers()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="session")
def redis_server(redis_servers: SharedRedisServers) -> RedisServer:
    """One server of the preferred binary for the whole session (no auth, no AOF)."""
    return redis_servers.get(None)


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest_asyncio.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client on the shared server, flushed before and after the test."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.flushall()
        await client.aclose()


@pytest.fixture
def redis_server_factory() -> Iterator[RedisFactory]:
    """Start extra servers with any `RedisServer` options; all closed after the test."""
    yield from _factory(RedisServer)


@pytest.fixture
def redis_server_fresh(redis_server_factory: RedisFactory) -> RedisServer:
    """A private server with AOF on and `appendfsync always`, for fault tests."""
    return redis_server_factory(appendonly=True, appendfsync="always")


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """One nats-server with JetStream for the whole session (no auth). Do not stop it."""
    with NatsServer(jetstream=True) as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
def nats_server_factory() -> Iterator[NatsFactory]:
    """Start extra nats-servers with any `NatsServer` options; all closed after the test."""
    yield from _factory(NatsServer)


@pytest.fixture
def nats_server_fresh(nats_server_factory: NatsFactory) -> NatsServer:
    """A private nats-server with JetStream, for tests that restart or kill it."""
    return nats_server_factory(jetstream=True)


# -- groups: Redis Cluster, Sentinel, NATS cluster -----------------------------------


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A shared 3-master + 3-replica cluster of the preferred binary. Do not kill nodes."""
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
def redis_cluster_factory() -> Iterator[RedisClusterFactory]:
    """Start clusters with any `RedisCluster` options; all closed after the test."""
    yield from _factory(RedisCluster)


@pytest.fixture
def redis_cluster_fresh(redis_cluster_factory: RedisClusterFactory) -> RedisCluster:
    """A private 3 + 3 cluster that the test may kill and restart nodes of."""
    return redis_cluster_factory()


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelGroup]:
    """A shared primary + replica + 3 Sentinels. Do not kill its processes."""
    with RedisSentinelGroup() as group:
        yield group


@pytest.fixture
def redis_sentinel_factory() -> Iterator[RedisSentinelFactory]:
    """Start Sentinel groups with any `RedisSentinelGroup` options; closed after the test."""
    yield from _factory(RedisSentinelGroup)


@pytest.fixture
def redis_sentinel_fresh(redis_sentinel_factory: RedisSentinelFactory) -> RedisSentinelGroup:
    """A private primary + replica + 3 Sentinels that the test may fail over."""
    return redis_sentinel_factory()


@pytest.fixture(scope="session")
def nats_cluster() -> Iterator[NatsCluster]:
    """A shared 3-node NATS cluster with JetStream. Do not kill its nodes."""
    with NatsCluster() as cluster:
        yield cluster


@pytest.fixture
def nats_cluster_factory() -> Iterator[NatsClusterFactory]:
    """Start NATS clusters with any `NatsCluster` options; all closed after the test."""
    yield from _factory(NatsCluster)


@pytest.fixture
def nats_cluster_fresh(nats_cluster_factory: NatsClusterFactory) -> NatsCluster:
    """A private 3-node NATS cluster that the test may kill and restart nodes of."""
    return nats_cluster_factory()

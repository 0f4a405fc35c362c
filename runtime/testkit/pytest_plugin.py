"""pytest fixtures that run real Redis and NATS servers for the test session.

Enable with `pytest_plugins = ["runtime.testkit.pytest_plugin"]` in a conftest.

Shared (session) servers are cheap to use and must not be stopped by tests; tests that
kill, restart or reconfigure a server take a `*_fresh` one or build their own with the
`redis_server_factory` / `nats_server_factory` fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from runtime.testkit.servers import NatsServer, RedisServer

RedisFactory = Callable[..., RedisServer]
NatsFactory = Callable[..., NatsServer]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the whole session (no auth, no AOF). Do not stop it."""
    with RedisServer() as server:
        yield server


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
    """Start extra redis-servers with any `RedisServer` options; all closed after the test."""
    servers: list[RedisServer] = []

    def make(**options: Any) -> RedisServer:
        server = RedisServer(**options)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def redis_server_fresh(redis_server_factory: RedisFactory) -> RedisServer:
    """A private redis-server with AOF on and `appendfsync always`, for fault tests."""
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
    servers: list[NatsServer] = []

    def make(**options: Any) -> NatsServer:
        server = NatsServer(**options)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def nats_server_fresh(nats_server_factory: NatsFactory) -> NatsServer:
    """A private nats-server with JetStream, for tests that restart or kill it."""
    return nats_server_factory(jetstream=True)

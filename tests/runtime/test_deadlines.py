"""Start-up and health paths end within their deadline when Redis never answers.

A server that accepts TCP but never replies (a SIGSTOPped redis-server, a proxy without
its backend) used to hang `schemabus run` and `schemabus status` forever. Each case runs
the real CLI as a process with a short `SCHEMABUS_STARTUP_TIMEOUT_S` and asserts one
clear line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from runtime.errors import TransportError
from runtime.redis_streams import RedisTransport
from runtime.settings import RedisSettings
from runtime.testkit.pytest_plugin import RedisFactory
from runtime.testkit.servers import RedisServer
from tests.runtime.processes import SilentListener, clean_env, schemabus

COMMANDS = [
    pytest.param(("status",), id="status"),
    pytest.param(("status", "--json"), id="status-json"),
    pytest.param(("dlq", "list"), id="dlq-list"),
    pytest.param(("run", "payment"), id="run"),
]


def _assert_no_answer_line(stderr: str, port: int) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("schemabus: ") and "Traceback" not in stderr
    assert f"127.0.0.1:{port}" in line
    assert "did not answer within 1s" in line
    assert "SCHEMABUS_STARTUP_TIMEOUT_S" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_silent_listener_fails_within_the_deadline(command: tuple[str, ...]) -> None:
    with SilentListener() as silent:
        env = clean_env(
            SCHEMABUS_REDIS_URL=f"redis://127.0.0.1:{silent.port}/0",
            SCHEMABUS_STARTUP_TIMEOUT_S="1",
        )
        done = schemabus(*command, env=env)
        assert silent.accepted >= 1  # it really connected, then waited for an answer
    assert done.returncode == 2, done.stderr
    _assert_no_answer_line(done.stderr, silent.port)


@pytest.fixture
def stopped_redis(redis_server_factory: RedisFactory) -> Iterator[RedisServer]:
    server = redis_server_factory()
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield server
    finally:
        os.kill(server.pid, signal.SIGCONT)  # so the factory can stop it


@pytest.mark.redis
@pytest.mark.parametrize("command", COMMANDS)
def test_stopped_redis_fails_within_the_deadline(
    stopped_redis: RedisServer, command: tuple[str, ...]
) -> None:
    env = clean_env(SCHEMABUS_REDIS_URL=stopped_redis.url, SCHEMABUS_STARTUP_TIMEOUT_S="1")
    done = schemabus(*command, env=env)
    assert done.returncode == 2, done.stderr
    _assert_no_answer_line(done.stderr, stopped_redis.port)


async def test_transport_connect_is_bounded() -> None:
    """The library path (`Bus.connect` uses it) raises the same one-line error."""
    with SilentListener() as silent:
        settings = RedisSettings(host="127.0.0.1", port=silent.port, startup_timeout_s=0.5)
        with pytest.raises(TransportError, match=r"did not answer within 0\.5s"):
            await asyncio.wait_for(RedisTransport.connect(settings), 30)


async def test_nats_connect_is_bounded() -> None:
    """A NATS address that accepts TCP but never sends INFO: one line within the deadline."""
    from runtime.nats import NatsTransport
    from runtime.settings import NatsSettings

    with SilentListener() as silent:
        settings = NatsSettings(servers=(f"nats://127.0.0.1:{silent.port}",), startup_timeout_s=1.0)
        with pytest.raises(TransportError) as failure:
            await asyncio.wait_for(NatsTransport.connect(settings), 30)
    message = str(failure.value)
    assert "\n" not in message
    assert f"NATS at nats://127.0.0.1:{silent.port} did not complete the connection" in message
    assert "within 1s" in message and "SCHEMABUS_STARTUP_TIMEOUT_S" in message

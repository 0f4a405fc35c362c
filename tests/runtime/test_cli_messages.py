"""`schemabus` says what actually failed, in one line, run as a real process.

These failures used to read "cannot talk to the broker" (a port in use, an unwritable
trace file), print a traceback (`SCHEMABUS_REDIS_URL=none` in the example inventory
service), or print the raw HELLO error (a Redis that needs a password).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from generated.models import InventoryReserveReplyV1, InventoryReserveRequestV1, LineItem, Money
from generated.registry import REGISTRY
from runtime import cli
from runtime.bus import Bus
from runtime.errors import NoRespondersError
from runtime.settings import NatsSettings, Settings
from runtime.testkit import NatsServer, RedisServer
from runtime.testkit.pytest_plugin import RedisFactory
from services.inventory import STOCK
from tests.runtime.processes import ROOT, clean_env, schemabus


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("schemabus: ")
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


@pytest.mark.redis
def test_metrics_port_in_use(redis_url: str, busy_port: int) -> None:
    env = clean_env(SCHEMABUS_REDIS_URL=redis_url)
    done = schemabus("run", "payment", "--metrics-port", str(busy_port), env=env)
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert f"cannot serve metrics on 127.0.0.1:{busy_port}: Address already in use" in line
    assert "broker" not in line


@pytest.mark.redis
@pytest.mark.parametrize("where", ["missing-dir/spans.jsonl", "."])
def test_unwritable_trace_file(redis_url: str, tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    env = clean_env(SCHEMABUS_REDIS_URL=redis_url)
    done = schemabus("run", "payment", "--trace-file", str(path), env=env)
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert f"cannot write the trace file {str(path)!r}" in line and "broker" not in line


def test_inventory_without_redis_is_one_line() -> None:
    env = clean_env(SCHEMABUS_REDIS_URL="none", SCHEMABUS_NATS_URL="nats://127.0.0.1:1")
    done = schemabus("run", "inventory", env=env)
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert "the inventory service keeps its state in Redis" in line
    assert "SCHEMABUS_REDIS_URL is 'none'" in line and "--redis-url" in line


@pytest.mark.redis
@pytest.mark.nats
def test_inventory_honours_redis_url_flag(
    redis_server: RedisServer, nats_server: NatsServer
) -> None:
    """The environment says `none`; `--redis-url` wins, for the bus and for the service's
    own state store: a reservation sees the stock seeded in that Redis."""

    async def seed() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        await client.flushall()
        await client.hset(STOCK, "SKU-FLAG", "5")
        await client.aclose()

    asyncio.run(seed())
    env = clean_env(SCHEMABUS_REDIS_URL="none")
    argv = ["--redis-url", redis_server.url, "--nats-url", nats_server.url, "run", "inventory"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reply = asyncio.run(_reserve(nats_server.url))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert reply.reserved, reply
    assert proc.returncode == 0, stderr


async def _reserve(nats_url: str) -> InventoryReserveReplyV1:
    bus = await Bus.connect(
        Settings(redis=None, nats=NatsSettings.from_url(nats_url)), REGISTRY, source="test"
    )
    request = InventoryReserveRequestV1(
        order_id="o-flag",
        items=[
            LineItem(sku="SKU-FLAG", quantity=2, unit_price=Money(amount_minor=1, currency="EUR"))
        ],
    )
    try:
        for _ in range(600):  # liveness: the process starts within a minute
            try:
                return await bus.request(
                    REGISTRY.operations["inventory.reserve"], request, InventoryReserveReplyV1
                )
            except NoRespondersError:
                await asyncio.sleep(0.1)
        raise AssertionError("the inventory service never answered")
    finally:
        await bus.close()


@pytest.mark.redis
@pytest.mark.parametrize("username", [None, "bob"])
def test_redis_password_missing_or_wrong(
    redis_server_factory: RedisFactory,
    username: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = redis_server_factory(password="s3cret", username=username)
    address = f"{server.host}:{server.port}"
    code = cli.main(["--redis-url", f"redis://{address}/0", "status"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and line.startswith("schemabus: this Redis needs a password: ")

    user = username or ""
    code = cli.main(["--redis-url", f"redis://{user}:wrong@{address}/0", "status"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "rejected the password" in line and "wrong" not in line
    if username:
        assert f"for user {username!r}" in line

    code = cli.main(["--redis-url", server.url, "status"])
    assert code == 0, capsys.readouterr().err


def test_refused_redis_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    code = cli.main(["--redis-url", f"redis://:secret@127.0.0.1:{port}/0", "status"])
    line = _one_line(capsys.readouterr().err)
    assert code == 2 and "secret" not in line
    assert line == (
        f"schemabus: cannot connect to Redis at redis://:***@127.0.0.1:{port}/0: Connection "
        "refused; check that the server runs and that host and port are right"
    )

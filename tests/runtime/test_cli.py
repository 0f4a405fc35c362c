"""`schemabus status` and `schemabus dlq ...` against a real Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from runtime import cli
from runtime import constants as C
from runtime.bus import Bus
from runtime.redis_streams import RedisTransport
from runtime.settings import Settings
from runtime.spec import Context, ServiceWiring, Subscription
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`schemabus run` configures the `schemabus` logger for the process; undo it."""
    logger = logging.getLogger("schemabus")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


async def _make_dead_letters(url: str, fail: set[int]) -> None:
    client = aioredis.Redis.from_url(url)
    await client.flushall()
    transport = RedisTransport.from_url(url)
    bus = Bus(
        REGISTRY,
        source="p",
        durable=transport,
        live=None,
        settings=Settings(redis=None, consumer=FAST),
    )
    handled: list[int] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        if event.total in fail:
            raise RuntimeError(f"boom {event.total}")
        handled.append(event.total)

    runner = bus.service(
        ServiceWiring("payment", (Subscription(ORDER_V2, handler),)), consumer_name="c"
    )
    await runner.start()
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(10)])
    await client.xadd("orders", {"junk": "1"})
    for _ in range(500):
        if runner.dead_lettered == len(fail) + 1 and len(handled) == 10 - len(fail):
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    await bus.close()
    await client.aclose()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_status_table_and_json(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_make_dead_letters(redis_url, {3}))
    code, out, _ = _run(["--redis-url", redis_url, "status"], capsys)
    assert code == 0
    assert "STREAM" in out and "orders" in out and "payment" in out
    code, out, _ = _run(["--redis-url", redis_url, "status", "--json"], capsys)
    data: list[dict[str, Any]] = orjson.loads(out)
    orders = next(s for s in data if s["name"] == "orders")
    assert orders["length"] == 11 and orders["dead_letters"] == 2
    group = orders["groups"][0]
    assert group["name"] == "payment" and group["pending"] == 0 and group["lag"] == 0


def test_dlq_list_show_replay_purge(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_make_dead_letters(redis_url, {3, 4}))
    code, out, _ = _run(["--redis-url", redis_url, "dlq", "list", "--json"], capsys)
    entries = orjson.loads(out)
    assert code == 0 and len(entries) == 3
    reasons = sorted(e["reason"] for e in entries)
    assert reasons == [C.REASON_HANDLER_FAILED, C.REASON_HANDLER_FAILED, C.REASON_MALFORMED]
    failed = [e for e in entries if e["reason"] == C.REASON_HANDLER_FAILED]
    junk = next(e for e in entries if e["reason"] == C.REASON_MALFORMED)

    code, out, _ = _run(["--redis-url", redis_url, "dlq", "list"], capsys)
    assert "handler_failed" in out and "RuntimeError: boom 3" in out

    code, out, _ = _run(["--redis-url", redis_url, "dlq", "show", failed[0]["id"]], capsys)
    shown = orjson.loads(out)
    assert (
        shown["data"]["order_id"] in ("o3", "o4") and shown["attributes"]["type"] == "order.created"
    )

    # Replay with validation: the valid events go back, the junk entry stays.
    code, out, err = _run(
        [
            "--redis-url",
            redis_url,
            "dlq",
            "replay",
            "--all",
            "--validate",
            "--registry",
            "tests.runtime.models:REGISTRY",
        ],
        capsys,
    )
    assert code == 1 and out.count("replayed") == 2 and junk["id"] in err

    async def tail() -> list[dict[bytes, bytes]]:
        client = aioredis.Redis.from_url(redis_url)
        rows = await client.xrevrange("orders", count=2)
        await client.aclose()
        return [f for _, f in rows]

    replayed = asyncio.run(tail())
    assert {orjson.loads(f[b"data"])["total"] for f in replayed} == {3, 4}
    assert all(b"dlq_reason" not in f for f in replayed)

    code, out, _ = _run(["--redis-url", redis_url, "dlq", "purge", junk["id"]], capsys)
    assert code == 0 and "purged 1" in out
    code, out, _ = _run(["--redis-url", redis_url, "dlq", "list"], capsys)
    assert "no dead letters" in out


def test_user_errors_are_one_line(
    redis_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `run` exports --redis-url for the service's own code; restore the variable afterwards.
    monkeypatch.setenv("SCHEMABUS_REDIS_URL", redis_url)
    code, _, err = _run(["--redis-url", "http://nope", "status"], capsys)
    assert code == 2 and err.count("\n") == 1 and "redis://" in err
    code, _, err = _run(["--redis-url", redis_url, "dlq", "show", "1-1"], capsys)
    assert code == 2 and "no dead letter" in err and "Traceback" not in err
    code, _, err = _run(["--redis-url", redis_url, "dlq", "replay"], capsys)
    assert code == 2 and "--all" in err
    code, _, err = _run(["--redis-url", redis_url, "run", "nosuchservice"], capsys)
    assert code == 2 and "nosuchservice" in err and err.count("\n") == 1
    code, _, err = _run(["--redis-url", "redis://:secret@127.0.0.1:1/0", "status"], capsys)
    assert code == 2 and "secret" not in err

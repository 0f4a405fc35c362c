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
    assert "STREAM" in out and "orders" in out and "payment" in out and "OWNER" in out
    code, out, _ = _run(["--redis-url", redis_url, "status", "--json"], capsys)
    data: dict[str, Any] = orjson.loads(out)
    orders = next(s for s in data["streams"] if s["name"] == "orders")
    assert orders["length"] == 11 and orders["dead_letters"] == 2
    (partition,) = orders["partitions"]
    assert partition["key"] == "orders" and partition["partition"] is None
    group = partition["groups"][0]
    assert group["name"] == "payment" and group["pending"] == 0 and group["lag"] == 0
    # The consumer left gracefully: the lease is free, its epoch stays.
    assert group["owner"] is None and group["epoch"] >= 1
    assert data["groups"] == {"payment": []}


async def test_status_shows_partition_owners_and_live_members(redis_url: str) -> None:
    from runtime.status import status
    from tests.runtime.models import ORDER_V2_P4, REGISTRY_P4

    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    runners = []
    buses = []
    for name in ("m1", "m2"):
        bus = Bus(
            REGISTRY_P4,
            source="p",
            durable=RedisTransport.from_url(redis_url),
            live=None,
            settings=Settings(redis=None, consumer=FAST),
        )

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            return None

        runner = bus.service(
            ServiceWiring("payment", (Subscription(ORDER_V2_P4, handler),)), consumer_name=name
        )
        await runner.start()
        runners.append(runner)
        buses.append(bus)
    await buses[0].publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(40)])
    for _ in range(500):
        result = await status(client)
        owners = [g.owner or "" for st in result.streams for p in st.partitions for g in p.groups]
        if sum(r.handled for r in runners) == 40 and sorted(owners) == ["m1", "m1", "m2", "m2"]:
            break
        await asyncio.sleep(0.02)
    (orders,) = result.streams
    assert [p.key for p in orders.partitions] == [f"orders:{{{i}}}" for i in range(4)]
    assert [p.partition for p in orders.partitions] == [0, 1, 2, 3]
    assert orders.length == 40
    for p in orders.partitions:
        (g,) = p.groups
        assert g.owner in ("m1", "m2") and g.epoch is not None and g.epoch >= 1
        assert g.lease_expires_in_s is not None and g.lease_expires_in_s > 0
        assert g.pending == 0 and g.lag == 0
    assert sorted(owners) == ["m1", "m1", "m2", "m2"]
    members = result.members["payment"]
    assert sorted(m.name for m in members) == ["m1", "m2"]
    assert all(m.info["service"] == "payment" and m.info["pid"] for m in members)
    for runner in runners:
        await runner.stop()
    for bus in buses:
        await bus.close()
    assert (await status(client)).members["payment"] == []  # they left the group
    await client.aclose()


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

"""What happens when settling cannot simply succeed: a staged effect Redis refuses, and a
broker that keeps failing a settle with something other than a lost connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from runtime import constants as C
from runtime.context import HandlerContext
from runtime.spec import Context
from runtime.transport import Settled
from tests.runtime.harness import Harness, RedisHarness
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2
from tests.runtime.test_conformance import eventually, run, wiring


@pytest.mark.redis
async def test_a_refused_effect_dead_letters_only_its_event(redis_url: str) -> None:
    """Event 1 stages a command Redis refuses (WRONGTYPE): it alone goes to the dead-letter
    stream as effect_failed, unmarked, and the others commit their effects once."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    await client.set("not-a-hash", "x")
    harness = RedisHarness(redis_url)

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        key = "not-a-hash" if event.total == 1 else "ledger"
        ctx.stage("HINCRBY", key, str(event.total), 1)

    runner = await run(harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
    bus = harness.bus(REGISTRY, "p")
    ids = await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(3)])
    await eventually(lambda: runner.dead_lettered == 1 and runner.handled == 2)
    await asyncio.wait_for(runner.stop(), 10)  # nothing stuck in flight
    assert await harness.ledger("ledger") == {"0": 1, "2": 1}
    (dead,) = await harness.dead_letters("orders")
    assert dead[C.DLQ_REASON] == C.REASON_EFFECT_FAILED.encode()
    assert b"WRONGTYPE" in dead[C.DLQ_ERROR_MESSAGE]
    assert await client.exists(C.idempotency_key("orders", "s", ids[1])) == 0
    assert (await client.xpending("orders", "s"))["pending"] == 0
    await harness.close()
    await client.aclose()


async def test_a_settle_that_keeps_failing_gives_the_entries_back(
    leases_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five non-connection failures in a row: the entries are released, read again and
    handled again (then settled), instead of staying counted in flight forever."""
    harness = leases_harness
    attempts: list[int] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        attempts.append(ctx.attempts)
        ctx.stage("HINCRBY", ctx.key("ledger"), ctx.event_id, 1)

    bus = harness.bus(REGISTRY, "s")
    runner = bus.service(wiring("s", (ORDER_V2, handler)), consumer_name="c1")
    source = runner.consumers[0].source
    real = source.settle
    failures = 0

    async def flaky(done: Any, dead: Any) -> Settled:
        nonlocal failures
        if failures < 5:
            failures += 1
            raise RuntimeError("script error")
        result: Settled = await real(done, dead)
        return result

    monkeypatch.setattr(source, "settle", flaky)
    monkeypatch.setattr("runtime.backoff.jittered", lambda full: 0.001)
    await runner.start()
    await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=1))
    await eventually(lambda: len(attempts) == 2, timeout=20)
    consumer = runner.consumers[0]
    await eventually(lambda: not consumer.inflight, timeout=20)
    await runner.stop()
    assert attempts == [1, 2]  # the released entry came back from history
    assert list((await harness.ledger("ledger")).values()) == [1]


async def test_an_oversized_entry_reaches_nobody_whole(leases_harness: Harness) -> None:
    """A foreign producer writes a 300 KB entry: the consumer gets (and dead-letters) only
    the bounded stand-in - a prefix of each field, the size and a hash - never the bytes."""
    from dataclasses import replace

    from tests.runtime.harness import FAST

    harness = leases_harness
    seen: list[Any] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        seen.append(event)

    settings = replace(FAST, max_entry_bytes=4096, max_payload_bytes=4096)
    runner = await run(
        harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)), settings=settings
    )
    big = b"x" * 200_000
    await harness.append_raw(
        "orders",
        {
            "specversion": "1.0",
            "id": "big",
            "source": "f",
            "type": "order.created",
            "dataversion": "2",
            "data": big,
            "junk": b"y" * 100_000,
        },
    )
    await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="fine", total=1))
    await eventually(lambda: runner.dead_lettered == 1 and len(seen) == 1)
    await runner.stop()
    (dead,) = await harness.dead_letters("orders")
    assert dead[C.DLQ_REASON] == C.REASON_OVERSIZED.encode()
    assert int(dead["schemabus-oversized"]) > 300_000
    assert len(dead["data"]) == 1024 and len(dead["junk"]) == 1024
    assert len(dead["schemabus-sha1"]) == 40
    assert sum(len(v) for v in dead.values()) < 10_000

"""One contract, every transport: the consumer engine behaves the same on each.

Parametrised by the `harness` fixture (tests/runtime/conftest.py): in-memory, real Redis
Streams (marked `redis`) and, once its transport lands, real NATS.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from runtime import constants as C
from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.envelope import Envelope
from runtime.errors import NoRespondersError, RemoteError
from runtime.service import ServiceRunner
from runtime.spec import Context, EventSpec, Responder, ServiceWiring, Subscription
from runtime.transport import Inbound, Outbound
from tests.runtime.harness import FAST, Harness, lease_all, ledger_key
from tests.runtime.models import (
    ORDER_V1,
    ORDER_V2,
    ORDER_V3,
    REGISTRY,
    RESERVE,
    UPCASTERS,
    OrderCreatedV1,
    OrderCreatedV2,
    ReserveReplyV1,
    ReserveRequestV1,
)


async def eventually(cond: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait for a condition (a liveness bound, never a performance assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = cond()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


Handler = Callable[[Any, Context], Awaitable[None]]


def wiring(
    name: str, *subs: tuple[EventSpec, Handler], responders: tuple[Responder, ...] = ()
) -> ServiceWiring:
    return ServiceWiring(
        name=name,
        subscriptions=tuple(Subscription(spec, h) for spec, h in subs),
        responders=responders,
    )


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.contexts: list[HandlerContext] = []

    async def __call__(self, event: Any, ctx: Context) -> None:
        self.events.append(event)
        assert isinstance(ctx, HandlerContext)
        self.contexts.append(ctx)


async def run(bus: Bus, w: ServiceWiring, **kw: Any) -> ServiceRunner:
    runner = bus.service(w, consumer_name=kw.pop("consumer_name", "c1"), **kw)
    await runner.start()
    return runner


class TestConformance:
    async def test_publish_consume_in_order_per_aggregate(self, harness: Harness) -> None:
        bus = harness.bus(REGISTRY, "producer")
        rec = Recorder()
        runner = await run(harness.bus(REGISTRY, "payment"), wiring("payment", (ORDER_V2, rec)))
        events = [OrderCreatedV2(order_id=f"o{i % 7}", total=i) for i in range(300)]
        await bus.publish_many(events[:100])
        for e in events[100:150]:
            await bus.publish(e)
        await bus.publish_many(events[150:])
        await eventually(lambda: len(rec.events) == 300)
        await runner.stop()
        for agg in {e.order_id for e in events}:
            seen = [e.total for e in rec.events if e.order_id == agg]
            assert seen == sorted(seen), f"aggregate {agg} out of order"
        assert sorted(e.total for e in rec.events) == list(range(300))
        assert runner.handled == 300
        env = rec.contexts[0].envelope
        assert env.type == "order.created" and env.dataversion == 2 and env.source == "producer"
        assert env.subject == rec.events[0].order_id
        assert env.dataschema == "schemas/events/order.created/v2.json"

    async def test_retry_then_success_counts_attempts(self, harness: Harness) -> None:
        attempts: list[int] = []

        async def flaky(event: OrderCreatedV2, ctx: Context) -> None:
            assert isinstance(ctx, HandlerContext)
            attempts.append(ctx.attempts)
            if ctx.attempts < 2:
                raise RuntimeError("transient")

        runner = await run(harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, flaky)))
        await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=1))
        await eventually(lambda: runner.handled == 1)
        await runner.stop()
        assert attempts == [1, 2]
        assert await harness.dead_letters("orders") == []

    async def test_poison_dead_lettered_while_others_flow(self, harness: Harness) -> None:
        ok: list[int] = []

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            if event.total == 13:
                raise ValueError("poison 13")
            ok.append(event.total)

        runner = await run(harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
        bus = harness.bus(REGISTRY, "p")
        await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(30)])
        await eventually(lambda: len(ok) == 29)
        await eventually(lambda: runner.dead_lettered == 1)
        await bus.publish(OrderCreatedV2(order_id="later", total=100))
        await eventually(lambda: 100 in ok)
        await runner.stop()
        dead = await harness.dead_letters("orders")
        assert len(dead) == 1
        d = dead[0]
        assert d[C.DLQ_REASON] == C.REASON_HANDLER_FAILED.encode()
        assert d[C.DLQ_ERROR_TYPE] == b"ValueError"
        assert d[C.DLQ_ERROR_MESSAGE] == b"poison 13"
        assert d[C.DLQ_ATTEMPTS] == str(ORDER_V2.retry.max_deliveries).encode()
        assert d[C.DLQ_ORIGINAL_STREAM] == b"orders"
        assert d[C.DLQ_ORIGINAL_ID]
        data = orjson.loads(d["data"])
        assert (data["order_id"], data["total"]) == ("o13", 13)

    async def test_poison_blocks_only_its_aggregate(self, harness: Harness) -> None:
        seen: list[int] = []
        poison_attempts: list[int] = []
        b_done_while_a_parked: list[bool] = []

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            assert isinstance(ctx, HandlerContext)
            if event.total == 0:
                poison_attempts.append(ctx.attempts)
                raise ValueError("always")
            if event.order_id == "B":
                b_done_while_a_parked.append(len(poison_attempts) < ORDER_V2.retry.max_deliveries)
            if event.total == 1:
                # A's second event only runs once its poisoned head was given up on.
                assert poison_attempts == list(range(1, ORDER_V2.retry.max_deliveries + 1))
            seen.append(event.total)

        runner = await run(harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
        bus = harness.bus(REGISTRY, "p")
        await bus.publish_many(
            [OrderCreatedV2(order_id="A", total=0), OrderCreatedV2(order_id="A", total=1)]
            + [OrderCreatedV2(order_id="B", total=i) for i in range(2, 6)]
        )
        await eventually(lambda: 1 in seen)
        await runner.stop()
        assert [s for s in seen if s >= 2] == [2, 3, 4, 5]
        assert any(b_done_while_a_parked)  # B did not wait for A's retries
        assert runner.dead_lettered == 1

    async def test_hung_handler_times_out_and_is_retried(self, harness: Harness) -> None:
        attempts: list[int] = []
        others: list[int] = []

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            assert isinstance(ctx, HandlerContext)
            if event.order_id == "hang":
                attempts.append(ctx.attempts)
                if ctx.attempts == 1:
                    await asyncio.sleep(3600)  # a call without its own timeout
                return
            await asyncio.sleep(0)
            others.append(event.total)

        bus = harness.bus(REGISTRY, "s")
        runner = await run(
            bus, wiring("s", (ORDER_V2, handler)), settings=_with(FAST, handler_timeout_ms=200)
        )
        await harness.bus(REGISTRY, "p").publish_many(
            [OrderCreatedV2(order_id="hang", total=0)]
            + [OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(1, 6)]
        )
        await eventually(lambda: attempts == [1, 2] and len(others) == 5)
        await runner.stop()
        assert runner.handled == 6 and runner.dead_lettered == 0

    async def test_malformed_and_oversized_dead_lettered(self, harness: Harness) -> None:
        rec = Recorder()
        bus = harness.bus(REGISTRY, "s")
        runner = await run(
            bus, wiring("s", (ORDER_V2, rec)), settings=_with(FAST, max_payload_bytes=200)
        )
        await harness.append_raw("orders", {"hello": "world"})
        await harness.append_raw(
            "orders",
            {
                "specversion": "1.0",
                "id": "x",
                "source": "s",
                "type": "order.created",
                "dataversion": "two",
                "data": b"{}",
            },
        )
        await harness.bus(REGISTRY, "p").publish(
            OrderCreatedV2(order_id="big", total=1, currency="X" * 500)
        )
        await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="fine", total=2))
        await eventually(lambda: runner.dead_lettered == 3 and len(rec.events) == 1)
        await runner.stop()
        dead = await harness.dead_letters("orders")
        reasons = sorted(d[C.DLQ_REASON].decode() for d in dead)
        assert reasons == [C.REASON_MALFORMED, C.REASON_MALFORMED, C.REASON_OVERSIZED]
        assert any(d.get("hello") == b"world" for d in dead)  # original fields kept

    async def test_unknown_invalid_and_unreadable_dead_lettered(self, harness: Harness) -> None:
        rec = Recorder()
        runner = await run(
            harness.bus(REGISTRY, "s", upcasters=UPCASTERS), wiring("s", (ORDER_V3, rec))
        )

        def env(type_: str, version: int, data: bytes) -> Outbound:
            return Outbound(
                "orders",
                Envelope.new(source="t", type=type_, dataversion=version, data=data, subject="k"),
            )

        await harness.durable.publish(
            [
                env("order.created", 9, b'{"order_id":"a","total":1}'),  # unknown version
                env("nobody.knows", 1, b"{}"),  # unknown type
                env("order.created", 2, b'{"order_id":"a"}'),  # invalid for v2 -> upcaster fails
                env("order.created", 1, b'{"order_id":"a","total":1}'),  # no plan 1 -> 3
                env("order.created", 3, b'{"order_id":"a","amount_cents":"x","currency":"E"}'),
                env("order.created", 2, b'{"order_id":"ok","total":5}'),  # upcast: fine
            ]
        )
        await eventually(lambda: runner.dead_lettered == 5 and len(rec.events) == 1)
        await runner.stop()
        reasons = sorted(d[C.DLQ_REASON].decode() for d in await harness.dead_letters("orders"))
        assert reasons == sorted(
            [
                C.REASON_UNKNOWN_EVENT,
                C.REASON_UNKNOWN_EVENT,
                C.REASON_INVALID,
                C.REASON_UNREADABLE,
                C.REASON_INVALID,
            ]
        )
        assert rec.events[0].amount_cents == 5

    async def test_handler_gets_declared_version(self, harness: Harness) -> None:
        v1, v2 = Recorder(), Recorder()
        r1 = await run(harness.bus(REGISTRY, "old"), wiring("old", (ORDER_V1, v1)))
        r2 = await run(harness.bus(REGISTRY, "new"), wiring("new", (ORDER_V2, v2)))
        bus = harness.bus(REGISTRY, "p")
        await bus.publish(OrderCreatedV1(order_id="a", total=1))
        await bus.publish(OrderCreatedV2(order_id="b", total=2, currency="USD"))
        await eventually(lambda: len(v1.events) == 2 and len(v2.events) == 2)
        await r1.stop()
        await r2.stop()
        assert all(type(e) is OrderCreatedV1 for e in v1.events)
        assert all(type(e) is OrderCreatedV2 for e in v2.events)
        assert [e.currency for e in v2.events] == ["EUR", "USD"]

    async def test_duplicate_event_id_handled_once_and_effects_once(
        self, effects_harness: Harness
    ) -> None:
        harness = effects_harness
        assert "effects" in harness.durable.capabilities

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            assert isinstance(ctx, HandlerContext)
            ctx.stage("HINCRBY", ledger_key(ctx), ctx.event_id, 1)

        runner = await run(harness.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
        bus = harness.bus(REGISTRY, "p")
        env = bus.envelope(OrderCreatedV2(order_id="a", total=1))
        await bus.publish_envelopes([env])
        await eventually(lambda: runner.handled == 1)
        await bus.publish_envelopes([env, env])  # a publisher retry duplicated it
        await bus.publish(OrderCreatedV2(order_id="b", total=2))
        await eventually(lambda: runner.handled + sum(c.skipped for c in runner.consumers) == 4)
        await runner.stop()
        ledger = await harness.ledger("ledger")
        assert ledger[env.id] == 1
        assert sorted(ledger.values()) == [1, 1]

    async def test_causation_and_correlation_carried(self, harness: Harness) -> None:
        rec = Recorder()

        async def relay(event: OrderCreatedV2, ctx: Context) -> None:
            if event.total < 3:
                await ctx.publish(OrderCreatedV2(order_id=event.order_id, total=event.total + 1))

        r1 = await run(harness.bus(REGISTRY, "relay"), wiring("relay", (ORDER_V2, relay)))
        r2 = await run(harness.bus(REGISTRY, "watch"), wiring("watch", (ORDER_V2, rec)))
        root = await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=0))
        await eventually(lambda: len(rec.events) == 4)
        await r1.stop()
        await r2.stop()
        envs = [c.envelope for c in rec.contexts]
        assert {e.correlationid for e in envs} == {root}
        assert envs[0].causationid is None
        for parent, child in itertools.pairwise(envs):
            assert child.causationid == parent.id

    async def test_restart_resumes_own_pending_with_counted_attempts(
        self, harness: Harness
    ) -> None:
        bus = harness.bus(REGISTRY, "s")
        await harness.bus(REGISTRY, "p").publish_many(
            [OrderCreatedV2(order_id="a", total=i) for i in range(5)]
        )
        # A consumer that fetched and then "died" before settling anything.
        dead_source = bus.durable.source("s", "c1", ["orders"], bus.settings.consumer)
        await dead_source.open()
        await lease_all(dead_source, "c1")
        got: list[Inbound] = []
        while len(got) < 5:
            got += await dead_source.fetch(10, 100)
        assert len(got) == 5 and all(i.attempts == 1 for i in got)
        await harness.kill(dead_source)
        attempts: list[int] = []

        async def handler(event: OrderCreatedV2, ctx: Context) -> None:
            assert isinstance(ctx, HandlerContext)
            attempts.append(ctx.attempts)

        runner = await run(bus, wiring("s", (ORDER_V2, handler)), consumer_name="c1")
        await eventually(lambda: runner.handled == 5)
        await runner.stop()
        assert attempts == [2] * 5

    async def test_dead_consumers_entries_reclaimed(self, harness: Harness) -> None:
        bus = harness.bus(REGISTRY, "s")
        await harness.bus(REGISTRY, "p").publish_many(
            [OrderCreatedV2(order_id="a", total=i) for i in range(3)]
        )
        ghost = bus.durable.source("s", "ghost", ["orders"], bus.settings.consumer)
        await ghost.open()
        await lease_all(ghost, "ghost")
        got: list[Inbound] = []
        while len(got) < 3:
            got += await ghost.fetch(10, 100)
        await harness.kill(ghost)
        rec = Recorder()
        runner = await run(bus, wiring("s", (ORDER_V2, rec)), consumer_name="survivor")
        await eventually(lambda: len(rec.events) == 3)
        await runner.stop()
        assert [e.total for e in rec.events] == [0, 1, 2]
        assert all(c.attempts == 2 for c in rec.contexts)

    async def test_graceful_stop_settles_in_flight(self, harness: Harness) -> None:
        started = asyncio.Event()
        release = asyncio.Event()

        async def slow(event: OrderCreatedV2, ctx: Context) -> None:
            started.set()
            await release.wait()

        bus = harness.bus(REGISTRY, "s")
        runner = await run(bus, wiring("s", (ORDER_V2, slow)))
        await harness.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=1))
        await started.wait()
        stopping = asyncio.create_task(runner.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done()
        release.set()
        await stopping
        assert runner.handled == 1
        # Nothing left pending: a new consumer finds no work.
        rec = Recorder()
        again = await run(bus, wiring("s", (ORDER_V2, rec)), consumer_name="c2")
        await asyncio.sleep(0.3)
        await again.stop()
        assert rec.events == []

    async def test_request_reply(self, request_harness: Harness) -> None:
        harness = request_harness
        transport = harness.live or harness.durable
        assert "request" in transport.capabilities

        async def reserve(req: ReserveRequestV1, ctx: Context) -> ReserveReplyV1:
            if req.qty < 0:
                raise ValueError("negative quantity")
            return ReserveReplyV1(sku=req.sku, reserved=req.qty <= 10)

        client = harness.bus(REGISTRY, "order")
        with pytest.raises(NoRespondersError):
            await client.request(RESERVE, ReserveRequestV1(sku="x", qty=1), ReserveReplyV1)
        server = await run(
            harness.bus(REGISTRY, "inventory"),
            wiring("inventory", responders=(Responder(RESERVE, reserve),)),
        )
        reply = await client.request(RESERVE, ReserveRequestV1(sku="x", qty=3), ReserveReplyV1)
        assert reply == ReserveReplyV1(sku="x", reserved=True)
        with pytest.raises(RemoteError, match="negative quantity"):
            await client.request(RESERVE, ReserveRequestV1(sku="x", qty=-1), ReserveReplyV1)
        await server.stop()


def _with(settings: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, **changes)

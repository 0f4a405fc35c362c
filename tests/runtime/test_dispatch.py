from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from runtime import constants as C
from runtime.bus import Bus
from runtime.context import current_envelope
from runtime.dispatch import Dispatcher
from runtime.envelope import Envelope
from runtime.errors import ConfigError, Undeliverable
from runtime.hooks import Hooks
from runtime.memory import MemoryTransport
from runtime.spec import Context, EventHandler, EventSpec, Subscription
from runtime.transport import Inbound
from tests.runtime.models import (
    ORDER_V1,
    ORDER_V2,
    ORDER_V3,
    REGISTRY,
    UPCASTERS,
    OrderCreatedV2,
    OrderCreatedV3,
)


def inbound(type_: str, version: int, data: bytes, subject: str | None = "k") -> Inbound:
    env = Envelope.new(source="t", type=type_, dataversion=version, data=data, subject=subject)
    return Inbound("orders", "1-1", 1, env)


class Capture:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, Envelope | None]] = []

    async def __call__(self, event: Any, ctx: Context) -> None:
        self.seen.append((event, current_envelope.get()))


def test_routes_resolved_at_start() -> None:
    d = Dispatcher([Subscription(ORDER_V3, Capture())], REGISTRY, UPCASTERS)
    assert d.routes[("order.created", 3)].via == "direct"
    assert d.routes[("order.created", 2)].via == "upcast"
    assert ("order.created", 1) not in d.routes  # no plan 1 -> 3


def test_missing_upcaster_fails_fast() -> None:
    with pytest.raises(ConfigError, match=r"UPCASTERS"):
        Dispatcher([Subscription(ORDER_V3, Capture())], REGISTRY, {})


def test_one_handler_per_type() -> None:
    with pytest.raises(ConfigError, match="two handlers"):
        Dispatcher([Subscription(ORDER_V1, Capture()), Subscription(ORDER_V2, Capture())], REGISTRY)


async def test_upcast_and_context_var() -> None:
    cap = Capture()
    d = Dispatcher([Subscription(ORDER_V3, cap)], REGISTRY, UPCASTERS)
    i = inbound("order.created", 2, b'{"order_id":"a","total":7}')
    await d.process(i)
    event, env = cap.seen[0]
    assert event == OrderCreatedV3(order_id="a", amount_cents=7, currency="EUR")
    assert env is i.envelope
    assert current_envelope.get() is None  # reset after the handler


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (Inbound("orders", "1-1", 1, None, "entry has no 'id' field"), C.REASON_MALFORMED),
        (inbound("order.created", 2, b"{" + b" " * 300 + b"}"), C.REASON_OVERSIZED),
        (inbound("order.created", 7, b"{}"), C.REASON_UNKNOWN_EVENT),
        (inbound("what.ever", 1, b"{}"), C.REASON_UNKNOWN_EVENT),
        (inbound("order.created", 1, b'{"order_id":"a","total":1}'), C.REASON_UNREADABLE),
        (inbound("order.created", 3, b"not json"), C.REASON_INVALID),
        (inbound("order.created", 3, b'{"order_id":"a"}'), C.REASON_INVALID),
        (inbound("order.created", 2, b'{"order_id":"a"}'), C.REASON_INVALID),  # upcaster KeyError
    ],
)
async def test_undeliverable_reasons(item: Inbound, reason: str) -> None:
    d = Dispatcher([Subscription(ORDER_V3, Capture())], REGISTRY, UPCASTERS, max_payload_bytes=200)
    with pytest.raises(Undeliverable) as info:
        await d.process(item)
    assert info.value.reason == reason


async def test_registered_but_unsubscribed_type_is_skipped() -> None:
    cap = Capture()
    d = Dispatcher([Subscription(ORDER_V2, cap)], REGISTRY)
    await d.process(inbound("payment.processed", 1, b'{"order_id":"a"}'))
    assert cap.seen == []


async def test_invalid_message_names_field() -> None:
    d = Dispatcher([Subscription(ORDER_V2, Capture())], REGISTRY)
    with pytest.raises(Undeliverable, match="total"):
        await d.process(inbound("order.created", 2, b'{"order_id":"a","total":"x"}'))


async def test_middleware_and_publish_hooks() -> None:
    calls: list[str] = []
    published: list[int] = []

    def middleware(spec: EventSpec, handler: EventHandler) -> EventHandler:
        async def wrapped(event: Any, ctx: Context) -> None:
            calls.append(f"before {spec.type}")
            await handler(event, ctx)
            calls.append("after")

        return wrapped

    def on_publish(envs: Sequence[Envelope]) -> None:
        published.append(len(envs))

    hooks = Hooks(middleware=(middleware,), on_publish=(on_publish,))
    bus = Bus.in_memory(REGISTRY, source="s", hooks=hooks)
    cap = Capture()
    d = Dispatcher([Subscription(ORDER_V2, cap)], REGISTRY, messenger=bus, hooks=hooks)
    await d.process(inbound("order.created", 2, b'{"order_id":"a","total":1}'))
    assert calls == ["before order.created", "after"]
    await bus.publish_many([OrderCreatedV2(order_id="a", total=1)] * 3)
    assert published == [3]


async def test_publish_inside_handler_via_bus_carries_causation() -> None:
    transport = MemoryTransport()
    bus = Bus.in_memory(REGISTRY, source="relay", transport=transport)

    async def relay(event: OrderCreatedV2, ctx: Context) -> None:
        await bus.publish(OrderCreatedV2(order_id=event.order_id, total=event.total + 1))

    d = Dispatcher([Subscription(ORDER_V2, relay)], REGISTRY, messenger=bus)
    parent = Envelope.new(
        source="p",
        type="order.created",
        dataversion=2,
        data=b'{"order_id":"a","total":1}',
        subject="a",
        correlationid="corr-1",
        traceparent="00-abc-def-01",
    )
    await d.process(Inbound("orders", "1-1", 1, parent))
    log = transport.logs["orders"]
    child = Envelope.from_fields(log.entries[log.ids[-1]])
    assert child.causationid == parent.id and child.correlationid == "corr-1"
    assert child.traceparent == parent.traceparent and child.source == "relay"
    assert child.subject == "a"


async def test_publish_routes_realtime_and_rejects_unregistered() -> None:
    from tests.runtime.models import STOCK, StockChangedV1

    transport = MemoryTransport()
    bus = Bus.in_memory(REGISTRY, source="s", transport=transport)
    await bus.publish(StockChangedV1(sku="x", delta=1))
    assert STOCK.subject in transport.logs and "orders" not in transport.logs

    class NotAnEvent(OrderCreatedV2):
        pass

    with pytest.raises(TypeError, match="not a registered event model"):
        await bus.publish(NotAnEvent(order_id="a", total=1))

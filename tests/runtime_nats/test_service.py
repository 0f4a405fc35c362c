"""The NATS transport under the Bus and ServiceRunner, as services use it."""

from __future__ import annotations

import nats
import pytest
from pydantic import BaseModel

from runtime.bus import Bus
from runtime.memory import MemoryTransport
from runtime.nats import NatsSource, NatsTransport
from runtime.nats.connection import flush_in_order
from runtime.settings import NatsSettings, Settings
from runtime.spec import Context, EventSpec, Registry, ServiceWiring, Subscription
from tests.runtime_nats.helpers import FAST, connect, eventually, unique

pytestmark = pytest.mark.nats


class StockChangedV1(BaseModel):
    sku: str
    delta: int


class OrderPlacedV1(BaseModel):
    order_id: str


def _registry() -> tuple[Registry, EventSpec, EventSpec]:
    stock = EventSpec(
        type="stock.changed",
        version=1,
        model=StockChangedV1,
        schema_json="{}",
        fingerprint="fp-stock",
        delivery="realtime",
        stream=None,
        subject=unique("evt.stock"),
        aggregate_field="sku",
    )
    order = EventSpec(
        type="order.placed",
        version=1,
        model=OrderPlacedV1,
        schema_json="{}",
        fingerprint="fp-order",
        delivery="durable",
        stream="orders",
        subject=unique("evt.order"),
        aggregate_field="order_id",
    )
    return Registry.build([stock, order]), stock, order


def _bus(registry: Registry, transport: NatsTransport, source: str) -> Bus:
    return Bus(registry, source=source, durable=None, live=transport, settings=Settings(redis=None))


async def test_realtime_events_reach_one_instance_per_service(nats_url: str) -> None:
    registry, stock, _ = _registry()
    seen: dict[str, list[str]] = {"inv-1": [], "inv-2": [], "audit": []}

    def recorder(name: str) -> Subscription:
        async def handle(event: StockChangedV1, ctx: Context) -> None:
            seen[name].append(event.sku)

        return Subscription(stock, handle)

    transports = [await connect(nats_url) for _ in range(4)]
    runners = []
    try:
        for transport, (service, name) in zip(
            transports,
            [("inventory", "inv-1"), ("inventory", "inv-2"), ("audit", "audit")],
            strict=False,
        ):
            bus = _bus(registry, transport, service)
            wiring = ServiceWiring(name=service, subscriptions=(recorder(name),))
            runner = bus.service(wiring, consumer_name=name, settings=FAST)
            await runner.start()
            runners.append(runner)
        # Consumers subscribe in their background task: wait until all three are in.
        sources = [c.source for r in runners for c in r.consumers]
        assert all(isinstance(s, NatsSource) for s in sources)
        await eventually(lambda: all(isinstance(s, NatsSource) and s.opened for s in sources))

        producer = _bus(registry, transports[3], "warehouse")
        await producer.publish_many([StockChangedV1(sku=f"s{i}", delta=1) for i in range(50)])

        await eventually(lambda: len(seen["audit"]) == 50)
        await eventually(lambda: len(seen["inv-1"]) + len(seen["inv-2"]) == 50)
        # Load-balanced within a service, never handled twice.
        assert sorted(seen["inv-1"] + seen["inv-2"]) == sorted(f"s{i}" for i in range(50))
    finally:
        for runner in runners:
            await runner.stop()
        for transport in transports:
            await transport.close()


async def test_durable_events_are_mirrored_for_live_subscribers(nats_url: str) -> None:
    registry, _, order = _registry()
    live = await connect(nats_url)
    raw = await nats.connect(nats_url)
    try:
        listener = await raw.subscribe(order.subject)
        await flush_in_order(raw)
        bus = Bus(registry, source="shop", durable=MemoryTransport(), live=live)
        event_id = await bus.publish(OrderPlacedV1(order_id="o-1"))
        msg = await listener.next_msg(timeout=5)
        assert msg.headers is not None and msg.headers["ce-id"] == event_id
        assert msg.headers["ce-subject"] == "o-1"
    finally:
        await raw.close()
        await live.close()


async def test_bus_connect_uses_the_nats_transport(nats_url: str) -> None:
    registry, _, _ = _registry()
    settings = Settings(redis=None, nats=NatsSettings.from_url(nats_url))
    bus = await Bus.connect(settings, registry, source="shop")
    try:
        assert isinstance(bus.live, NatsTransport)
        assert bus.durable is None
    finally:
        await bus.close()

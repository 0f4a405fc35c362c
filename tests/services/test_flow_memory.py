"""The example system on the in-memory bus: fast handler tests through the real dispatch
path (the same flows run on real servers in tests/e2e)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generated.models import OrderPlaceReplyV1, OrderPlaceRequestV1, PaymentFailedV1
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.envelope import Envelope
from runtime.errors import RemoteError, TransportError
from runtime.memory import MemoryTransport
from runtime.service import ServiceRunner
from runtime.settings import ConsumerSettings, Settings
from runtime.state import MemoryState
from services.inventory import STOCK
from services.order import COMPLETED, FAILED, order_key
from services.payment import LIMIT_MINOR
from tests.services.system import example_wirings

PLACE = REGISTRY.operations["order.place"]

# The in-memory bus never blocks long; drain() needs only short idle fetches.
FAST = Settings(redis=None, consumer=ConsumerSettings(block_ms=5))


@dataclass
class System:
    transport: MemoryTransport
    state: MemoryState
    client: Bus
    runners: list[ServiceRunner]

    async def place(self, **fields: Any) -> OrderPlaceReplyV1:
        request = OrderPlaceRequestV1.model_validate(fields)
        return await self.client.request(PLACE, request, OrderPlaceReplyV1)

    async def settle(self) -> None:
        # Each hop may publish the next event: drain until a full pass handles nothing.
        while True:
            before = sum(r.handled for r in self.runners)
            for runner in self.runners:
                await runner.drain()
            if sum(r.handled for r in self.runners) == before:
                return


@pytest.fixture
async def system() -> System:
    transport = MemoryTransport()
    state = MemoryState()
    await state.hset(STOCK, {"SKU-MUG": "10", "SKU-TEA": "5"})
    runners = []
    for name, wiring in example_wirings(state).items():
        bus = Bus.in_memory(REGISTRY, source=name, transport=transport, settings=FAST)
        runner = bus.service(wiring)
        await runner.start()  # opens the request/reply responders
        for consumer in runner.consumers:
            consumer.stop()  # the test drives consumption itself with drain()
        runners.append(runner)
    client = Bus.in_memory(REGISTRY, source="test-client", transport=transport, settings=FAST)
    return System(transport, state, client, runners)


def _line(sku: str, qty: int, cents: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": qty, "unit_price": {"amount_minor": cents, "currency": "EUR"}}


def _events(transport: MemoryTransport) -> list[Envelope]:
    out = []
    for log in transport.logs.values():
        for entry_id in log.ids:
            out.append(Envelope.from_fields(log.entries[entry_id]))
    return out


async def test_order_creation_emits_a_payment_event(system: System) -> None:
    reply = await system.place(customer_id="cust-1", items=[_line("SKU-MUG", 2, 1250)])
    assert reply.accepted
    await system.settle()
    types = [e.type for e in _events(system.transport)]
    assert "order.created" in types
    assert "payment.processed" in types


async def test_paid_order_completes_and_moves_stock(system: System) -> None:
    reply = await system.place(
        customer_id="cust-1", items=[_line("SKU-MUG", 2, 1250), _line("SKU-TEA", 1, 800)]
    )
    await system.settle()
    order = await system.state.hgetall(order_key(reply.order_id))
    assert order["status"] == "payment_completed"
    assert order["total_minor"] == "3300"
    assert await system.state.hgetall(STOCK) == {"SKU-MUG": "8", "SKU-TEA": "4"}
    assert await system.state.scard(COMPLETED) == 1


async def test_expensive_order_fails_payment(system: System) -> None:
    reply = await system.place(customer_id="c", items=[_line("SKU-MUG", 1, LIMIT_MINOR + 1)])
    await system.settle()
    assert (await system.state.hgetall(order_key(reply.order_id)))["status"] == "payment_failed"
    failed = [e for e in _events(system.transport) if e.type == "payment.failed"]
    assert len(failed) == 1
    assert PaymentFailedV1.model_validate_json(failed[0].data).reason == "limit_exceeded"
    assert await system.state.scard(FAILED) == 1
    assert (await system.state.hgetall(STOCK))["SKU-MUG"] == "10"


async def test_out_of_stock_order_is_refused(system: System) -> None:
    reply = await system.place(customer_id="c", items=[_line("SKU-TEA", 6, 100)])
    assert not reply.accepted
    assert reply.reason == "out of stock: SKU-TEA"
    await system.settle()
    assert [e.type for e in _events(system.transport)] == []


async def test_retried_placement_publishes_once(system: System) -> None:
    first = await system.place(
        order_id="ord-fixed", customer_id="c", items=[_line("SKU-MUG", 1, 5)]
    )
    again = await system.place(
        order_id="ord-fixed", customer_id="c", items=[_line("SKU-MUG", 1, 5)]
    )
    assert first.accepted and again.accepted and first.order_id == again.order_id
    await system.settle()
    assert [e.type for e in _events(system.transport)].count("order.created") == 1


async def test_placement_retried_after_a_failed_publish_publishes(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt stored the order but its publish failed (a failover outlasting the
    publish retries): the caller's retry must publish it, not answer 'accepted' for an
    order that nothing will ever process."""
    real = system.transport.publish
    failures = [TransportError("the Redis master is gone")]

    async def publish_failing_once(batch: Any) -> None:
        if failures:
            raise failures.pop()
        await real(batch)

    monkeypatch.setattr(system.transport, "publish", publish_failing_once)
    lines = [_line("SKU-MUG", 1, 5)]
    with pytest.raises(RemoteError, match="the Redis master is gone"):
        await system.place(order_id="ord-retried", customer_id="c", items=lines)
    again = await system.place(order_id="ord-retried", customer_id="c", items=lines)
    assert again.accepted
    await system.settle()
    assert [e.type for e in _events(system.transport)].count("order.created") == 1
    assert await system.state.scard(COMPLETED) == 1


async def test_everything_published_matches_its_contract(system: System) -> None:
    await system.place(customer_id="a", items=[_line("SKU-MUG", 1, 100)])
    await system.place(customer_id="b", items=[_line("SKU-TEA", 1, LIMIT_MINOR * 2)])
    await system.settle()
    events = _events(system.transport)
    assert {e.type for e in events} >= {"order.created", "payment.processed", "payment.failed"}
    for env in events:
        spec = REGISTRY.spec(env.type, env.dataversion)
        validator = Draft202012Validator(json.loads(spec.schema_json))
        assert not list(validator.iter_errors(json.loads(env.data))), env.type
        assert env.source in {"order", "payment", "inventory"}
    paid = next(e for e in events if e.type == "payment.processed")
    order_id = json.loads(paid.data)["order_id"]
    created = next(
        e
        for e in events
        if e.type == "order.created" and json.loads(e.data)["order_id"] == order_id
    )
    # Causality is carried by the runtime: the payment was caused by the order event.
    assert paid.causationid == created.id
    assert paid.correlationid == created.correlationid

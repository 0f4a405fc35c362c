"""The event both sides send: one `OrderCreatedV2` (customer, 3 line items, currency, total).

Built from dicts through the generated model, so the framework and the baseline serialise
and validate exactly the same pydantic class. The raw baseline carries a hand-written
minimal envelope (id, type, time) beside the payload; the framework carries its full
CloudEvents envelope. The sizes of both are recorded in the results (`sizes`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from generated.models import InventoryReserveReplyV1, InventoryReserveRequestV1, OrderCreatedV2
from generated.registry import REGISTRY
from runtime.envelope import new_id, now
from runtime.spec import EventSpec, Registry

#: The order event on one partition: the durable and latency suites compare one consumer
#: on one stream with one raw consumer on one stream (`replicas` covers partitions).
ORDER_SPEC = replace(REGISTRY.spec("order.created", 2), partitions=1)
ORDER_TYPE = "order.created"
STREAM = ORDER_SPEC.stream or "orders"
RESERVE = REGISTRY.operations["inventory.reserve"]


def order(i: int) -> OrderCreatedV2:
    """The i-th order. `order_id` is unique per event: latency runs look it up."""
    items: list[dict[str, Any]] = [
        {
            "sku": f"SKU-{i % 97:04d}-{k}",
            "quantity": 1 + k,
            "unit_price": {"amount_minor": 1250 + 100 * k, "currency": "EUR"},
        }
        for k in range(3)
    ]
    total = sum(it["quantity"] * it["unit_price"]["amount_minor"] for it in items)
    return OrderCreatedV2.model_validate(
        {
            "order_id": f"ord-{i:08d}",
            "customer_id": f"cust-{i % 1000:05d}",
            "items": items,
            "total": {"amount_minor": total, "currency": "EUR"},
        }
    )


def orders(n: int) -> list[OrderCreatedV2]:
    return [order(i) for i in range(n)]


def reserve_request(i: int) -> InventoryReserveRequestV1:
    o = order(i)
    return InventoryReserveRequestV1.model_validate({"order_id": o.order_id, "items": o.items})


def reserve_reply(request: InventoryReserveRequestV1) -> InventoryReserveReplyV1:
    return InventoryReserveReplyV1(order_id=request.order_id, reserved=True)


def durable_registry() -> Registry:
    """The generated registry with `ORDER_SPEC` (order.created v2 on one partition)."""
    events = [ORDER_SPEC if s.key == ORDER_SPEC.key else s for s in REGISTRY.events.values()]
    return Registry.build(events, REGISTRY.operations.values(), REGISTRY.read_plans.values())


def realtime_registry() -> tuple[Registry, EventSpec]:
    """The generated registry with order.created v2 delivered over NATS only.

    A Bus with only NATS refuses durable events (they need the Redis log), so the
    real-time workloads route the same order event as `realtime` instead of switching to
    the much smaller inventory.update event: both sides then move the same bytes.
    """
    spec = replace(ORDER_SPEC, delivery="realtime", stream=None)
    events = [spec if s.key == spec.key else s for s in REGISTRY.events.values()]
    return Registry.build(events, REGISTRY.operations.values(), REGISTRY.read_plans.values()), spec


def raw_fields(event: OrderCreatedV2) -> dict[str, str | bytes]:
    """What a hand-written producer puts in a stream entry: an id, the type, a time and
    the JSON payload (serialised with the same model). Id and time cost what they cost
    the framework (the same pooled random ids and per-millisecond cached timestamp): the
    comparison is about the transport work, not about uuid4() and isoformat()."""
    return {
        "id": new_id(),
        "type": ORDER_TYPE,
        "time": now(),
        "data": event.model_dump_json(exclude_none=True).encode(),
    }


def raw_headers() -> dict[str, str]:
    """The same minimal envelope as NATS headers."""
    return {"id": new_id(), "type": ORDER_TYPE, "time": now()}


def clock() -> float:
    return time.perf_counter()


class Stopwatch:
    """Wall time and this process's CPU time since creation. CPU per event is the steadier
    number on a shared machine: other processes stretch wall time far more than CPU time."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu

"""The order service: accepts orders, tracks them to a final state.

`order.place` (request/reply) checks stock with the inventory service, stores the order
in `order:<id>` and publishes `order.created`. Payment outcomes move the order to
`payment_completed` (and emit one `inventory.update` per line) or `payment_failed`.
Final states are also recorded as set members (`orders:completed`,
`orders:payment_failed`), which stay correct however often an event is redelivered.
"""

from __future__ import annotations

import json
import time
import uuid

from prometheus_client import Counter

from generated.models import (
    InventoryReserveRequestV1,
    InventoryUpdateV1,
    Money,
    OrderCreatedV2,
    OrderPlaceReplyV1,
    OrderPlaceRequestV1,
    PaymentFailedV1,
    PaymentProcessedV1,
)
from generated.operations import inventory_reserve
from generated.services.order import OrderHandlers, wire
from runtime.spec import Context, ServiceWiring
from runtime.state import RedisState, StateStore

# Business metrics, exported on the service's /metrics (orders per minute = rate()).
ORDERS_PLACED = Counter("orders_placed", "Orders accepted by order.place.")
ORDERS_COMPLETED = Counter("orders_completed", "Orders whose payment was captured.")
PAYMENT_FAILURES = Counter("orders_payment_failed", "Orders whose payment was declined.")

COMPLETED = "orders:completed"
FAILED = "orders:payment_failed"
REJECTED = "orders:rejected"
#: An order's status once payment decided it.
FINAL = ("payment_completed", "payment_failed")


def order_key(order_id: str) -> str:
    return f"order:{order_id}"


class OrderService(OrderHandlers):
    def __init__(self, state: StateStore) -> None:
        self.state = state

    async def handle_order_place(
        self, request: OrderPlaceRequestV1, ctx: Context
    ) -> OrderPlaceReplyV1:
        order_id = request.order_id or f"ord-{uuid.uuid4().hex[:16]}"
        currencies = {item.unit_price.currency for item in request.items}
        if len(currencies) != 1:
            return OrderPlaceReplyV1(
                order_id=order_id, accepted=False, reason="all lines must share one currency"
            )
        # A retried request with the same order id is answered without a second event once
        # `order.created` is known to be out (`published`). If the first attempt stopped
        # half-way (a failover outlasting its publish retries, a crash), it is finished now.
        # Should both attempts still be running, `order.created` goes out twice, which
        # payment and order absorb: payment decides it again the same way, and final
        # states are set members.
        if not await self.state.hsetnx(order_key(order_id), "status", "placing"):
            stored = await self.state.hgetall(order_key(order_id))
            if stored.get("status") == "rejected":
                return OrderPlaceReplyV1(order_id=order_id, accepted=False)
            if stored.get("status") in FINAL or "published" in stored:
                return OrderPlaceReplyV1(order_id=order_id, accepted=True)
        reservation = await inventory_reserve(
            ctx, InventoryReserveRequestV1(order_id=order_id, items=request.items)
        )
        if not reservation.reserved:
            await self.state.hset(order_key(order_id), {"status": "rejected"})
            await self.state.sadd(REJECTED, order_id)
            missing = ", ".join(reservation.missing_skus or [])
            return OrderPlaceReplyV1(
                order_id=order_id, accepted=False, reason=f"out of stock: {missing}"
            )
        total = sum(item.quantity * item.unit_price.amount_minor for item in request.items)
        event = OrderCreatedV2(
            order_id=order_id,
            customer_id=request.customer_id,
            items=request.items,
            total=Money(amount_minor=total, currency=currencies.pop()),
            channel=request.channel,
        )
        await self.state.hset(
            order_key(order_id),
            {
                "status": "created",
                "total_minor": str(total),
                "customer_id": request.customer_id,
                "placed_at_ms": str(int(time.time() * 1000)),
                "lines": json.dumps([[i.sku, i.quantity] for i in request.items]),
            },
        )
        await ctx.publish(event)
        await self.state.hset(order_key(order_id), {"published": "1"})
        ORDERS_PLACED.inc()
        return OrderPlaceReplyV1(order_id=order_id, accepted=True)

    async def on_payment_processed(self, event: PaymentProcessedV1, ctx: Context) -> None:
        key = order_key(event.order_id)
        await self.state.hset(
            key, {"status": "payment_completed", "done_at_ms": str(int(time.time() * 1000))}
        )
        if await self.state.sadd(COMPLETED, event.order_id):
            ORDERS_COMPLETED.inc()
        for sku, quantity in await self._lines(event.order_id):
            await ctx.publish(InventoryUpdateV1(sku=sku, delta=-quantity, order_id=event.order_id))

    async def on_payment_failed(self, event: PaymentFailedV1, ctx: Context) -> None:
        await self.state.hset(
            order_key(event.order_id),
            {"status": "payment_failed", "done_at_ms": str(int(time.time() * 1000))},
        )
        if await self.state.sadd(FAILED, event.order_id):
            PAYMENT_FAILURES.inc()

    async def _lines(self, order_id: str) -> list[tuple[str, int]]:
        raw = await self.state.hget(order_key(order_id), "lines")
        return [(str(sku), int(qty)) for sku, qty in json.loads(raw)] if raw else []


def wiring() -> ServiceWiring:
    return wire(OrderService(RedisState.from_env(owner="the order service")))

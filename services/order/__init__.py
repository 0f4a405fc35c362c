"""The order service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    OrderPlaceReplyV1,
    OrderPlaceRequestV1,
    PaymentFailedV1,
    PaymentProcessedV1,
)
from generated.services.order import OrderHandlers, wire


class OrderService(OrderHandlers):
    async def on_payment_failed(self, event: PaymentFailedV1, ctx: Context) -> None:
        raise NotImplementedError("order: handle payment.failed")

    async def on_payment_processed(self, event: PaymentProcessedV1, ctx: Context) -> None:
        raise NotImplementedError("order: handle payment.processed")

    async def handle_order_place(
        self, request: OrderPlaceRequestV1, ctx: Context
    ) -> OrderPlaceReplyV1:
        raise NotImplementedError("order: answer order.place")


def wiring() -> ServiceWiring:
    return wire(OrderService())

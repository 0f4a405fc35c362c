"""The payment service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    OrderCreatedV2,
)
from generated.services.payment import PaymentHandlers, wire


class PaymentService(PaymentHandlers):
    async def on_order_created(self, event: OrderCreatedV2, ctx: Context) -> None:
        raise NotImplementedError("payment: handle order.created")


def wiring() -> ServiceWiring:
    return wire(PaymentService())

"""The payment service: decides every order deterministically.

Orders whose total is over `LIMIT_MINOR` (1,000.00 in the order's currency) are declined,
everything else is captured. It declares `order.created` v2; v1 events still in the
stream reach it as `OrderCreatedV2` through the gate-proved decoding path.
"""

from __future__ import annotations

from generated.models import OrderCreatedV2, PaymentFailedV1, PaymentProcessedV1
from generated.services.payment import PaymentHandlers, wire
from runtime.spec import Context, ServiceWiring

LIMIT_MINOR = 100_000


def decide(order: OrderCreatedV2) -> PaymentProcessedV1 | PaymentFailedV1:
    if order.total.amount_minor > LIMIT_MINOR:
        return PaymentFailedV1(
            order_id=order.order_id,
            reason="limit_exceeded",
            detail=f"total {order.total.amount_minor} {order.total.currency} is over "
            f"the {LIMIT_MINOR} limit",
        )
    return PaymentProcessedV1(
        order_id=order.order_id, payment_id=f"pay-{order.order_id}", amount=order.total
    )


class PaymentService(PaymentHandlers):
    async def on_order_created(self, event: OrderCreatedV2, ctx: Context) -> None:
        await ctx.publish(decide(event))


def wiring() -> ServiceWiring:
    return wire(PaymentService())

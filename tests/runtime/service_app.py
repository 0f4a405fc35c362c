"""A service for `schemabus run` tests: `--wiring tests.runtime.service_app:wiring`."""

from __future__ import annotations

from runtime.context import HandlerContext
from runtime.spec import Context, ServiceWiring, Subscription
from tests.runtime.models import ORDER_V2, OrderCreatedV2


async def on_order_created(event: OrderCreatedV2, ctx: Context) -> None:
    assert isinstance(ctx, HandlerContext)
    ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)


def wiring() -> ServiceWiring:
    return ServiceWiring("ledger", (Subscription(ORDER_V2, on_order_created),))

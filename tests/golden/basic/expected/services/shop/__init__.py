"""The shop service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    ShopOrderPlacedV1,
    ShopQuoteReplyV1,
    ShopQuoteRequestV1,
)
from generated.services.shop import ShopHandlers, wire


class ShopService(ShopHandlers):
    async def on_shop_order_placed(self, event: ShopOrderPlacedV1, ctx: Context) -> None:
        raise NotImplementedError("shop: handle shop.order.placed")

    async def handle_shop_quote(
        self, request: ShopQuoteRequestV1, ctx: Context
    ) -> ShopQuoteReplyV1:
        raise NotImplementedError("shop: answer shop.quote")


def wiring() -> ServiceWiring:
    return wire(ShopService())

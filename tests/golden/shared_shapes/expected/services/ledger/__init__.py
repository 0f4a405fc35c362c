"""The ledger service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    ShopPriceCheckedV1,
    ShopRefundIssuedV1,
)
from generated.services.ledger import LedgerHandlers, wire


class LedgerService(LedgerHandlers):
    async def on_shop_price_checked(self, event: ShopPriceCheckedV1, ctx: Context) -> None:
        raise NotImplementedError("ledger: handle shop.price.checked")

    async def on_shop_refund_issued(self, event: ShopRefundIssuedV1, ctx: Context) -> None:
        raise NotImplementedError("ledger: handle shop.refund.issued")


def wiring() -> ServiceWiring:
    return wire(LedgerService())

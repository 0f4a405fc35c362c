"""The audit service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    ShopPingV1,
)
from generated.services.audit import AuditHandlers, wire


class AuditService(AuditHandlers):
    async def on_shop_ping(self, event: ShopPingV1, ctx: Context) -> None:
        raise NotImplementedError("audit: handle shop.ping")


def wiring() -> ServiceWiring:
    return wire(AuditService())

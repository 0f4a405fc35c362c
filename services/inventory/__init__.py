"""The inventory service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    InventoryReserveReplyV1,
    InventoryReserveRequestV1,
    InventoryUpdateV1,
)
from generated.services.inventory import InventoryHandlers, wire


class InventoryService(InventoryHandlers):
    async def on_inventory_update(self, event: InventoryUpdateV1, ctx: Context) -> None:
        raise NotImplementedError("inventory: handle inventory.update")

    async def handle_inventory_reserve(
        self, request: InventoryReserveRequestV1, ctx: Context
    ) -> InventoryReserveReplyV1:
        raise NotImplementedError("inventory: answer inventory.reserve")


def wiring() -> ServiceWiring:
    return wire(InventoryService())

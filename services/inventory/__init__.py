"""The inventory service: answers reservations and applies stock changes.

Stock lives in the hash `inventory:stock` (sku -> units). A reservation checks that every
line is available; the stock itself moves when the order is paid (`inventory.update`,
real-time over NATS).
"""

from __future__ import annotations

from generated.models import InventoryReserveReplyV1, InventoryReserveRequestV1, InventoryUpdateV1
from generated.services.inventory import InventoryHandlers, wire
from runtime.spec import Context, ServiceWiring
from runtime.state import RedisState, StateStore

STOCK = "inventory:stock"
APPLIED = "inventory:applied"


class InventoryService(InventoryHandlers):
    def __init__(self, state: StateStore) -> None:
        self.state = state

    async def handle_inventory_reserve(
        self, request: InventoryReserveRequestV1, ctx: Context
    ) -> InventoryReserveReplyV1:
        missing = []
        for item in request.items:
            units = await self.state.hget(STOCK, item.sku)
            if units is None or int(units) < item.quantity:
                missing.append(item.sku)
        if missing:
            return InventoryReserveReplyV1(
                order_id=request.order_id, reserved=False, missing_skus=sorted(set(missing))
            )
        return InventoryReserveReplyV1(order_id=request.order_id, reserved=True)

    async def on_inventory_update(self, event: InventoryUpdateV1, ctx: Context) -> None:
        # Real-time delivery can repeat an update (a reconnect, or the order service re-running
        # a payment handler after a crash): each order moves each SKU at most once.
        if await self.state.sadd(APPLIED, f"{event.order_id}:{event.sku}"):
            await self.state.hincrby(STOCK, event.sku, event.delta)


def wiring() -> ServiceWiring:
    return wire(InventoryService(RedisState.from_env(owner="the inventory service")))

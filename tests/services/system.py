"""The example system wired for tests: the three services over one state store, and a
helper that runs them on real transports (each on its own bus) and stops them after."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from generated.registry import REGISTRY
from generated.services.inventory import wire as wire_inventory
from generated.services.order import wire as wire_order
from generated.services.payment import wire as wire_payment
from runtime.bus import Bus
from runtime.hooks import NO_HOOKS, Hooks
from runtime.service import ServiceRunner
from runtime.settings import Settings
from runtime.spec import ServiceWiring
from runtime.state import StateStore
from services.inventory import InventoryService
from services.order import OrderService
from services.payment import PaymentService


def example_wirings(state: StateStore) -> dict[str, ServiceWiring]:
    return {
        "order": wire_order(OrderService(state)),
        "payment": wire_payment(PaymentService()),
        "inventory": wire_inventory(InventoryService(state)),
    }


@contextlib.asynccontextmanager
async def running_services(
    settings: Settings,
    state: StateStore,
    *,
    prefix: str,
    hooks_for: Callable[[str], Hooks] = lambda name: NO_HOOKS,
) -> AsyncIterator[tuple[list[Bus], list[ServiceRunner]]]:
    buses: list[Bus] = []
    runners: list[ServiceRunner] = []
    try:
        for name, wiring in example_wirings(state).items():
            bus = await Bus.connect(settings, REGISTRY, source=name, hooks=hooks_for(name))
            buses.append(bus)
            runner = bus.service(wiring, consumer_name=f"{prefix}-{name}")
            await runner.start()
            runners.append(runner)
        yield buses, runners
    finally:
        for runner in runners:
            await runner.stop()
        for bus in buses:
            await bus.close()

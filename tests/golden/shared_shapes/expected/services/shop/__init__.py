"""The shop service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.services.shop import ShopHandlers, wire


class ShopService(ShopHandlers):
    pass


def wiring() -> ServiceWiring:
    return wire(ShopService())

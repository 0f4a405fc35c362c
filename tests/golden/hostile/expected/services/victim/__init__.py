"""The victim service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    EvilThingV1,
)
from generated.services.victim import VictimHandlers, wire


class VictimService(VictimHandlers):
    async def on_evil_thing(self, event: EvilThingV1, ctx: Context) -> None:
        raise NotImplementedError("victim: handle evil.thing")


def wiring() -> ServiceWiring:
    return wire(VictimService())

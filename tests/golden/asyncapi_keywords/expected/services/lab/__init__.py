"""The lab service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.services.lab import LabHandlers, wire


class LabService(LabHandlers):
    pass


def wiring() -> ServiceWiring:
    return wire(LabService())

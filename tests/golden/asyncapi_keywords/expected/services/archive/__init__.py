"""The archive service: implement the handlers generated from the catalog.

Written once by `codegen gen`; yours to edit. `make check` (mypy) fails while a handler is
missing or uses a field the contract does not have.
"""

from __future__ import annotations

from runtime.spec import Context, ServiceWiring

from generated.models import (
    LabReadingV1,
)
from generated.services.archive import ArchiveHandlers, wire


class ArchiveService(ArchiveHandlers):
    async def on_lab_reading(self, event: LabReadingV1, ctx: Context) -> None:
        raise NotImplementedError("archive: handle lab.reading")


def wiring() -> ServiceWiring:
    return wire(ArchiveService())

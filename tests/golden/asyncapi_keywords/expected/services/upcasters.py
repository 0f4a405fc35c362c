"""Upcasters: hand-written functions that turn an old event version into a newer one.

codegen asks for one whenever a consumer's declared version cannot read an older published
version directly. Each takes the old payload (a JSON dict) and returns a payload valid
under the newer schema; `make test` checks that against the schemas.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]
UPCASTERS: dict[tuple[str, int, int], Any] = {}

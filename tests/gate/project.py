"""Small contract trees for the live gate's tests: one `order.created` type whose versions
each test chooses, an `order` service that writes it and a `payment` service that reads it.

`build()` writes a tree and runs `codegen gen` on it, so it has a generated registry and
service stubs like a real checkout (the tests run its services as separate processes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.codegen.golden import run_codegen

TYPE = "order.created"
ORDER_ID = {"type": "string", "minLength": 1, "maxLength": 64}

#: Three versions where v2 reads v3 but v1 does not (mode FULL, not transitive):
#: v2 drops v1's optional string `note`, v3 brings `note` back as an integer.
NOTE_V1 = {"note": {"type": "string", "maxLength": 200}}
NOTE_V2: dict[str, Any] = {}
NOTE_V3 = {"note": {"type": "integer"}}


def schema(
    version: int, properties: dict[str, Any], *, type_name: str = TYPE, **extra: Any
) -> dict[str, Any]:
    example = {"order_id": f"ord-{version}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://example.test/schemas/events/{type_name}/v{version}.json",
        "title": "Order created",
        "description": f"An order was placed (version {version}).",
        "type": "object",
        "required": ["order_id"],
        "properties": {"order_id": ORDER_ID, **properties},
        "examples": [example],
        **extra,
    }


def catalog(
    *,
    writes: int | None,
    reads: int | None,
    compatibility: str = "FULL",
    stream: str = "orders",
    partitions: int = 2,
) -> str:
    services = ["services:"]
    if writes is not None:
        services += ["  order:", f"    produces: [{TYPE}@{writes}]"]
    if reads is not None:
        services += ["  payment:", "    consumes:", f"      {TYPE}: {reads}"]
    if len(services) == 1:
        services = ["services: {}"]
    return "\n".join(
        [
            "version: 1",
            "defaults:",
            f"  compatibility: {compatibility}",
            "  semantics: runtime",
            "events:",
            f"  {TYPE}:",
            "    delivery: durable",
            f"    stream: {stream}",
            f"    partitions: {partitions}",
            "    aggregate_id: order_id",
            *services,
            "",
        ]
    )


def write(
    root: Path,
    versions: list[dict[str, Any]],
    *,
    upcasters: str = "",
    **catalog_args: Any,
) -> Path:
    """The tree with `versions` (v1, v2, ... in order), without running codegen."""
    folder = root / "schemas" / "events" / TYPE
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("v*.json"):
        old.unlink()
    for n, doc in enumerate(versions, start=1):
        (folder / f"v{n}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (root / "schemas" / "catalog.yaml").write_text(catalog(**catalog_args))
    (root / "services").mkdir(exist_ok=True)
    (root / "services" / "__init__.py").write_text("")
    (root / "services" / "upcasters.py").write_text(
        '"""Upcasters."""\n\nfrom __future__ import annotations\n\nfrom typing import Any\n\n'
        "JsonDict = dict[str, Any]\n"
        "UPCASTERS: dict[tuple[str, int, int], Any] = {}\n" + upcasters
    )
    return root


def build(root: Path, versions: list[dict[str, Any]], **kw: Any) -> Path:
    """`write` then `codegen gen`: a checkout with generated code and service stubs."""
    write(root, versions, **kw)
    code, out, err = run_codegen(root, "gen")
    assert code == 0, out + err
    return root


def three_versions() -> list[dict[str, Any]]:
    return [schema(1, NOTE_V1), schema(2, NOTE_V2), schema(3, NOTE_V3)]

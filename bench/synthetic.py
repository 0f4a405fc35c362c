"""A synthetic contracts tree for codegen benchmarks: N event types x V versions, each
version a compatible evolution (one optional property added) of the one before."""

from __future__ import annotations

import json
from pathlib import Path

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(type_name: str, version: int) -> dict[str, object]:
    props: dict[str, object] = {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "customer": {"type": "string", "maxLength": 64},
        "amount": {"$ref": "../../defs/money.json"},
        "lines": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            },
        },
        "status": {"enum": ["new", "paid", "shipped"]},
    }
    for extra in range(2, version + 1):
        props[f"field_{extra}"] = {"type": "string", "maxLength": 100}
    return {
        "$schema": DIALECT,
        "$id": f"https://bench.example/schemas/events/{type_name}/v{version}.json",
        "title": f"{type_name} v{version}",
        "description": "Synthetic benchmark event.",
        "type": "object",
        "required": ["id", "amount"],
        "properties": props,
        "examples": [{"id": "x-1", "amount": {"amount_minor": 5, "currency": "EUR"}}],
    }


def write_tree(root: Path, types: int = 100, versions: int = 2) -> int:
    """Write the tree under root; returns the number of event versions."""
    schemas = root / "schemas"
    (schemas / "defs").mkdir(parents=True, exist_ok=True)
    (schemas / "defs" / "money.json").write_text(
        json.dumps(
            {
                "$schema": DIALECT,
                "type": "object",
                "required": ["amount_minor", "currency"],
                "properties": {
                    "amount_minor": {"type": "integer", "minimum": 0},
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                },
            }
        )
    )
    catalog = ["version: 1", "events:"]
    for i in range(types):
        name = f"bench.entity{i:03d}.changed"
        folder = schemas / "events" / name
        folder.mkdir(parents=True, exist_ok=True)
        for v in range(1, versions + 1):
            (folder / f"v{v}.json").write_text(json.dumps(_schema(name, v), indent=2))
        stream = f"s{i % 10}"
        catalog += [
            f"  {name}:",
            "    delivery: durable",
            f"    stream: {stream}",
            "    aggregate_id: id",
        ]
    catalog += ["services:", "  sink:", "    consumes:"]
    catalog += [f"      bench.entity{i:03d}.changed: {versions}" for i in range(types)]
    (schemas / "catalog.yaml").write_text("\n".join(catalog) + "\n")
    return types * versions

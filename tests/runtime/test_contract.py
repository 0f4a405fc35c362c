"""The contract walk: nulls a schema forbids and (runtime semantics) undeclared
properties, found where they are, and nothing claimed where the schema branches."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.contract import Contract

SCHEMA: dict[str, Any] = {
    "$defs": {
        "Money": {
            "type": "object",
            "properties": {"amount": {"type": "integer"}, "note": {"type": ["string", "null"]}},
        },
        "Node": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}},
        },
    },
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "total": {"$ref": "#/$defs/Money"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Money"}},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "meta": {"type": "object"},
        "either": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        "tree": {"$ref": "#/$defs/Node"},
        "a/b": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("doc", "declared_only", "expected"),
    [
        ({"id": "x"}, True, None),
        ({"id": None}, True, "/id is null"),
        ({"id": "x", "total": {"amount": None}}, True, "/total/amount is null"),
        ({"id": "x", "total": {"amount": 1, "note": None}}, True, None),  # nullable
        ({"id": "x", "lines": [{"amount": 1}, {"amount": None}]}, True, "/lines/1/amount is null"),
        ({"id": "x", "tags": {"k": None}}, True, "/tags/k is null"),
        ({"id": "x", "tags": {"any-key": "v"}}, True, None),  # a map: keys are free
        ({"id": "x", "coupon": 1}, True, "/coupon is not a declared property"),
        ({"id": "x", "coupon": 1}, False, None),  # strict semantics: allowed by the schema
        ({"id": "x", "total": {"amount": 1, "cents": 5}}, True, "/total/cents is not a declared"),
        ({"id": "x", "meta": {"whatever": None}}, True, None),  # a free-form object
        ({"id": "x", "either": {"z": None}}, True, None),  # branches: cannot tell, no claim
        ({"id": "x", "tree": {"child": {"child": {"name": None}}}}, True, "/tree/child/child/name"),
        ({"id": "x", "a/b": None}, True, "/a~1b is null"),
    ],
)
def test_first_violation(doc: Any, declared_only: bool, expected: str | None) -> None:
    found = Contract(SCHEMA, declared_only=declared_only).first_violation(doc)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.startswith(expected), found

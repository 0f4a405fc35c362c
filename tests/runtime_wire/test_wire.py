"""The writer never emits null where the contract forbids it, and keeps it where required."""

from __future__ import annotations

import json

import orjson
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from runtime.wire import needs_exact_path, writer_for


class Optional_(BaseModel):
    a: str
    b: str | None = None  # optional, not nullable in the schema
    c: str | None = None  # optional and nullable


OPTIONAL_SCHEMA = {
    "type": "object",
    "required": ["a"],
    "properties": {
        "a": {"type": "string"},
        "b": {"type": "string"},
        "c": {"type": ["string", "null"]},
    },
}


class Required(BaseModel):
    a: str | None  # required and nullable
    b: str | None = None  # optional, not nullable


REQUIRED_SCHEMA = {
    "type": "object",
    "required": ["a"],
    "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "string"}},
}


def _valid(schema: dict[str, object], payload: bytes) -> bool:
    return not list(Draft202012Validator(schema).iter_errors(orjson.loads(payload)))


def test_fast_path_drops_explicit_none() -> None:
    assert not needs_exact_path(OPTIONAL_SCHEMA)
    write = writer_for(Optional_, json.dumps(OPTIONAL_SCHEMA))
    payload = write(Optional_(a="x", b=None, c=None))
    assert orjson.loads(payload) == {"a": "x"}
    assert _valid(OPTIONAL_SCHEMA, payload)
    assert orjson.loads(write(Optional_(a="x", b="y"))) == {"a": "x", "b": "y"}


def test_exact_path_keeps_required_null_and_drops_forbidden_null() -> None:
    assert needs_exact_path(REQUIRED_SCHEMA)
    write = writer_for(Required, json.dumps(REQUIRED_SCHEMA))
    payload = write(Required(a=None, b=None))
    assert orjson.loads(payload) == {"a": None}
    assert _valid(REQUIRED_SCHEMA, payload)


def test_nested_and_referenced_shapes() -> None:
    schema = {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Line"}}},
        "$defs": {
            "Line": {
                "type": "object",
                "required": ["sku", "note"],
                "properties": {
                    "sku": {"type": "string"},
                    "note": {"type": ["string", "null"]},
                    "x": {"type": "integer"},
                },
            }
        },
    }

    class Line(BaseModel):
        sku: str
        note: str | None
        x: int | None = None

    class Doc(BaseModel):
        items: list[Line]

    assert needs_exact_path(schema)
    payload = writer_for(Doc, json.dumps(schema))(Doc(items=[Line(sku="a", note=None, x=None)]))
    assert orjson.loads(payload) == {"items": [{"sku": "a", "note": None}]}
    assert _valid(schema, payload)


def test_exact_path_writes_integers_beyond_64_bits() -> None:
    class Big(BaseModel):
        n: int
        note: str | None

    schema = {
        "type": "object",
        "required": ["n", "note"],
        "properties": {"n": {"type": "integer"}, "note": {"type": ["string", "null"]}},
    }
    assert needs_exact_path(schema)
    payload = writer_for(Big, json.dumps(schema))(Big(n=-(2**70), note=None))
    assert json.loads(payload) == {"n": -(2**70), "note": None}


class Undeclared(BaseModel):
    a: str
    x: object  # required by the schema but not declared in its properties: any value


UNDECLARED_SCHEMA = {
    "type": "object",
    "required": ["a", "x"],
    "properties": {"a": {"type": "string"}},
}


def test_a_required_name_without_a_declared_schema_keeps_its_null() -> None:
    # Undeclared means any value, null included: dropping it would write an event that
    # misses a required property.
    assert needs_exact_path(UNDECLARED_SCHEMA)
    write = writer_for(Undeclared, json.dumps(UNDECLARED_SCHEMA))
    payload = write(Undeclared(a="y", x=None))
    assert orjson.loads(payload) == {"a": "y", "x": None}
    assert _valid(UNDECLARED_SCHEMA, payload)

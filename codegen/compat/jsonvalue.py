"""JSON value helpers: JSON equality (1 == 1.0, false != 0) and JSON type names."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """The engine's type name of a value; numbers split into ``integer`` and ``float``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema defines it: booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def json_in(value: Any, values: list[Any]) -> bool:
    return any(json_equal(value, v) for v in values)


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")

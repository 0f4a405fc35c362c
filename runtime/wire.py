"""Model -> payload bytes, exactly as the contract allows.

Generated models type an optional property as `X | None = None`, so a producer can set it
to None explicitly; `exclude_unset` would then write `"field": null`, which the schema
rejects when the property does not admit null. The writer chosen here never does that:

- fast path (almost every schema): `exclude_none=True` in pydantic's serializer. Dropping a
  None is right for optional properties (absent and null read the same in generated
  models), and the path is taken only when no required property and no map value admits
  null, where dropping would change the meaning.
- exact path otherwise: dump unset-excluded, then drop None only where the schema says the
  property is optional and not nullable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

Writer = Callable[[BaseModel], bytes]


def _resolve(root: Any, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 50:
        ref: str = node["$ref"]
        if not ref.startswith("#"):
            return {}
        target = root
        for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return {}
            target = target[part]
        node, seen = target, seen + 1
    return node


def admits_null(root: Any, schema: Any) -> bool:
    """Conservative: True unless the schema clearly rejects null."""
    schema = _resolve(root, schema)
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict):
        return False
    if "const" in schema:
        return schema["const"] is None
    if "enum" in schema:
        return None in schema["enum"]
    t = schema.get("type")
    if t is not None:
        return t == "null" or (isinstance(t, list) and "null" in t)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return any(admits_null(root, s) for s in schema[key])
    if "allOf" in schema:
        return all(admits_null(root, s) for s in schema["allOf"])
    return True


def _subschemas(node: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("enum", "const", "examples", "default"):
                continue
            if isinstance(value, dict | list):
                out.append(value)
    elif isinstance(node, list):
        out.extend(v for v in node if isinstance(v, dict | list))
    return out


def needs_exact_path(schema: Any) -> bool:
    """True if dropping every None could remove a value the schema requires or keeps."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")
            props = props if isinstance(props, dict) else {}
            required = node.get("required")
            for name in required if isinstance(required, list) else []:
                # a required name with no schema of its own takes any value, null included
                if admits_null(schema, props.get(name, True)):
                    return True
            # Typed maps (a dict field in the model) whose values may be null.
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and admits_null(schema, extra):
                return True
            patterns = node.get("patternProperties")
            if isinstance(patterns, dict) and any(
                admits_null(schema, v) for v in patterns.values()
            ):
                return True
        stack.extend(_subschemas(node))
    return False


def _strip(root: Any, schema: Any, value: Any) -> Any:
    schema = _resolve(root, schema)
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties", {})
        required = set(schema.get("required", []) or [])
        out = {}
        for key, item in value.items():
            sub = props.get(key)
            if (
                item is None
                and key not in required
                and sub is not None
                and not admits_null(root, sub)
            ):
                continue
            out[key] = _strip(root, sub, item) if sub is not None else item
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_strip(root, schema["items"], v) for v in value]
    return value


def writer_for(model: type[BaseModel], schema_json: str) -> Writer:
    schema = json.loads(schema_json)
    serializer = model.__pydantic_serializer__
    if not needs_exact_path(schema):

        def fast(event: BaseModel) -> bytes:
            return serializer.to_json(event, by_alias=True, exclude_none=True)

        return fast

    def exact(event: BaseModel) -> bytes:
        data = serializer.to_python(event, mode="json", by_alias=True, exclude_unset=True)
        # pydantic_core's encoder, not orjson: JSON integers may exceed 64 bits.
        return to_json(_strip(schema, schema, data))

    return exact

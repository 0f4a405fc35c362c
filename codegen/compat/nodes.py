"""Schema nodes located in their document: ref resolution, conjunctions, type sets."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

from .jsonvalue import escape_pointer, json_equal, json_type

ALL_TYPES = frozenset({"null", "boolean", "object", "array", "string", "integer", "float"})
TYPE_ORDER = ("object", "string", "integer", "float", "boolean", "array", "null")

# Keywords that never change the instance set; they are ignored by every comparison.
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$vocabulary",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "$defs",
        "definitions",
    }
)


@dataclass(frozen=True)
class Doc:
    """One whole schema document; ``role`` is "writer" or "reader"."""

    root: Any
    role: str


@dataclass(frozen=True)
class Node:
    schema: Any
    ptr: str
    doc: Doc

    def child(self, *tokens: str | int) -> Node:
        value = self.schema
        ptr = self.ptr
        for token in tokens:
            value = value[token]
            ptr += "/" + escape_pointer(str(token))
        return Node(value, ptr, self.doc)

    def get(self, key: str, default: Any = None) -> Any:
        if isinstance(self.schema, dict):
            return self.schema.get(key, default)
        return default

    def has(self, key: str) -> bool:
        return isinstance(self.schema, dict) and key in self.schema

    def kw(self, key: str) -> str:
        """Pointer of keyword ``key`` inside this node (the node itself when absent)."""
        return self.ptr + "/" + escape_pointer(key) if self.has(key) else self.ptr


class UnresolvableRef(ValueError):
    pass


def resolve_ref(doc: Doc, ref: str) -> Node:
    """Resolve a local JSON-pointer ref; the loader has already bundled external ones."""
    if not ref.startswith("#"):
        raise UnresolvableRef(f"only local $ref values are supported, got {ref!r}")
    fragment = ref[1:]
    node = Node(doc.root, "", doc)
    if not fragment:
        return node
    if not fragment.startswith("/"):
        raise UnresolvableRef(f"anchor refs are not supported: {ref!r}")
    for raw in fragment[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        token = _unquote(token)
        value = node.schema
        if isinstance(value, list):
            node = node.child(int(token))
        elif isinstance(value, dict) and token in value:
            node = node.child(token)
        else:
            raise UnresolvableRef(f"$ref {ref!r} points nowhere")
    return node


def _unquote(token: str) -> str:
    if "%" not in token:
        return token
    from urllib.parse import unquote

    return unquote(token)


def flatten(nodes: tuple[Node, ...] | list[Node]) -> tuple[Node, ...]:
    """Expand ``$ref`` and ``allOf`` into a flat conjunction (siblings of $ref stay)."""
    out: list[Node] = []
    seen: set[tuple[int, str]] = set()
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        key = (id(node.schema), node.ptr)
        if key in seen:
            continue
        seen.add(key)
        out.append(node)
        if not isinstance(node.schema, dict):
            continue
        extra: list[Node] = []
        if "$ref" in node.schema:
            # writer side: ignoring an unresolvable ref only widens it; readers report it
            with contextlib.suppress(UnresolvableRef):
                extra.append(resolve_ref(node.doc, node.schema["$ref"]))
        for i in range(len(node.schema.get("allOf", ()))):
            extra.append(node.child("allOf", i))
        stack.extend(reversed(extra))
    return tuple(out)


def schema_types(schema: Any) -> frozenset[str]:
    """Types a single schema object admits through ``type``, ``const`` and ``enum``."""
    if schema is False:
        return frozenset()
    if not isinstance(schema, dict):
        return ALL_TYPES
    result = ALL_TYPES
    declared = schema.get("type")
    if declared is not None:
        names = [declared] if isinstance(declared, str) else list(declared)
        allowed: set[str] = set()
        for name in names:
            if name == "number":
                allowed |= {"integer", "float"}
            else:
                allowed.add(name)
        result = result & frozenset(allowed)
    if "const" in schema:
        result = result & frozenset({json_type(schema["const"])})
    if isinstance(schema.get("enum"), list):
        result = result & frozenset(json_type(v) for v in schema["enum"])
    if "float" in result:
        step: Any = schema.get("multipleOf")
        if _is_num(step) and float(step).is_integer():  # multiples of an integer are integers
            result = result - {"float"}
    return result


def conj_types(conj: tuple[Node, ...]) -> frozenset[str]:
    result = ALL_TYPES
    for node in conj:
        result = result & schema_types(node.schema)
    return result


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_num(value: Any) -> bool:
    return _is_num(value)


def strip_annotations(schema: Any) -> Any:
    """A schema with annotation-only keywords removed (for equality fast paths)."""
    if isinstance(schema, dict):
        return {k: _strip_child(k, v) for k, v in schema.items() if k not in ANNOTATIONS}
    return schema


_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
    }
)


def _strip_child(key: str, value: Any) -> Any:
    if key in _SCHEMA_MAPS and isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items()}
    if key in _SCHEMA_LISTS and isinstance(value, list):
        return [strip_annotations(v) for v in value]
    if key in _SCHEMA_ONE:
        return strip_annotations(value)
    return value


def trivially_true(schema: Any) -> bool:
    """True for ``true`` and for objects carrying annotations only."""
    if schema is True:
        return True
    return isinstance(schema, dict) and all(k in ANNOTATIONS for k in schema)


_STRING = frozenset({"string"})
_NUMBER = frozenset({"integer", "float"})
_ARRAY = frozenset({"array"})
_OBJECT = frozenset({"object"})
KEYWORD_TYPES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("minLength", "maxLength", "pattern"), _STRING),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _NUMBER
    ),
    **dict.fromkeys(
        (
            "items",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "minItems",
            "maxItems",
            "uniqueItems",
            "unevaluatedItems",
        ),
        _ARRAY,
    ),
    **dict.fromkeys(
        (
            "properties",
            "patternProperties",
            "additionalProperties",
            "required",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        ),
        _OBJECT,
    ),
}


class Equality:
    """Structural equality of two nodes (annotations ignored, refs followed, cycles ok)."""

    def __init__(self, *, type_aware: bool = False) -> None:
        self._assumed: set[tuple[int, int]] = set()
        # Keywords for types a schema excludes never apply (strict JSON Schema); the
        # generated models do apply some across types, so runtime keeps them.
        self._type_aware = type_aware

    def _keys(self, schema: dict[str, Any]) -> set[str]:
        keys = {k for k in schema if k not in ANNOTATIONS}
        if self._type_aware and "type" in schema:
            types = schema_types({"type": schema["type"]})
            keys = {k for k in keys if KEYWORD_TYPES.get(k, types) & types}
        return keys

    def nodes(self, a: Node, b: Node) -> bool:
        return self._schemas(a.schema, a.doc, b.schema, b.doc)

    def _schemas(self, a: Any, da: Doc, b: Any, db: Doc) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            if trivially_true(a) and trivially_true(b):
                return True
            return a is False and b is False
        if not isinstance(a, dict) or not isinstance(b, dict):
            return False
        key = (id(a), id(b))
        if key in self._assumed:
            return True
        self._assumed.add(key)
        keys_a = self._keys(a)
        keys_b = self._keys(b)
        if keys_a != keys_b:
            return False
        for k in keys_a:
            va, vb = a[k], b[k]
            if k == "$ref":
                try:
                    ta, tb = resolve_ref(da, va), resolve_ref(db, vb)
                except UnresolvableRef:
                    if va != vb:
                        return False
                    continue
                if not self._schemas(ta.schema, da, tb.schema, db):
                    return False
            elif k in _SCHEMA_MAPS:
                if not isinstance(va, dict) or not isinstance(vb, dict) or va.keys() != vb.keys():
                    return False
                if not all(self._schemas(va[n], da, vb[n], db) for n in va):
                    return False
            elif k in _SCHEMA_LISTS:
                if not isinstance(va, list) or not isinstance(vb, list) or len(va) != len(vb):
                    return False
                if not all(self._schemas(x, da, y, db) for x, y in zip(va, vb, strict=True)):
                    return False
            elif k in _SCHEMA_ONE:
                if not self._schemas(va, da, vb, db):
                    return False
            elif not json_equal(va, vb):
                return False
        return True


def int_bounds(lo: tuple[float, bool] | None, hi: tuple[float, bool] | None) -> tuple[float, float]:
    """Inclusive integer bounds from real bounds (value, exclusive)."""
    low = -math.inf
    high = math.inf
    if lo is not None:
        low = math.floor(lo[0]) + 1 if lo[1] else math.ceil(lo[0])
    if hi is not None:
        high = math.ceil(hi[0]) - 1 if hi[1] else math.floor(hi[0])
    return float(low), float(high)

"""Structural equality of two located schemas: a fast proof that they accept the same
instances (annotations ignored, refs followed, cycles assumed equal while proving)."""

from __future__ import annotations

from typing import Any

from .jsonvalue import json_equal, json_in
from .nodes import (
    ANNOTATIONS,
    KEYWORD_TYPES,
    REF_KEYWORDS,
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    SCHEMA_ONE,
    Node,
    UnresolvableRef,
    canonical,
    resolve_ref,
    schema_types,
    trivially_false,
    trivially_true,
)

# Pairs already being compared, keyed by the nodes' stable keys (never by id()).
Key = tuple[tuple[str, str, str], tuple[str, str, str]]


def deref(node: Node) -> Node:
    """Follow a schema that is nothing but a ref (plus annotations) to its target, and
    unwrap ``not: {not: X}`` and a lone ``allOf: [X]`` to X."""
    for _ in range(16):
        schema = node.schema
        if not isinstance(schema, dict):
            return node
        keys = [k for k in schema if k not in ANNOTATIONS]
        if len(keys) != 1:
            return node
        (key,) = keys
        if key in REF_KEYWORDS:
            try:
                node = resolve_ref(node.doc, schema[key])
            except UnresolvableRef:
                return node
        elif key == "not" and isinstance(schema["not"], dict) and _only(schema["not"], "not"):
            node = node.child("not", "not")
        elif key == "allOf" and isinstance(schema["allOf"], list) and len(schema["allOf"]) == 1:
            node = node.child("allOf", 0)
        else:
            return node
    return node


def _only(schema: dict[str, Any], key: str) -> bool:
    return key in schema and all(k in ANNOTATIONS or k == key for k in schema)


def _vacuous(key: str, value: Any) -> bool:
    """A keyword that constrains nothing: allOf of true, anyOf with a true branch, not of
    an empty schema."""
    if key == "allOf" and isinstance(value, list):
        return all(trivially_true(v) for v in value)
    if key == "anyOf" and isinstance(value, list):
        return any(trivially_true(v) for v in value)
    return key == "not" and trivially_false(value)


# What the model generator drops before it runs (codegen/render/models.py): two schemas
# that differ only in these generate the same model.
GENERATOR_IGNORED = frozenset(
    {"title", "description", "$comment", "examples", "$id", "deprecated", "readOnly", "writeOnly"}
)


def same_model(a: Node, b: Node, seen: set[Key] | None = None) -> bool:
    """Runtime equality: the generator would see the same schema text (its ignored
    annotations aside) and the same ref targets, so it emits the same model. Equivalent
    but differently written schemas can generate different models, so nothing is
    normalised here."""
    seen = set() if seen is None else seen
    if (a.key, b.key) in seen:
        return True
    seen.add((a.key, b.key))
    sa, sb = a.schema, b.schema
    if isinstance(sa, dict) and isinstance(sb, dict):
        # fast path: byte-equal JSON (1, 1.0 and true stay distinct) without refs
        text = canonical(a)
        if "$ref" not in text and "$dynamicRef" not in text and text == canonical(b):
            return True
    if not isinstance(sa, dict) or not isinstance(sb, dict):
        return type(sa) is type(sb) and json_equal(sa, sb)
    keys = {k for k in sa if k not in GENERATOR_IGNORED}
    if keys != {k for k in sb if k not in GENERATOR_IGNORED}:
        return False
    for k in keys:
        va, vb = sa[k], sb[k]
        if k in REF_KEYWORDS:
            if va != vb:
                return False
            try:
                ta, tb = resolve_ref(a.doc, va), resolve_ref(b.doc, vb)
            except UnresolvableRef:
                continue
            if not same_model(ta, tb, seen):
                return False
        elif k in SCHEMA_MAPS and k not in ("$defs", "definitions"):
            if not isinstance(va, dict) or not isinstance(vb, dict) or list(va) != list(vb):
                return False
            if not all(same_model(a.child(k, n), b.child(k, n), seen) for n in va):
                return False
        elif k in SCHEMA_LISTS:
            if not isinstance(va, list) or not isinstance(vb, list) or len(va) != len(vb):
                return False
            if not all(same_model(a.child(k, i), b.child(k, i), seen) for i in range(len(va))):
                return False
        elif k in SCHEMA_ONE:
            if not same_model(a.child(k), b.child(k), seen):
                return False
        elif k not in ("$defs", "definitions") and not (
            type(va) is type(vb) and json_equal(va, vb)
        ):
            return False
    return True


class Equality:
    """``nodes(a, b)`` is True only when a and b provably accept the same instances."""

    def __init__(self, *, type_aware: bool = False) -> None:
        self._assumed: set[Key] = set()
        # Keywords for types a schema excludes never apply (strict JSON Schema); the
        # generated models do apply some across types, so runtime keeps them.
        self._type_aware = type_aware

    def _keys(self, schema: dict[str, Any]) -> set[str]:
        keys = {k for k in schema if k not in ANNOTATIONS and not _vacuous(k, schema[k])}
        if self._type_aware and "type" in schema:
            types = schema_types({"type": schema["type"]})
            keys = {k for k in keys if KEYWORD_TYPES.get(k, types) & types}
        return keys

    def nodes(self, a: Node, b: Node) -> bool:
        a, b = deref(a), deref(b)
        sa, sb = a.schema, b.schema
        if not isinstance(sa, dict) or not isinstance(sb, dict):
            if trivially_true(sa) and trivially_true(sb):
                return True
            return trivially_false(sa) and trivially_false(sb)
        key = (a.key, b.key)
        if key in self._assumed:
            return True  # a recursive pair: assumed while it is being proved
        self._assumed.add(key)
        keys = self._keys(sa)
        if keys != self._keys(sb):
            return trivially_true(sa) and trivially_true(sb)
        return all(self._keyword(k, a, b) for k in keys)

    def _keyword(self, k: str, a: Node, b: Node) -> bool:
        va, vb = a.schema[k], b.schema[k]
        if k in REF_KEYWORDS:
            try:
                ta, tb = resolve_ref(a.doc, va), resolve_ref(b.doc, vb)
            except UnresolvableRef:
                return bool(va == vb)
            return self.nodes(ta, tb)
        if k == "type":
            return schema_types({"type": va}) == schema_types({"type": vb})
        if k == "enum" and isinstance(va, list) and isinstance(vb, list):
            return all(json_in(v, vb) for v in va) and all(json_in(v, va) for v in vb)
        if k in SCHEMA_MAPS:
            if not isinstance(va, dict) or not isinstance(vb, dict) or va.keys() != vb.keys():
                return False
            return all(self.nodes(a.child(k, n), b.child(k, n)) for n in va)
        if k in SCHEMA_LISTS:
            if not isinstance(va, list) or not isinstance(vb, list) or len(va) != len(vb):
                return False
            return all(self.nodes(a.child(k, i), b.child(k, i)) for i in range(len(va)))
        if k in SCHEMA_ONE:
            return self.nodes(a.child(k), b.child(k))
        return json_equal(va, vb)

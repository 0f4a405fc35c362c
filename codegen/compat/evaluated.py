"""What ``unevaluatedItems`` / ``unevaluatedProperties`` of a schema apply to.

Both keywords see the annotations of the schema's own in-place applicators (``allOf``,
``$ref``, ``anyOf``, ``oneOf``, ``if/then/else``, ``dependentSchemas``), never those of
its siblings in an enclosing schema. When the evaluated set does not depend on the
instance (only ``allOf``/``$ref`` contribute, or the conditional parts evaluate nothing),
the keyword is equivalent to a plain ``items`` after a fixed prefix or an
``additionalProperties`` after fixed names and patterns; the engine then judges it like
those. Otherwise the caller reports that compatibility could not be proved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .nodes import REF_KEYWORDS, Node, UnresolvableRef, resolve_ref

_LIMIT = 256
_CONDITIONAL = ("anyOf", "oneOf", "if", "then", "else", "dependentSchemas")
_ITEM_KEYWORDS = ("prefixItems", "items", "contains", "unevaluatedItems")
_PROPERTY_KEYWORDS = (
    "properties",
    "patternProperties",
    "additionalProperties",
    "unevaluatedProperties",
)


def _closure(n: Node) -> list[Node]:
    """``n`` and what ``allOf`` and refs apply in place, unconditionally."""
    out: list[Node] = []
    seen: set[tuple[str, str, str]] = set()
    stack = [n]
    while stack and len(out) < _LIMIT:
        m = stack.pop()
        if m.key in seen or not isinstance(m.schema, dict):
            continue
        seen.add(m.key)
        out.append(m)
        for key in REF_KEYWORDS:
            if key in m.schema:
                try:
                    stack.append(resolve_ref(m.doc, m.schema[key]))
                except UnresolvableRef:
                    continue
        stack.extend(m.child("allOf", i) for i in range(len(m.get("allOf") or [])))
    return out


def _conditional_parts(m: Node) -> list[Node]:
    """The schemas ``m`` applies in place depending on the instance (anyOf, oneOf,
    if/then/else, dependentSchemas), with everything they apply in place in turn."""
    out: list[Node] = []
    stack: list[Node] = []
    seen: set[tuple[str, str, str]] = set()

    def push_conditionals(x: Node) -> None:
        for key in _CONDITIONAL:
            value = x.get(key)
            if key in ("anyOf", "oneOf") and isinstance(value, list):
                stack.extend(x.child(key, i) for i in range(len(value)))
            elif key == "dependentSchemas" and isinstance(value, dict):
                stack.extend(x.child(key, name) for name in value)
            elif key in ("if", "then", "else") and x.has(key):
                stack.append(x.child(key))

    push_conditionals(m)
    while stack and len(out) < _LIMIT:
        for part in _closure(stack.pop()):
            if part.key in seen:
                continue
            seen.add(part.key)
            out.append(part)
            push_conditionals(part)
    return out


def _static(n: Node, keywords: tuple[str, ...]) -> list[Node] | None:
    """The members that evaluate for ``n`` when that is instance-independent, else None."""
    members = _closure(n)
    if len(members) >= _LIMIT:
        return None  # too large to be sure: instance-dependent as far as we know
    for m in members:
        parts = _conditional_parts(m)
        if len(parts) >= _LIMIT or any(p.has(k) for p in parts for k in keywords):
            return None
    return members


def evaluated_prefix(n: Node, *, runtime: bool = False) -> float | None:
    """How many leading array items the in-place applicators of ``n`` evaluate (inf: all
    of them); None when that depends on the instance (``contains``, conditionals).

    ``runtime``: a generated reader model reads unevaluatedItems as ``items`` after the
    schema's own prefixItems; allOf/$ref members do not count (stricter than the spec)."""
    if runtime and n.doc.role == "reader":
        return math.inf if n.has("items") else float(len(n.get("prefixItems") or []))
    members = _static(n, _ITEM_KEYWORDS)
    if members is None:
        return None
    prefix = 0.0
    for m in members:
        if m.has("contains"):
            return None  # contains evaluates exactly the items that match
        if m.has("items") or (m.key != n.key and m.has("unevaluatedItems")):
            return math.inf
        prefix = max(prefix, float(len(m.get("prefixItems") or [])))
    return prefix


@dataclass(frozen=True)
class PropertyScope:
    """Names and patterns the in-place applicators of a schema evaluate; ``everything``
    when one of them has additionalProperties or its own unevaluatedProperties."""

    names: frozenset[str]
    patterns: frozenset[str]
    everything: bool


def property_scope(n: Node, *, runtime: bool = False) -> PropertyScope | None:
    """``runtime``: a generated reader model closes over the schema's own properties."""
    if runtime and n.doc.role == "reader":
        props, found = n.get("properties"), n.get("patternProperties")
        return PropertyScope(
            frozenset(props) if isinstance(props, dict) else frozenset(),
            frozenset(found) if isinstance(found, dict) else frozenset(),
            n.has("additionalProperties"),
        )
    members = _static(n, _PROPERTY_KEYWORDS)
    if members is None:
        return None
    names: set[str] = set()
    patterns: set[str] = set()
    everything = False
    for m in members:
        props = m.get("properties")
        names |= set(props) if isinstance(props, dict) else set()
        found = m.get("patternProperties")
        patterns |= set(found) if isinstance(found, dict) else set()
        if m.has("additionalProperties") or (m.key != n.key and m.has("unevaluatedProperties")):
            everything = True
    return PropertyScope(frozenset(names), frozenset(patterns), everything)

"""Which JSON types a writer conjunction can really produce.

Contradictory constraints (minLength above maxLength, an empty number range, a required
property that is forbidden, ...) empty a type; an empty writer is a subset of anything.
"""

from __future__ import annotations

import math

from .nodes import Node, conj_types, int_bounds, is_num

_TYPE_NAMES = {"number": {"integer", "float"}}


def _negated_types(a: tuple[Node, ...]) -> set[str]:
    """Types excluded by ``not: {"type": ...}`` (the only negation read on the writer side)."""
    out: set[str] = set()
    for n in a:
        negated = n.get("not")
        if isinstance(negated, dict) and set(negated) == {"type"}:
            declared = negated["type"]
            for name in [declared] if isinstance(declared, str) else list(declared):
                out |= _TYPE_NAMES.get(name, {name})
    return out


def _nums(a: tuple[Node, ...], key: str) -> list[float]:
    return [n.schema[key] for n in a if is_num(n.get(key))]


def number_range(
    a: tuple[Node, ...],
) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    lo: tuple[float, bool] | None = None
    hi: tuple[float, bool] | None = None
    for n in a:
        for key, excl in (("minimum", False), ("exclusiveMinimum", True)):
            value = n.get(key)
            if is_num(value) and (lo is None or (value, excl) > lo):
                lo = (value, excl)
        for key, excl in (("maximum", False), ("exclusiveMaximum", True)):
            value = n.get(key)
            if is_num(value) and (hi is None or (-value, excl) > (-hi[0], hi[1])):
                hi = (value, excl)
    return lo, hi


def live_types(a: tuple[Node, ...]) -> frozenset[str]:
    types = set(conj_types(a)) - _negated_types(a)
    if "string" in types and max(_nums(a, "minLength"), default=0) > min(
        _nums(a, "maxLength"), default=math.inf
    ):
        types.discard("string")
    lo, hi = number_range(a)
    if "integer" in types:
        low, high = int_bounds(lo, hi)
        if low > high:
            types.discard("integer")
    if (
        "float" in types
        and lo is not None
        and hi is not None
        and (lo[0] > hi[0] or (lo[0] == hi[0] and (lo[1] or hi[1] or float(lo[0]).is_integer())))
    ):
        types.discard("float")
    if "array" in types and max(_nums(a, "minItems"), default=0) > min(
        _nums(a, "maxItems"), default=math.inf
    ):
        types.discard("array")
    if "object" in types and _object_empty(a):
        types.discard("object")
    return frozenset(types)


def _object_empty(a: tuple[Node, ...]) -> bool:
    if max(_nums(a, "minProperties"), default=0) > min(_nums(a, "maxProperties"), default=math.inf):
        return True
    required = {r for n in a for r in (n.get("required") or []) if isinstance(r, str)}
    grew = True
    while grew:  # a required property's dependentRequired names are required too
        grew = False
        for n in a:
            deps = n.get("dependentRequired")
            for key, more in deps.items() if isinstance(deps, dict) else ():
                if key in required and isinstance(more, list):
                    extra = {m for m in more if isinstance(m, str)} - required
                    if extra:
                        required |= extra
                        grew = True
    for n in a:
        props = n.get("properties")
        props = props if isinstance(props, dict) else {}
        closed = n.get("additionalProperties") is False and not n.get("patternProperties")
        for name in required:
            if props.get(name) is False or (closed and name not in props):
                return True
    return False

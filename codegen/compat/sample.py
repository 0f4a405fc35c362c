"""Heuristic instance builders for witnesses: values a schema likely accepts or rejects.

Nothing here needs to be right: every witness is verified with jsonschema before it is
attached, and a wrong guess only costs the witness, never the finding.
"""

from __future__ import annotations

import math
from typing import Any

from .jsonvalue import json_in, json_type
from .nodes import TYPE_ORDER, Node, conj_types, flatten, is_num, synthetic

MAX_DEPTH = 6
FORMAT_SAMPLES = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/x",
    "iri": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "json-pointer": "/a",
    "regex": "a",
}
TYPICAL: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "object": {},
    "array": [],
    "string": "x",
    "integer": 0,
    "float": 0.5,
}


def _numbers(conj: tuple[Node, ...], key: str) -> list[float]:
    return [n.schema[key] for n in conj if isinstance(n.schema, dict) and is_num(n.get(key))]


def _enum(conj: tuple[Node, ...]) -> list[Any] | None:
    result: list[Any] | None = None
    for n in conj:
        if not isinstance(n.schema, dict):
            continue
        if "const" in n.schema:
            options = [n.schema["const"]]
        elif isinstance(n.schema.get("enum"), list):
            options = n.schema["enum"]
        else:
            continue
        result = list(options) if result is None else [v for v in result if json_in(v, options)]
    return result


# Samples are heuristics for witnesses: a budget of recursive steps per call keeps a schema
# with many nested unions from making the search exponential (the fuzzer found one).
BUDGET = 400


class _Budget:
    def __init__(self) -> None:
        self.left = BUDGET

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def sample_candidates(conj: tuple[Node, ...], want: str | None = None) -> list[Any]:
    """A few values that probably satisfy ``conj`` (first ones are the most likely)."""
    return _sample(flatten(conj), want, 0, _Budget())


def first_sample(conj: tuple[Node, ...]) -> Any:
    found = sample_candidates(conj)
    return found[0] if found else None


def _sample(conj: tuple[Node, ...], want: str | None, depth: int, budget: _Budget) -> list[Any]:
    if any(n.schema is False for n in conj) or not budget.spend():
        return []
    for n in conj:
        keyword = "anyOf" if n.has("anyOf") else "oneOf" if n.has("oneOf") else None
        if keyword is None or not isinstance(n.get(keyword), list) or depth > MAX_DEPTH:
            continue
        # sample one alternative at a time (the node without the keyword plus a branch)
        rest = tuple(x for x in conj if x is not n)
        bare = synthetic({k: v for k, v in n.schema.items() if k != keyword}, n)
        found: list[Any] = []
        for i in range(min(len(n.schema[keyword]), 3)):
            branch = flatten((*rest, bare, n.child(keyword, i)))
            found += _sample(branch, want, depth + 1, budget)[:2]
        return found
    types = conj_types(conj)
    enum = _enum(conj)
    if enum is not None:
        return [v for v in enum if want is None or json_type(v) == want][:3]
    out: list[Any] = []
    if want is None and depth == 0:
        for n in conj:
            for example in n.get("examples", []) or []:
                out.append(example)
    order = [want] if want else [t for t in TYPE_ORDER if t in types]
    for t in order:
        if t not in types:
            continue
        out.append(_typed(conj, t, depth, budget))
    return out


def _typed(conj: tuple[Node, ...], t: str, depth: int, budget: _Budget) -> Any:
    if t == "string":
        length = int(max(_numbers(conj, "minLength"), default=1))
        fmt = next((n.get("format") for n in conj if n.has("format")), None)
        if isinstance(fmt, str) and fmt in FORMAT_SAMPLES:
            return FORMAT_SAMPLES[fmt]
        return "x" * length
    if t in ("integer", "float"):
        return _number(conj, t == "integer")
    if t == "array":
        if depth > MAX_DEPTH:
            return []
        count = int(max(_numbers(conj, "minItems"), default=0))
        items: list[Any] = []
        for i in range(count):
            found = _sample(item_conj(conj, i), None, depth + 1, budget)
            items.append(found[0] if found else None)
        return items
    if t == "object":
        if depth > MAX_DEPTH:
            return {}
        obj: dict[str, Any] = {}
        for name in required_names(conj):
            found = _sample(prop_conj(conj, name), None, depth + 1, budget)
            if found:
                obj[name] = found[0]
        return obj
    return TYPICAL[t]


def _number(conj: tuple[Node, ...], integer: bool) -> float | int:
    low = max(
        [
            *_numbers(conj, "minimum"),
            *[x + (1 if integer else 0.5) for x in _numbers(conj, "exclusiveMinimum")],
        ],
        default=-math.inf,
    )
    high = min(
        [
            *_numbers(conj, "maximum"),
            *[x - (1 if integer else 0.5) for x in _numbers(conj, "exclusiveMaximum")],
        ],
        default=math.inf,
    )
    step = next(iter(_numbers(conj, "multipleOf")), None)
    value: float = 0 if integer else 0.5
    if value < low:
        value = low
    if value > high:
        value = high
    if step:
        value = math.ceil(value / step) * step
    if integer:
        return math.ceil(value) if math.isfinite(value) else 0
    if float(value).is_integer() and not step:
        value = value + 0.5 if value + 0.5 <= high else value - 0.5
    return value


def item_conj(conj: tuple[Node, ...], index: int) -> tuple[Node, ...]:
    """The schemas item ``index`` of an array must satisfy (never empty: ``true`` at the
    conjunction's location when nothing constrains it)."""
    from .evaluated import evaluated_prefix

    out: list[Node] = []
    for n in conj:
        prefix = n.get("prefixItems")
        if isinstance(prefix, list) and index < len(prefix):
            out.append(n.child("prefixItems", index))
        elif n.has("items"):
            out.append(n.child("items"))
        elif n.has("unevaluatedItems"):
            evaluated = evaluated_prefix(n)
            if evaluated is not None and index >= evaluated:
                out.append(n.child("unevaluatedItems"))
    if not out and conj:
        return (synthetic(True, conj[0]),)
    return flatten(out)


def prop_conj(conj: tuple[Node, ...], name: str) -> tuple[Node, ...]:
    """Schemas property ``name`` must satisfy (an over-approximation: properties,
    matching patternProperties, else additionalProperties; empty when unconstrained)."""
    from codegen.validation import search

    out: list[Node] = []
    for n in conj:
        props = n.get("properties")
        patterns = n.get("patternProperties")
        matched = False
        if isinstance(props, dict) and name in props:
            out.append(n.child("properties", name))
            matched = True
        for pattern in patterns if isinstance(patterns, dict) else {}:
            if search(pattern, name):
                out.append(n.child("patternProperties", pattern))
                matched = True
        if not matched and n.has("additionalProperties"):
            out.append(n.child("additionalProperties"))
    return flatten(out)


def required_names(conj: tuple[Node, ...]) -> list[str]:
    names: list[str] = []
    for n in conj:
        for name in n.get("required", []) or []:
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


_COUNTER_ORDER = ("integer", "string", "null", "boolean", "float", "array", "object")


def counter_samples(node: Node) -> list[Any]:
    """Values that probably violate ``node``: other types first, then boundary values."""
    from .emptiness import live_types

    conj = flatten((node,))
    types = live_types(conj)
    out: list[Any] = []
    if _enum(conj) is not None:  # a value of an allowed type that is not listed
        out += [{"string": "not-listed", "integer": 987654321}.get(t) for t in sorted(types)]
        out = [v for v in out if v is not None]
    # scalars first: a wrong-typed scalar makes the clearest example
    out += [TYPICAL[t] for t in _COUNTER_ORDER if t not in types]
    max_len = _numbers(conj, "maxLength")
    if max_len:
        out.append("x" * (int(min(max_len)) + 1))
    if _numbers(conj, "minLength") or any(n.has("pattern") or n.has("format") for n in conj):
        out += ["", "x", "not a valid value"]
    for key, delta in (("minimum", -1), ("maximum", 1), ("exclusiveMinimum", 0)):
        out += [x + delta for x in _numbers(conj, key)]
    out += [x for x in _numbers(conj, "exclusiveMaximum")]
    if _numbers(conj, "multipleOf"):
        out += [1, 0.5]
    out += [[], [None], {}, {"": None}, 1.5, -1]
    return out

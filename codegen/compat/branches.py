"""Writer-side structure: emptiness, small finite value sets, and the distribution of
anyOf/oneOf/if-then-else into branches."""

from __future__ import annotations

import math
from typing import Any

from . import scalars
from .checker import Checker, Conj
from .emptiness import live_types
from .jsonvalue import json_in, json_type
from .nodes import Node, conj_types, flatten, int_bounds, trivially_true

MAX_BRANCHES = 64


def is_empty(a: Conj) -> bool:
    """Provably no instance: a false member, no common type, or no common enum value."""
    if any(n.schema is False or (n.has("not") and trivially_true(n.get("not"))) for n in a):
        return True
    if not live_types(a):
        return True
    values = _enum_values(a)
    return values is not None and not values


def _enum_values(a: Conj) -> list[Any] | None:
    result: list[Any] | None = None
    for n in a:
        if not isinstance(n.schema, dict):
            continue
        if "const" in n.schema:
            options = [n.schema["const"]]
        elif isinstance(n.schema.get("enum"), list):
            options = list(n.schema["enum"])
        else:
            continue
        result = options if result is None else [v for v in result if json_in(v, options)]
    if result is None:
        return None
    types = conj_types(a)
    return [v for v in result if json_type(v) in types]


def finite_values(ch: Checker, a: Conj) -> list[Any] | None:
    """The writer's values when the set is small and known (enum, const, null, boolean,
    a short integer range), filtered by the writer's other constraints."""
    values = _enum_values(a)
    types = conj_types(a)
    if values is None:
        if types <= {"null", "boolean"}:
            values = ([None] if "null" in types else []) + (
                [False, True] if "boolean" in types else []
            )
        elif types and types <= {"integer", "float"} and _single_number(a) is not None:
            values = [_single_number(a)]
        elif types == {"integer"}:
            low, high = int_bounds(*scalars.number_range(a))
            if not (math.isfinite(low) and math.isfinite(high) and high - low <= 64):
                return None
            values = list(range(int(low), int(high) + 1))
        else:
            return None
    strict_nodes = [n for n in a if not scalars.is_simple_node(n)]
    if strict_nodes:
        values = [v for v in values if all(ch.validates(v, n, unknown=True) for n in strict_nodes)]
    return values


def expand(a: Conj) -> list[Conj]:
    """Distribute the writer's anyOf/oneOf/if-then-else into branches (over-approximate:
    a oneOf is read as anyOf; past MAX_BRANCHES the rest is dropped, which only makes the
    writer larger and so stays sound)."""
    done: set[tuple[str, str, str]] = set()
    work: list[Conj] = [a]
    out: list[Conj] = []
    while work:
        conj = work.pop()
        target = None
        for n in conj:
            if n.key in done or not isinstance(n.schema, dict):
                continue
            if "anyOf" in n.schema or "oneOf" in n.schema or "if" in n.schema:
                target = n
                break
        if target is None:
            out.append(conj)
            continue
        done.add(target.key)
        alternatives = _alternatives(target)
        if len(out) + len(work) + len(alternatives) > MAX_BRANCHES:
            work.append(conj)
            continue
        for alt in alternatives:
            work.append(flatten((*conj, *alt)))
    return out


def _alternatives(n: Node) -> list[Conj]:
    s = n.schema
    groups: list[list[Conj]] = []
    for keyword in ("anyOf", "oneOf"):
        if isinstance(s.get(keyword), list):
            groups.append([(n.child(keyword, i),) for i in range(len(s[keyword]))])
    if "if" in s:
        then = (n.child("if"), n.child("then")) if "then" in s else (n.child("if"),)
        other = (n.child("else"),) if "else" in s else ()
        groups.append([then, other])
    combos: list[Conj] = [()]
    for group in groups:
        combos = [(*c, *g) for c in combos for g in group]
    return combos


def _single_number(a: Conj) -> float | None:
    lo, hi = scalars.number_range(a)
    if lo is not None and hi is not None and lo == hi and not lo[1]:
        return lo[0]
    return None

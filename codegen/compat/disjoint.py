"""Provable disjointness of two schemas (used for oneOf exclusivity, not, if)."""

from __future__ import annotations

from .checker import Checker, Conj
from .emptiness import live_types
from .nodes import conj_types, flatten
from .sample import prop_conj, required_names


def provably_disjoint(ch: Checker, x: Conj, y: Conj, depth: int = 0) -> bool:
    """True only when no instance can satisfy both; False means "not proved"."""
    from .branches import expand, finite_values

    x, y = flatten(x), flatten(y)
    if not (conj_types(x) & conj_types(y)) or ch.empty(x) or ch.empty(y):
        return True
    # look through anyOf/oneOf/if: disjoint when every pair of branches has no common type
    if all(not (live_types(p) & live_types(q)) for p in expand(x) for q in expand(y)):
        return True
    if depth > 4:
        return False
    for one, other in ((x, y), (y, x)):
        values = finite_values(ch, one)
        if (
            values is not None
            and len(values) <= 64
            and all(not all(ch.validates(v, n, unknown=True) for n in other) for v in values)
        ):
            return True
    if "object" in conj_types(x) & conj_types(y):
        only_objects = conj_types(x) == {"object"} or conj_types(y) == {"object"}
        if only_objects:
            for name in {*required_names(x), *required_names(y)}:
                px, py = prop_conj(x, name), prop_conj(y, name)
                if px and py and provably_disjoint(ch, px, py, depth + 1):
                    return True
    return False

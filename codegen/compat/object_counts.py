"""Object rules for property counts (min/maxProperties) and dependentRequired /
dependentSchemas."""

from __future__ import annotations

from typing import Any

from . import rules
from .checker import Checker, Conj, Path
from .content import closed_names, is_empty_slot, props, writer_closed
from .nodes import Node, is_num, synthetic
from .sample import counter_samples, first_sample
from .scalars import check_bounds
from .text import where

_COUNTS = ("minProperties", "maxProperties")


def check_counts(
    ch: Checker, a: Conj, b: Node, path: Path, required: set[str], names: set[str]
) -> None:
    if not any(is_num(b.get(k)) for k in _COUNTS):
        return  # check_bounds judges only against a bound the reader sets
    derived: dict[str, float] = {"minProperties": float(len(required))}
    for n in a:
        allowed = closed_names(ch, n)
        if allowed is not None:
            count = float(len(allowed))
            derived["maxProperties"] = min(derived.get("maxProperties", count), count)

    def sized(keyword: str, limit: float) -> list[Any]:
        base = first_sample(a)
        if not isinstance(base, dict):
            return []
        if keyword == "minProperties":
            return [dict(list(base.items())[: max(int(limit) - 1, 0)])]
        grown = dict(base)
        i = 0
        while len(grown) <= limit and i < 1000:
            grown.setdefault(f"p{i}", None)
            i += 1
        return [grown]

    counted = a
    plain_dict = len(a) == 1 and not props(a[0]) and not a[0].has("required")
    if ch.runtime and not plain_dict:
        # A generated writer model class (declared or required names, merged allOf/$ref
        # members) neither enforces min/maxProperties nor keeps undeclared keys, so only
        # its declared required fields and (closed) its declared fields bound the count;
        # a plain dict model enforces both. Readers are judged as if they counted.
        counted = (synthetic({}, a[0]),)
        derived.pop("maxProperties", None)
        if writer_closed(ch, a):
            fields = {k for n in a for k in props(n)}
            fields |= {r for n in a for r in n.get("required", []) or [] if isinstance(r, str)}
            derived["maxProperties"] = float(len(fields))
    check_bounds(ch, counted, b, path, _COUNTS, derived, sized)


def _with_names(base: Any, names: list[str], a_slot: Any) -> Any:
    """A writer object with ``names`` present (each from its own slot's sample)."""
    out = dict(base) if isinstance(base, dict) else {}
    for name in names:
        if name not in out:
            out[name] = first_sample(a_slot(name)[0])
    return out


def _dependent_candidates(
    base: Any, key: str, mine: list[Node], wanted: Node, a_slot: Any
) -> list[Any]:
    """Writer objects with ``key`` present, varied where the reader's dependent schema
    constrains them (its properties get wrong values, its required names go missing)."""
    names = [r for m in mine for r in m.get("required", []) or [] if isinstance(r, str)]
    obj = _with_names(base, [key, *names], a_slot)
    out = [obj]
    for name in props(wanted):
        out += [{**obj, name: bad} for bad in counter_samples(wanted.child("properties", name))[:3]]
    for name in wanted.get("required", []) or []:
        out.append({k: v for k, v in obj.items() if k != name})
    return out


def check_dependencies(
    ch: Checker, a: Conj, b: Node, path: Path, required: set[str], a_slot: Any, base: Any
) -> None:
    deps = b.get("dependentRequired")
    if isinstance(deps, dict) and not ch.ignored("dependentRequired"):
        for key, needed in deps.items():
            if isinstance(needed, list) and not is_empty_slot(list(a_slot(key)[0])):
                check_dependent_required(ch, a, b, path, (key, needed), required, a_slot, base)
    schemas = b.get("dependentSchemas")
    if isinstance(schemas, dict):
        for key in schemas:
            if not is_empty_slot(list(a_slot(key)[0])):
                check_dependent_schemas(ch, a, b, path, key, a_slot, base)


def check_dependent_required(
    ch: Checker,
    a: Conj,
    b: Node,
    path: Path,
    entry: tuple[str, list[Any]],
    required: set[str],
    a_slot: Any,
    base: Any,
) -> None:
    """One reader dependentRequired entry: when ``key`` is present the writer must have
    the needed names (required, or by its own entry for ``key``)."""
    key, needed = entry
    have = set(required)
    mine = [
        n
        for n in a
        if isinstance(n.get("dependentRequired"), dict) and key in n.get("dependentRequired")
    ]
    for n in mine:
        have |= set(n.get("dependentRequired")[key])
    missing = [x for x in needed if x not in have]
    if not missing:
        return
    writer, reader = ch.labels()
    rule = (
        ch.pick(rules.DEPENDENCY_ARRAY_EXTENDED, rules.DEPENDENCY_ARRAY_NARROWED)
        if mine
        else ch.pick(rules.DEPENDENCY_ARRAY_ADDED, rules.DEPENDENCY_ARRAY_REMOVED)
    )
    ch.report(
        rule,
        mine[0].kw("dependentRequired") if mine else a[0].ptr,
        b.kw("dependentRequired"),
        f'At {where(path)} the {reader} schema requires {missing} whenever "{key}" is '
        f"present (dependentRequired), which the {writer} schema does not.",
        path,
        lambda: [_with_names(base(), [key, *sorted(have)], a_slot)],
    )


def check_dependent_schemas(
    ch: Checker, a: Conj, b: Node, path: Path, key: str, a_slot: Any, base: Any
) -> None:
    """One reader dependentSchemas entry: when ``key`` is present the writer (with its own
    entry for ``key``) must satisfy it."""
    wanted = b.child("dependentSchemas", key)
    mine = [
        n.child("dependentSchemas", key)
        for n in a
        if isinstance(n.get("dependentSchemas"), dict) and key in n.get("dependentSchemas")
    ]
    if any(ch.equal(m, wanted) for m in mine):
        return
    rule = (
        rules.DEPENDENCY_SCHEMA_CHANGED
        if mine
        else ch.pick(rules.DEPENDENCY_SCHEMA_ADDED, rules.DEPENDENCY_SCHEMA_REMOVED)
    )
    if not ch.collect((*a, *mine), wanted, path):
        return
    writer, reader = ch.labels()
    ch.report(
        rule,
        mine[0].ptr if mine else a[0].ptr,
        wanted.ptr,
        f'At {where(path)} the {reader} schema applies extra constraints when "{key}" is '
        f"present (dependentSchemas) that the {writer} schema does not guarantee.",
        path,
        lambda: _dependent_candidates(base(), key, mine, wanted, a_slot),
    )

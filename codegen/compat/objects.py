"""Rules for objects: required, properties and content models, propertyNames,
dependentRequired/dependentSchemas, property-count bounds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .nodes import Node, flatten, trivially_true
from .sample import counter_samples, first_sample, required_names, sample_candidates
from .scalars import check_bounds

if TYPE_CHECKING:
    from .walker import Checker, Conj, Path


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _props(n: Node) -> dict[str, Any]:
    value = n.get("properties")
    return value if isinstance(value, dict) else {}


def _patterns(n: Node) -> dict[str, Any]:
    value = n.get("patternProperties")
    return value if isinstance(value, dict) else {}


_DYNAMIC = ("anyOf", "oneOf", "if", "dependentSchemas")


def _scope(n: Node) -> tuple[set[str], set[str], bool] | None:
    """Names and patterns evaluated in place around ``n`` (itself, its $ref and allOf
    members) and whether one of them has additionalProperties (which evaluates every
    name). None when a dynamic applicator (anyOf, oneOf, if, dependentSchemas) makes the
    evaluated set instance-dependent."""
    names: set[str] = set()
    patterns: set[str] = set()
    has_additional = False
    for member in flatten((n,)):
        if not isinstance(member.schema, dict):
            continue
        if any(member.has(k) for k in _DYNAMIC):
            return None
        names |= set(_props(member))
        patterns |= set(_patterns(member))
        has_additional = has_additional or (member is not n and member.has("additionalProperties"))
    return names, patterns, has_additional


def _unevaluated(n: Node, name: str | None) -> Node | None:
    """unevaluatedProperties of ``n`` when it applies to ``name`` (None = a fresh name)."""
    if not n.has("unevaluatedProperties") or n.has("additionalProperties"):
        return None
    scope = _scope(n)
    if scope is None or scope[2]:
        return None
    names, patterns, _ = scope
    if name is not None and (name in names or any(_matches(p, name) for p in patterns)):
        return None
    return n.child("unevaluatedProperties")


def additional(ch: Checker, n: Node, name: str | None = None) -> Node | None:
    """The schema for names neither declared nor pattern-matched in ``n`` (None = any).

    Under runtime semantics a generated writer model emits only its declared fields, and
    a patternProperties-only object becomes a dict whose keys must match the pattern.
    """
    if n.has("additionalProperties"):
        return n.child("additionalProperties")
    if n.has("unevaluatedProperties"):
        return _unevaluated(n, name)
    if ch.runtime and n.has("patternProperties") and not _props(n):
        # a patternProperties-only object is a dict whose keys must match the pattern
        return Node(False, n.ptr, n.doc)
    return None


def _rt_patterns(ch: Checker, n: Node) -> dict[str, Any]:
    """patternProperties as the reader/writer sees them: a generated model with declared
    fields ignores them (writers never emit such keys, readers do not check them)."""
    if ch.runtime and _props(n):
        return {}
    return _patterns(n)


def writer_closed(ch: Checker, a: Conj) -> bool:
    """Runtime semantics: a generated writer model emits only its declared fields. The
    model merges allOf/$ref members, so closure is decided for the whole conjunction."""
    if not ch.runtime or not a or a[0].doc.role != "writer":
        return False
    if not any(_props(n) for n in a):
        return False  # no declared fields: the model is a plain dict
    return not any(
        n.has("additionalProperties") and n.get("additionalProperties") is not False for n in a
    )


def slot_nodes(ch: Checker, n: Node, name: str) -> tuple[list[Node], str]:
    """Schemas that apply to property ``name`` in ``n`` and where they come from."""
    found: list[Node] = []
    if name in _props(n):
        found.append(n.child("properties", name))
    for pattern in _rt_patterns(ch, n):
        if _matches(pattern, name):
            found.append(n.child("patternProperties", pattern))
    if found:
        return found, "declared" if name in _props(n) else "pattern"
    extra = additional(ch, n, name)
    return ([extra] if extra is not None else []), "additional"


def _is_empty(conj: list[Node]) -> bool:
    return any(x.schema is False for x in conj)


def _required(a: Conj) -> set[str]:
    names = set(required_names(a))
    changed = True
    while changed:  # dependentRequired of a required property makes its dependencies required
        changed = False
        for n in a:
            deps = n.get("dependentRequired")
            if not isinstance(deps, dict):
                continue
            for key, more in deps.items():
                if key in names and isinstance(more, list) and not set(more) <= names:
                    names |= set(more)
                    changed = True
    return names


def check_object(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    from .walker import where

    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    required = _required(a)
    if ch.runtime and a[0].doc.role == "writer" and any(_props(n) for n in a):
        # a required name without a declared field is no model field: it may be missing
        required &= {name for n in a for name in _props(n)}
    b_fields = {name for n in flatten((b,)) for name in _props(n)} if _props(b) else None
    a_slots = {}
    closed_writer = writer_closed(ch, a)

    def a_slot(name: str) -> tuple[tuple[Node, ...], str]:
        if name not in a_slots:
            nodes: list[Node] = []
            origin = "additional"
            for n in a:
                found, kind = slot_nodes(ch, n, name)
                nodes += found
                if kind == "declared" or (kind == "pattern" and origin == "additional"):
                    origin = kind
            if origin == "additional" and closed_writer:
                nodes = [Node(False, a[0].ptr, a[0].doc)]
            a_slots[name] = (flatten(nodes), origin)
        return a_slots[name]

    def base_sample() -> Any:
        return first_sample(a)

    for name in b.get("required", []) or []:
        if ch.runtime and b_fields is not None and name not in b_fields:
            continue  # the generated reader has no such field, so it cannot require it
        if isinstance(name, str) and name not in required:
            ch.report(
                ch.name("REQUIRED_ATTRIBUTE_ADDED", "REQUIRED_ATTRIBUTE_REMOVED"),
                next((x.kw("required") for x in a if x.has("required")), a[0].ptr),
                b.kw("required"),
                f'At {where(path)} property "{name}" is required by the {reader} schema but '
                f"not by the {writer} schema.",
                path,
                lambda: [base_sample()],
            )

    names = set(_props(b))
    for n in a:
        names |= set(_props(n))
    for name in sorted(names):
        conj, origin = a_slot(name)
        if _is_empty(list(conj)):
            continue
        a_ptr = next(
            (x.ptr + "/properties/" + _esc(name) for x in a if name in _props(x)), a[0].ptr
        )
        seg = (*path, ("prop", name, conj))
        b_nodes, b_origin = slot_nodes(ch, b, name)
        for bn in b_nodes:
            if trivially_true(bn.schema):
                continue
            label = f'property "{name}"' + (f" of {where(path)}" if path else "")
            if bn.schema is False:
                if origin == "declared":
                    rule = ch.name(
                        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                        ("REQUIRED" if name in required else "OPTIONAL")
                        + "_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                    )
                else:
                    rule = ch.name(
                        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
                    )
                ch.report(
                    rule,
                    a_ptr,
                    bn.ptr,
                    f"The {writer} schema allows {label}, which the {reader} schema forbids "
                    "(closed content model).",
                    seg,
                    lambda c=conj: sample_candidates(c),  # type: ignore[misc]
                )
            elif origin != "declared":
                rule = ch.name(
                    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
                )
                message = (
                    f"The {reader} schema declares {label}, which the {writer} schema does not "
                    "declare and leaves open to other values."
                )
                if all(trivially_true(x.schema) for x in conj):
                    ch.report(rule, a_ptr, bn.ptr, message, seg, _counter(bn))
                else:
                    ch.wrapped(conj, bn, seg, rule, a_ptr, bn.ptr, message)
            elif b_origin != "declared":
                rule = ch.name(
                    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                )
                message = (
                    f"The {writer} schema declares {label}, which the {reader} schema only "
                    "accepts through additionalProperties or patternProperties, and those do "
                    f"not accept every value the {writer} schema allows."
                )
                ch.wrapped(conj, bn, seg, rule, a_ptr, bn.ptr, message)
            else:
                ch.check(conj, bn, seg)

    _check_other_keys(ch, a, b, path, names)
    _check_property_names(ch, a, b, path, names)
    _check_counts(ch, a, b, path, required, names)
    _check_dependencies(ch, a, b, path, required, a_slot, base_sample)
    if (
        b.has("unevaluatedProperties")
        and not b.has("additionalProperties")
        and not trivially_true(b.get("unevaluatedProperties"))
        and _scope(b) is None
    ):
        ch.report(
            "UNEVALUATED_PROPERTIES_CHANGED",
            a[0].ptr,
            b.kw("unevaluatedProperties"),
            f"At {where(path)} unevaluatedProperties depends on anyOf/oneOf/if/dependentSchemas "
            f"of the {reader} schema, so compatibility could not be proved.",
            path,
        )


_META = set(".[](){}*+?|\\^$")


def _literal_prefix(pattern: str) -> str | None:
    """The literal text an anchored pattern starts with (None when unanchored)."""
    if not pattern.startswith("^") or "|" in pattern:
        return None  # an alternation may hold an unanchored branch
    out = ""
    for char in pattern[1:]:
        if char in _META:
            # a quantifier makes the previous character optional
            return out[:-1] if char in "*?{" else out
        out += char
    return out


def _disjoint(p: str, q: str) -> bool:
    """Two patterns that provably match no common name (different anchored prefixes)."""
    a, b = _literal_prefix(p), _literal_prefix(q)
    if a is None or b is None:
        return False
    return not (a.startswith(b) or b.startswith(a))


def _key_for(match: list[str], avoid: list[str], names: set[str]) -> str | None:
    """A property name matching every pattern in ``match`` and none in ``avoid`` (for
    witnesses; None when the guesses fail)."""
    guesses = ["x", "y", "a", "k", "X", "0"]
    for pattern in match:
        prefix = _literal_prefix(pattern) or ""
        guesses = [prefix + tail for tail in ("", "a", "x", "1", "_a", "A")] + guesses
    for key in guesses:
        if key in names:
            continue
        if all(_matches(p, key) for p in match) and not any(_matches(p, key) for p in avoid):
            return key
    return None


def _counter(node: Node) -> Callable[[], list[Any]]:
    return lambda: counter_samples(node)


def _with_key(a: Conj, name: str) -> Callable[[], list[Any]]:
    def build() -> list[Any]:
        base = first_sample(a)
        return [{**(base if isinstance(base, dict) else {}), name: None}]

    return build


def _esc(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _fresh_name(a: Conj, b: Node, names: set[str]) -> str | None:
    patterns = [p for n in (*a, b) for p in _patterns(n)]
    for candidate in ("extra", "x_extra", "zz_unknown_property", "_"):
        if candidate not in names and not any(_matches(p, candidate) for p in patterns):
            return candidate
    return None


def _check_other_keys(ch: Checker, a: Conj, b: Node, path: Path, names: set[str]) -> None:
    """Undeclared property names: patternProperties and additionalProperties."""
    from .walker import where

    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    a_extra_nodes: list[Node] = []
    for n in a:
        extra = additional(ch, n)
        if extra is not None:
            a_extra_nodes.append(extra)
    if writer_closed(ch, a):
        a_extra_nodes = [Node(False, a[0].ptr, a[0].doc)]
    a_extra = flatten(a_extra_nodes)
    a_patterns = {
        p: flatten([n.child("patternProperties", p) for n in a if p in _rt_patterns(ch, n)])
        for n in a
        for p in _rt_patterns(ch, n)
    }
    b_extra = additional(ch, b)
    fresh = _fresh_name(a, b, names)
    if b_extra is not None:
        ch.slot(
            a_extra,
            b_extra,
            (*path, ("prop", fresh, a_extra)),
            false_rule=ch.name("ADDITIONAL_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_ADDED"),
            open_rule=ch.name("ADDITIONAL_PROPERTIES_NARROWED", "ADDITIONAL_PROPERTIES_EXTENDED"),
            a_ptr=a_extra[0].ptr if a_extra else a[0].ptr,
            message=f"At {where(path)} the {reader} schema accepts fewer undeclared properties "
            f"(additionalProperties) than the {writer} schema allows.",
        )
        for pattern, conj in a_patterns.items():
            if pattern in _rt_patterns(ch, b):
                continue
            key = _key_for([pattern], list(_rt_patterns(ch, b)), names)
            ch.slot(
                conj,
                b_extra,
                (*path, ("prop", key, conj)),
                false_rule=ch.name("ADDITIONAL_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_ADDED"),
                open_rule=ch.name(
                    "ADDITIONAL_PROPERTIES_NARROWED", "ADDITIONAL_PROPERTIES_EXTENDED"
                ),
                a_ptr=conj[0].ptr if conj else a[0].ptr,
                message=f"At {where(path)} properties matching {pattern!r} are not accepted by "
                f"the {reader} schema's additionalProperties.",
            )
    for pattern in _rt_patterns(ch, b):
        bn = b.child("patternProperties", pattern)
        # keys matching other writer patterns may match this one as well, unless the
        # two patterns provably never match the same name
        keyed = (
            [
                (a_patterns.get(pattern, a_extra), _key_for([pattern], [], names)),
                *[
                    (c, _key_for([pattern, p], [], names))
                    for p, c in a_patterns.items()
                    if p != pattern and not _disjoint(p, pattern)
                ],
            ]
            if pattern in a_patterns
            else [
                (a_extra, _key_for([pattern], list(a_patterns), names)),
                *[
                    (c, _key_for([pattern, p], [], names))
                    for p, c in a_patterns.items()
                    if not _disjoint(p, pattern)
                ],
            ]
        )
        for conj, key in keyed:
            ch.slot(
                conj,
                bn,
                (*path, ("prop", key, conj)),
                false_rule=ch.name("PATTERN_PROPERTIES_NARROWED", "PATTERN_PROPERTIES_EXTENDED"),
                open_rule=ch.name("PATTERN_PROPERTIES_NARROWED", "PATTERN_PROPERTIES_EXTENDED"),
                a_ptr=conj[0].ptr if conj else a[0].ptr,
                message=f"At {where(path)} properties matching {pattern!r} accept less in the "
                f"{reader} schema than the {writer} schema allows.",
            )


def _check_property_names(ch: Checker, a: Conj, b: Node, path: Path, names: set[str]) -> None:
    from .walker import where

    if not b.has("propertyNames") or trivially_true(b.get("propertyNames")):
        return
    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    wanted = b.child("propertyNames")
    rule = ch.name("PROPERTY_NAMES_NARROWED", "PROPERTY_NAMES_EXTENDED")
    message = (
        f"At {where(path)} the {reader} schema restricts property names (propertyNames) "
        f"more than the {writer} schema."
    )
    own = [n.child("propertyNames") for n in a if n.has("propertyNames")]
    closed = any(
        (extra := additional(ch, n)) is not None and extra.schema is False and not _patterns(n)
        for n in a
    )
    declared = sorted({name for n in a for name in _props(n)})
    if closed:
        for name in declared:
            if all(ch.validates(name, x) for x in own) and not ch.validates(name, wanted):
                ch.report(
                    rule,
                    a[0].ptr,
                    wanted.ptr,
                    message,
                    path,
                    _with_key(a, name),
                )
        return
    names_conj = (*own, Node({"type": "string"}, a[0].ptr, a[0].doc))
    nested = ch.collect(names_conj, wanted, path)
    bad = [name for name in declared if not ch.validates(name, wanted)]
    if nested or bad:
        ch.report(
            rule,
            own[0].ptr if own else a[0].ptr,
            wanted.ptr,
            message,
            path,
            lambda: [{**(first_sample(a) or {}), nm: None} for nm in bad[:1]],
        )


def _check_counts(
    ch: Checker, a: Conj, b: Node, path: Path, required: set[str], names: set[str]
) -> None:
    derived: dict[str, float] = {"minProperties": float(len(required))}
    for n in a:
        extra = additional(ch, n)
        if extra is not None and extra.schema is False and not _patterns(n):
            count = sum(1 for v in _props(n).values() if v is not False)
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
    if ch.runtime and any(_props(n) for n in a):
        if _props(b):
            return  # a generated reader model does not count properties
        # a generated writer model does not enforce min/maxProperties either
        counted = (Node({}, a[0].ptr, a[0].doc),)
        derived.pop("maxProperties", None)
        if writer_closed(ch, a):
            derived["maxProperties"] = float(len({k for n in a for k in _props(n)}))
    check_bounds(ch, counted, b, path, ("minProperties", "maxProperties"), derived, sized)


def _check_dependencies(
    ch: Checker, a: Conj, b: Node, path: Path, required: set[str], a_slot: Any, base: Any
) -> None:
    from .walker import where

    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    deps = b.get("dependentRequired")
    if isinstance(deps, dict) and not ch.ignored("dependentRequired"):
        for key, needed in deps.items():
            if not isinstance(needed, list) or _is_empty(list(a_slot(key)[0])):
                continue
            have = set(required)
            mine = [
                n
                for n in a
                if isinstance(n.get("dependentRequired"), dict)
                and key in n.get("dependentRequired")
            ]
            for n in mine:
                have |= set(n.get("dependentRequired")[key])
            missing = [x for x in needed if x not in have]
            if not missing:
                continue
            rule = (
                ch.name("DEPENDENCY_ARRAY_EXTENDED", "DEPENDENCY_ARRAY_NARROWED")
                if mine
                else ch.name("DEPENDENCY_ARRAY_ADDED", "DEPENDENCY_ARRAY_REMOVED")
            )
            conj = a_slot(key)[0]
            ch.report(
                rule,
                mine[0].kw("dependentRequired") if mine else a[0].ptr,
                b.kw("dependentRequired"),
                f'At {where(path)} the {reader} schema requires {missing} whenever "{key}" is '
                f"present (dependentRequired), which the {writer} schema does not.",
                (*path, ("prop", key, conj)),
                lambda c=conj: sample_candidates(c),  # type: ignore[misc]
            )
    schemas = b.get("dependentSchemas")
    if isinstance(schemas, dict):
        for key in schemas:
            if _is_empty(list(a_slot(key)[0])):
                continue
            wanted = b.child("dependentSchemas", key)
            mine = [
                n.child("dependentSchemas", key)
                for n in a
                if isinstance(n.get("dependentSchemas"), dict) and key in n.get("dependentSchemas")
            ]
            if any(ch.equal(m, wanted) for m in mine):
                continue
            rule = (
                "DEPENDENCY_SCHEMA_CHANGED"
                if mine
                else ch.name("DEPENDENCY_SCHEMA_ADDED", "DEPENDENCY_SCHEMA_REMOVED")
            )
            ch.wrapped(
                (*a, *mine),
                wanted,
                path,
                rule,
                mine[0].ptr if mine else a[0].ptr,
                wanted.ptr,
                f'At {where(path)} the {reader} schema applies extra constraints when "{key}" is '
                f"present (dependentSchemas) that the {writer} schema does not guarantee.",
            )

"""Object content models: which schemas apply to a property name, for either side,
under strict semantics or as the generated pydantic models see them (runtime)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .checker import Checker, Conj
from .evaluated import PropertyScope, property_scope
from .nodes import Node, derived, synthetic
from .sample import counter_samples, first_sample, required_names


def matches(pattern: str, name: str) -> bool:
    from codegen.validation import search

    return search(pattern, name)


def props(n: Node) -> dict[str, Any]:
    s = n.schema
    value = s.get("properties") if isinstance(s, dict) else None
    return value if isinstance(value, dict) else {}


def patterns(n: Node) -> dict[str, Any]:
    s = n.schema
    value = s.get("patternProperties") if isinstance(s, dict) else None
    return value if isinstance(value, dict) else {}


def scope(ch: Checker, n: Node) -> PropertyScope | None:
    """What the in-place applicators of ``n`` evaluate (None: instance-dependent)."""
    return property_scope(n, runtime=ch.runtime)


def _unevaluated(ch: Checker, n: Node, name: str | None) -> Node | None:
    """unevaluatedProperties of ``n`` when it applies to ``name`` (None = a fresh name)."""
    if not n.has("unevaluatedProperties") or n.has("additionalProperties"):
        return None
    found = scope(ch, n)
    if found is None or found.everything:
        return None
    if name is not None and (name in found.names or any(matches(p, name) for p in found.patterns)):
        return None
    return n.child("unevaluatedProperties")


def additional(ch: Checker, n: Node, name: str | None = None) -> Node | None:
    """The schema for names neither declared nor pattern-matched in ``n`` (None = any).

    Under runtime semantics a generated writer model emits only its declared fields, and
    a patternProperties-only object becomes a dict whose keys must match the pattern.
    """
    # A patternProperties-only object is a dict whose keys must match the pattern: for a
    # reader whatever additionalProperties says (the generator ignores it there, the fuzzer
    # found); for a writer only when nothing merges into it (allOf members, required names
    # make a model class that emits its fields), otherwise the schema's wider view.
    pattern_dict = ch.runtime and n.has("patternProperties") and not props(n)
    if pattern_dict and n.doc.role == "reader":
        return synthetic(False, n)
    if n.has("additionalProperties"):
        return n.child("additionalProperties")
    if n.has("unevaluatedProperties"):
        return _unevaluated(ch, n, name)
    # The generator drops `false` patterns; with none left the model is a plain
    # dict[str, Any] that emits any name (the fuzzer found), so only a kept pattern
    # makes the writer's keys match it.
    if pattern_dict and any(s is not False for s in patterns(n).values()) and _plain_dict(n):
        return synthetic(False, n)
    return None


def closed_names(ch: Checker, n: Node) -> set[str] | None:
    """The only property names ``n`` allows, when it closes the object (additional or
    unevaluated properties false, no pattern); None when other names may appear."""
    extra = additional(ch, n)
    if extra is None or extra.schema is not False:
        return None
    if n.has("additionalProperties") or not n.has("unevaluatedProperties"):
        return None if patterns(n) else set(props(n))
    found = scope(ch, n)
    if found is None or found.patterns:
        return None
    return set(found.names)


def _plain_dict(n: Node) -> bool:
    parent = n.ptr.rpartition("/")[0]
    merged = parent.endswith(("/allOf", "/anyOf", "/oneOf")) or parent in (
        "allOf",
        "anyOf",
        "oneOf",
    )
    mixed = ("required", "allOf", "anyOf", "oneOf", "$ref", "$dynamicRef", "if", "not")
    return not merged and not any(n.has(k) for k in mixed)


def rt_patterns(ch: Checker, n: Node) -> dict[str, Any]:
    """patternProperties as the reader sees them: a generated model with declared fields
    ignores them (it does not check such keys). Writers keep the schema's view: a model
    with extra="allow" emits such keys (check_other_keys drops them for closed writers)."""
    if ch.runtime and props(n) and n.doc.role == "reader":
        return {}
    return patterns(n)


def writer_closed(ch: Checker, a: Conj) -> bool:
    """Runtime semantics: a generated writer model emits only its declared fields. The
    model merges allOf/$ref members, so closure is decided for the whole conjunction."""
    if not ch.runtime or not a or a[0].doc.role != "writer":
        return False
    if not any(props(n) for n in a):
        return False  # no declared fields: the model is a plain dict
    # additionalProperties or unevaluatedProperties other than false make the model
    # class extra="allow": it emits undeclared keys too
    return not any(
        n.has(key) and n.get(key) is not False
        for n in a
        for key in ("additionalProperties", "unevaluatedProperties")
    )


def slot_nodes(ch: Checker, n: Node, name: str) -> tuple[list[Node], str]:
    """Schemas that apply to property ``name`` in ``n`` and where they come from
    (remembered on the document for a node that sits in it)."""
    found, kind = derived(n, ("slot", name, ch.runtime), lambda: _slot_nodes(ch, n, name))
    return list(found), kind


def _slot_nodes(ch: Checker, n: Node, name: str) -> tuple[tuple[Node, ...], str]:
    found: list[Node] = []
    declared = name in props(n)
    if declared:
        found.append(n.child("properties", name))
    for pattern in rt_patterns(ch, n) if n.has("patternProperties") else ():
        if matches(pattern, name):
            found.append(n.child("patternProperties", pattern))
    if found:
        return tuple(found), "declared" if declared else "pattern"
    extra = additional(ch, n, name)
    return ((extra,) if extra is not None else ()), "additional"


def is_empty_slot(conj: Sequence[Node]) -> bool:
    for x in conj:  # noqa: SIM110  (a loop, not any(): asked for every property of every compare)
        if x.schema is False:
            return True
    return False


def required_of(a: Conj) -> set[str]:
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


def counter(node: Node) -> Callable[[], list[Any]]:
    return lambda: counter_samples(node)


def with_key(a: Conj, name: str) -> Callable[[], list[Any]]:
    def build() -> list[Any]:
        base = first_sample(a)
        return [{**(base if isinstance(base, dict) else {}), name: None}]

    return build


def esc(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")

"""Object content models: which schemas apply to a property name, for either side,
under strict semantics or as the generated pydantic models see them (runtime)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .nodes import Node, flatten
from .sample import counter_samples, first_sample, required_names

if TYPE_CHECKING:
    from .walker import Checker, Conj


def matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def props(n: Node) -> dict[str, Any]:
    value = n.get("properties")
    return value if isinstance(value, dict) else {}


def patterns(n: Node) -> dict[str, Any]:
    value = n.get("patternProperties")
    return value if isinstance(value, dict) else {}


_DYNAMIC = ("anyOf", "oneOf", "if", "dependentSchemas")


def scope(n: Node) -> tuple[set[str], set[str], bool] | None:
    """Names and patterns evaluated in place around ``n`` (itself, its $ref and allOf
    members) and whether one of them has additionalProperties (which evaluates every
    name). None when a dynamic applicator (anyOf, oneOf, if, dependentSchemas) makes the
    evaluated set instance-dependent."""
    names: set[str] = set()
    found: set[str] = set()
    has_additional = False
    for member in flatten((n,)):
        if not isinstance(member.schema, dict):
            continue
        if any(member.has(k) for k in _DYNAMIC):
            return None
        names |= set(props(member))
        found |= set(patterns(member))
        has_additional = has_additional or (member is not n and member.has("additionalProperties"))
    return names, found, has_additional


def _unevaluated(n: Node, name: str | None) -> Node | None:
    """unevaluatedProperties of ``n`` when it applies to ``name`` (None = a fresh name)."""
    if not n.has("unevaluatedProperties") or n.has("additionalProperties"):
        return None
    found = scope(n)
    if found is None or found[2]:
        return None
    names, evaluated, _ = found
    if name is not None and (name in names or any(matches(p, name) for p in evaluated)):
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
    if ch.runtime and n.has("patternProperties") and not props(n):
        # a patternProperties-only object is a dict whose keys must match the pattern
        return Node(False, n.ptr, n.doc)
    return None


def rt_patterns(ch: Checker, n: Node) -> dict[str, Any]:
    """patternProperties as the reader/writer sees them: a generated model with declared
    fields ignores them (writers never emit such keys, readers do not check them)."""
    if ch.runtime and props(n):
        return {}
    return patterns(n)


def writer_closed(ch: Checker, a: Conj) -> bool:
    """Runtime semantics: a generated writer model emits only its declared fields. The
    model merges allOf/$ref members, so closure is decided for the whole conjunction."""
    if not ch.runtime or not a or a[0].doc.role != "writer":
        return False
    if not any(props(n) for n in a):
        return False  # no declared fields: the model is a plain dict
    return not any(
        n.has("additionalProperties") and n.get("additionalProperties") is not False for n in a
    )


def slot_nodes(ch: Checker, n: Node, name: str) -> tuple[list[Node], str]:
    """Schemas that apply to property ``name`` in ``n`` and where they come from."""
    found: list[Node] = []
    if name in props(n):
        found.append(n.child("properties", name))
    for pattern in rt_patterns(ch, n):
        if matches(pattern, name):
            found.append(n.child("patternProperties", pattern))
    if found:
        return found, "declared" if name in props(n) else "pattern"
    extra = additional(ch, n, name)
    return ([extra] if extra is not None else []), "additional"


def is_empty_slot(conj: list[Node]) -> bool:
    return any(x.schema is False for x in conj)


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

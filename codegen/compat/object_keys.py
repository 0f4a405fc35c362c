"""Object rules for undeclared names: patternProperties, additionalProperties and
propertyNames."""

from __future__ import annotations

from dataclasses import dataclass

from . import rules
from .checker import Checker, Conj, Path
from .content import (
    additional,
    closed_names,
    matches,
    patterns,
    props,
    rt_patterns,
    with_key,
    writer_closed,
)
from .model import Rule
from .nodes import Node, flatten, synthetic
from .sample import first_sample
from .text import where

_META = set(".[](){}*+?|\\^$")


def literal_prefix(pattern: str) -> str | None:
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


def patterns_disjoint(p: str, q: str) -> bool:
    """Two patterns that provably match no common name (different anchored prefixes)."""
    a, b = literal_prefix(p), literal_prefix(q)
    if a is None or b is None:
        return False
    return not (a.startswith(b) or b.startswith(a))


def _key_for(match: list[str], avoid: list[str], names: set[str]) -> str | None:
    """A property name matching every pattern in ``match`` and none in ``avoid`` (for
    witnesses; None when the guesses fail)."""
    guesses = ["x", "y", "a", "k", "X", "0"]
    for pattern in match:
        prefix = literal_prefix(pattern) or ""
        guesses = [prefix + tail for tail in ("", "a", "x", "1", "_a", "A")] + guesses
    for key in guesses:
        if key in names:
            continue
        if all(matches(p, key) for p in match) and not any(matches(p, key) for p in avoid):
            return key
    return None


def _fresh_name(a: Conj, b: Node, names: set[str]) -> str | None:
    known = [p for n in (*a, b) for p in patterns(n)]
    for candidate in ("extra", "x_extra", "zz_unknown_property", "_"):
        if candidate not in names and not any(matches(p, candidate) for p in known):
            return candidate
    return None


def check_other_keys(ch: Checker, a: Conj, b: Node, path: Path, names: set[str]) -> None:
    """Undeclared property names: patternProperties and additionalProperties."""
    if additional(ch, b) is None and not rt_patterns(ch, b):
        return  # the reader takes any undeclared name with any value (both checks agree)
    a_extra_nodes: list[Node] = []
    for n in a:
        extra = additional(ch, n)
        if extra is not None:
            a_extra_nodes.append(extra)
    if writer_closed(ch, a):
        a_extra_nodes = [synthetic(False, a[0])]
    a_extra = flatten(a_extra_nodes)
    a_patterns = {
        p: flatten([n.child("patternProperties", p) for n in a if p in rt_patterns(ch, n)])
        for n in a
        for p in rt_patterns(ch, n)
    }
    if writer_closed(ch, a):
        a_patterns = {}  # a closed generated writer emits its declared fields only
    keys = WriterKeys(a_extra, a_patterns, names)
    check_additional(ch, a, b, path, keys)
    check_patterns(ch, a, b, path, keys)


@dataclass(frozen=True)
class WriterKeys:
    """The writer's schemas for names it does not declare."""

    extra: Conj  # for names no pattern matches (additionalProperties)
    patterns: dict[str, Conj]  # per pattern (patternProperties)
    names: set[str]  # the declared names of both sides (witness keys avoid them)


def check_additional(ch: Checker, a: Conj, b: Node, path: Path, keys: WriterKeys) -> None:
    """The reader's additionalProperties against the writer's undeclared names: its
    additional ones and those matching a pattern the reader does not have."""
    b_extra = additional(ch, b)
    if b_extra is None:
        return
    writer, reader = ch.labels()
    pair = (
        ch.pick(rules.ADDITIONAL_PROPERTIES_REMOVED, rules.ADDITIONAL_PROPERTIES_ADDED),
        ch.pick(rules.ADDITIONAL_PROPERTIES_NARROWED, rules.ADDITIONAL_PROPERTIES_EXTENDED),
    )
    message = (
        f"At {where(path)} the {reader} schema accepts fewer undeclared properties "
        f"(additionalProperties) than the {writer} schema allows."
    )
    _key_slot(ch, a, path, (_fresh_name(a, b, keys.names), keys.extra), b_extra, pair, message)
    for pattern, conj in keys.patterns.items():
        if pattern in rt_patterns(ch, b):
            continue
        key = _key_for([pattern], list(rt_patterns(ch, b)), keys.names)
        message = (
            f"At {where(path)} properties matching {pattern!r} are not accepted by "
            f"the {reader} schema's additionalProperties."
        )
        _key_slot(ch, a, path, (key, conj), b_extra, pair, message)


def _key_slot(
    ch: Checker,
    a: Conj,
    path: Path,
    slot: tuple[str | None, Conj],
    bn: Node,
    pair: tuple[Rule, Rule],
    message: str,
) -> None:
    """Check the writer's schemas for undeclared names (``slot``: a name for witnesses and
    the writer conjunction) against the reader's ``bn``; ``pair``: the rules for a false
    reader and for an open writer."""
    key, conj = slot
    ch.slot(
        conj,
        bn,
        (*path, ("prop", key, conj)),
        false_rule=pair[0],
        open_rule=pair[1],
        a_ptr=conj[0].ptr if conj else a[0].ptr,
        message=message,
    )


def check_patterns(ch: Checker, a: Conj, b: Node, path: Path, keys: WriterKeys) -> None:
    """Each reader patternProperties entry against every writer slot whose names may match
    it: the same pattern (or the writer's additional names) and overlapping patterns."""
    writer, reader = ch.labels()
    rule = ch.pick(rules.PATTERN_PROPERTIES_NARROWED, rules.PATTERN_PROPERTIES_EXTENDED)
    for pattern in rt_patterns(ch, b):
        bn = b.child("patternProperties", pattern)
        message = (
            f"At {where(path)} properties matching {pattern!r} accept less in the "
            f"{reader} schema than the {writer} schema allows."
        )
        for conj, key in _pattern_slots(pattern, keys):
            _key_slot(ch, a, path, (key, conj), bn, (rule, rule), message)


def _pattern_slots(pattern: str, keys: WriterKeys) -> list[tuple[Conj, str | None]]:
    """Writer slots whose names may match ``pattern``, each with a name for witnesses. Keys
    matching other writer patterns may match this one as well, unless the two patterns
    provably never match the same name."""
    names = keys.names
    overlapping = [
        (c, _key_for([pattern, p], [], names))
        for p, c in keys.patterns.items()
        if p != pattern and not patterns_disjoint(p, pattern)
    ]
    if pattern in keys.patterns:
        return [(keys.patterns[pattern], _key_for([pattern], [], names)), *overlapping]
    return [(keys.extra, _key_for([pattern], list(keys.patterns), names)), *overlapping]


def check_property_names(ch: Checker, a: Conj, b: Node, path: Path, names: set[str]) -> None:
    if not b.has("propertyNames") or ch.accepts_all(b.get("propertyNames")):
        return
    writer, reader = ch.labels()
    wanted = b.child("propertyNames")
    rule = ch.pick(rules.PROPERTY_NAMES_NARROWED, rules.PROPERTY_NAMES_EXTENDED)
    message = (
        f"At {where(path)} the {reader} schema restricts property names (propertyNames) "
        f"more than the {writer} schema."
    )
    own = [n.child("propertyNames") for n in a if n.has("propertyNames")]
    allowed = [found for n in a if (found := closed_names(ch, n)) is not None]
    declared = sorted({name for n in a for name in props(n)})
    if allowed:
        for name in sorted(set.intersection(*allowed)):
            if all(ch.validates(name, x, unknown=True) for x in own) and not ch.validates(
                name, wanted, unknown=False
            ):
                ch.report(
                    rule,
                    a[0].ptr,
                    wanted.ptr,
                    message,
                    path,
                    with_key(a, name),
                )
        return
    names_conj = (*own, synthetic({"type": "string"}, a[0]))
    nested = ch.collect(names_conj, wanted, path)
    bad = [name for name in declared if not ch.validates(name, wanted, unknown=False)]
    if nested or bad:
        ch.report(
            rule,
            own[0].ptr if own else a[0].ptr,
            wanted.ptr,
            message,
            path,
            lambda: [{**(first_sample(a) or {}), nm: None} for nm in bad[:1]],
        )

"""Rules for objects: required, declared properties against open, closed and partially
open content models, unevaluatedProperties. Undeclared names live in ``object_keys``,
counts and dependencies in ``object_counts``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import rules
from .checker import Checker, Conj, Path
from .content import (
    counter,
    esc,
    is_empty_slot,
    props,
    required_of,
    scope,
    slot_nodes,
    writer_closed,
)
from .nodes import Node, derived, first_ptr, flatten, synthetic, trivially_true
from .object_counts import check_counts, check_dependencies
from .object_keys import check_other_keys, check_property_names
from .sample import first_sample, sample_candidates
from .text import where


def _no_properties(ch: Checker, a: Conj) -> bool:
    """maxProperties 0 on the writer (not enforced by generated writer models)."""
    if ch.runtime and any(props(n) for n in a):
        return False
    return any(n.get("maxProperties") == 0 for n in a)


Slot = tuple[Conj, str]  # the writer schemas for one property name, and where they come from


class WriterSlots:
    """What the writer allows for each property name (memoised: the property, key,
    count and dependency checks all ask). A one-node writer's slots are remembered on its
    document: each is a pure function of the node, the name and the semantics (closure
    and required names are the node's)."""

    def __init__(self, ch: Checker, a: Conj) -> None:
        self.ch = ch
        self.a = a
        self._slots: dict[str, Slot] = (
            derived(a[0], ("writer slots", ch.runtime), dict) if len(a) == 1 else {}
        )

    def __call__(self, name: str) -> Slot:
        found = self._slots.get(name)
        if found is None:
            found = self._slots[name] = self._slot(name)
        return found

    def _closed(self) -> bool:
        return writer_closed(self.ch, self.a)

    def _required(self) -> set[str]:
        # a merged model class (allOf/anyOf members, refs) makes required names fields too
        return {r for n in self.a for r in n.get("required", []) or [] if isinstance(r, str)}

    def _slot(self, name: str) -> Slot:
        nodes: list[Node] = []
        origin = "additional"
        for n in self.a:
            found, kind = slot_nodes(self.ch, n, name)
            nodes += found
            if kind == "declared" or (kind == "pattern" and origin == "additional"):
                origin = kind
        if origin == "additional" and self._closed() and name not in self._required():
            nodes = [synthetic(False, self.a[0])]
        return flatten(nodes), origin


def check_object(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    required = required_of(a)
    if ch.runtime and a[0].doc.role == "writer":
        # a required name without a declared field is no model field: a generated writer
        # model (a class ignores undeclared keys) may drop it
        required &= {name for n in a for name in props(n)}
    a_slot = WriterSlots(ch, a)

    def base_sample() -> Any:
        return first_sample(a)

    check_required(ch, a, b, path, required, base_sample)
    if _no_properties(ch, a):
        # the writer's objects are all empty: no property can break the reader
        check_counts(ch, a, b, path, required, set())
        return
    names = set(props(b))
    for n in a:
        names |= set(props(n))
    # The generator makes a union beside `properties` the whole model and drops the
    # properties (the fuzzer found): their values are checked as the schema says only.
    unmodelled = ch.runtime and any(
        props(n) and (n.has("anyOf") or n.has("oneOf")) for n in a if n.doc.role == "writer"
    )
    ch.unmodelled_writer += unmodelled
    try:
        _check_properties(ch, a, b, path, names, a_slot, required)
    finally:
        ch.unmodelled_writer -= unmodelled
    check_other_keys(ch, a, b, path, names)
    check_property_names(ch, a, b, path, names)
    check_counts(ch, a, b, path, required, names)
    check_dependencies(ch, a, b, path, required, a_slot, base_sample)
    check_unevaluated_properties(ch, a, b, path)


def _check_properties(
    ch: Checker,
    a: Conj,
    b: Node,
    path: Path,
    names: set[str],
    a_slot: WriterSlots,
    required: set[str],
) -> None:
    b_slot = ReaderSlots(ch, b)
    for name in sorted(names):
        b_nodes, b_origin = b_slot(name)
        if not b_nodes:
            continue  # the reader takes any value here: what the writer sends cannot matter
        conj, origin = a_slot(name)
        if is_empty_slot(conj):
            continue
        if b_origin == origin == "declared" and (
            (b_nodes[0].schema is not False and ch.known_clean(conj, b_nodes[0]))
            if len(b_nodes) == 1
            else all(bn.schema is not False and ch.known_clean(conj, bn) for bn in b_nodes)
        ):
            continue  # each sub-pair proved clean before: check_property would return
        a_ptr = next((x.ptr + "/properties/" + esc(name) for x in a if name in props(x)), a[0].ptr)
        prop = WriterProperty(name, conj, origin, a_ptr, name in required)
        for bn in b_nodes:
            check_property(ch, prop, bn, b_origin, path)


class ReaderSlots:
    """The reader's schemas for each property name that do not accept every value, and
    where they come from (remembered on the document: a pure function of the node, the
    name and the semantics)."""

    def __init__(self, ch: Checker, b: Node) -> None:
        self.ch = ch
        self.b = b
        self._slots: dict[str, tuple[tuple[Node, ...], str]] = derived(
            b, ("reader slots", ch.runtime), dict
        )

    def __call__(self, name: str) -> tuple[tuple[Node, ...], str]:
        found = self._slots.get(name)
        if found is None:
            nodes, origin = slot_nodes(self.ch, self.b, name)
            kept = tuple(bn for bn in nodes if not self.ch.accepts_all(bn.schema))
            found = self._slots[name] = (kept, origin)
        return found


def check_required(
    ch: Checker, a: Conj, b: Node, path: Path, required: set[str], base: Callable[[], Any]
) -> None:
    """A name the reader requires and the writer may omit.

    A generated reader may require a name it does not declare (allOf members are merged
    into one class whose required names become fields), so every name counts."""
    writer, reader = ch.labels()
    for name in b.get("required", []) or []:
        if isinstance(name, str) and name not in required:
            ch.report(
                ch.pick(rules.REQUIRED_ATTRIBUTE_ADDED, rules.REQUIRED_ATTRIBUTE_REMOVED),
                first_ptr(a, "required"),
                b.kw("required"),
                f'At {where(path)} property "{name}" is required by the {reader} schema but '
                f"not by the {writer} schema.",
                path,
                lambda: [base()],
            )


@dataclass(frozen=True)
class WriterProperty:
    """What the writer allows for one property name, and where to point for it."""

    name: str
    conj: Conj
    origin: str  # declared | pattern | additional
    ptr: str
    required: bool

    def seg(self, path: Path) -> Path:
        return (*path, ("prop", self.name, self.conj))

    def label(self, path: Path) -> str:
        return f'property "{self.name}"' + (f" of {where(path)}" if path else "")


def check_property(ch: Checker, prop: WriterProperty, bn: Node, b_origin: str, path: Path) -> None:
    """One reader schema ``bn`` for a property against the writer's: a declared, pattern
    or additional property on either side (open, closed and partially open content
    models)."""
    if bn.schema is False:
        report_closed_property(ch, prop, bn, path)
    elif prop.origin != "declared" or b_origin != "declared":
        check_open_property(ch, prop, bn, path)
    else:
        ch.check(prop.conj, bn, prop.seg(path))


def report_closed_property(ch: Checker, prop: WriterProperty, bn: Node, path: Path) -> None:
    """The writer allows a property the reader's closed content model forbids."""
    if prop.origin != "declared":
        rule = ch.pick(
            rules.PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
            rules.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
        )
    elif prop.required:
        rule = ch.pick(
            rules.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
            rules.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
        )
    else:
        rule = ch.pick(
            rules.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
            rules.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
        )
    writer, reader = ch.labels()
    ch.report(
        rule,
        prop.ptr,
        bn.ptr,
        f"The {writer} schema allows {prop.label(path)}, which the {reader} schema forbids "
        "(closed content model).",
        prop.seg(path),
        lambda: sample_candidates(prop.conj),
    )


def check_open_property(ch: Checker, prop: WriterProperty, bn: Node, path: Path) -> None:
    """A property one side declares and the other only leaves open: the writer through
    patternProperties or additionalProperties (any value, unless they say otherwise), or
    the reader (partially open: its additional or pattern schema must accept it all)."""
    writer, reader = ch.labels()
    label = prop.label(path)
    if prop.origin != "declared":
        rule = ch.pick(
            rules.PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
            rules.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
        )
        message = (
            f"The {reader} schema declares {label}, which the {writer} schema does not "
            "declare and leaves open to other values."
        )
        if all(trivially_true(x.schema) for x in prop.conj):
            ch.report(rule, prop.ptr, bn.ptr, message, prop.seg(path), counter(bn))
            return
    else:
        rule = ch.pick(
            rules.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
            rules.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
        )
        message = (
            f"The {writer} schema declares {label}, which the {reader} schema only "
            "accepts through additionalProperties or patternProperties, and those do "
            f"not accept every value the {writer} schema allows."
        )
    ch.wrapped(prop.conj, bn, prop.seg(path), rule, prop.ptr, bn.ptr, message)


def check_unevaluated_properties(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    """unevaluatedProperties the reader applies to instance-dependent names."""
    if (
        b.has("unevaluatedProperties")
        and not b.has("additionalProperties")
        and not ch.accepts_all(b.get("unevaluatedProperties"))
        and scope(ch, b) is None
    ):
        _, reader = ch.labels()
        ch.report(
            rules.UNEVALUATED_PROPERTIES_CHANGED,
            a[0].ptr,
            b.kw("unevaluatedProperties"),
            f"At {where(path)} unevaluatedProperties depends on anyOf/oneOf/if/dependentSchemas "
            f"of the {reader} schema, so compatibility could not be proved.",
            path,
        )

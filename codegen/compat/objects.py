"""Rules for objects: required, declared properties against open, closed and partially
open content models, unevaluatedProperties. Undeclared names live in ``object_keys``,
counts and dependencies in ``object_counts``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from .nodes import Node, flatten, synthetic, trivially_true
from .object_counts import check_counts, check_dependencies
from .object_keys import check_other_keys, check_property_names
from .sample import first_sample, sample_candidates
from .text import where

if TYPE_CHECKING:
    from .walker import Checker, Conj, Path


def _no_properties(ch: Checker, a: Conj) -> bool:
    """maxProperties 0 on the writer (not enforced by generated writer models)."""
    if ch.runtime and any(props(n) for n in a):
        return False
    return any(n.get("maxProperties") == 0 for n in a)


def check_object(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    required = required_of(a)
    if ch.runtime and a[0].doc.role == "writer":
        # a required name without a declared field is no model field: a generated writer
        # model (a class ignores undeclared keys) may drop it
        required &= {name for n in a for name in props(n)}
    a_slots = {}
    closed_writer = writer_closed(ch, a)
    # a merged model class (allOf/anyOf members, refs) makes required names fields too
    writer_required = {r for n in a for r in n.get("required", []) or [] if isinstance(r, str)}

    def a_slot(name: str) -> tuple[tuple[Node, ...], str]:
        if name not in a_slots:
            nodes: list[Node] = []
            origin = "additional"
            for n in a:
                found, kind = slot_nodes(ch, n, name)
                nodes += found
                if kind == "declared" or (kind == "pattern" and origin == "additional"):
                    origin = kind
            if origin == "additional" and closed_writer and name not in writer_required:
                nodes = [synthetic(False, a[0])]
            a_slots[name] = (flatten(nodes), origin)
        return a_slots[name]

    def base_sample() -> Any:
        return first_sample(a)

    # A generated reader may require a name it does not declare (allOf members are merged
    # into one class whose required names become fields), so every name counts.
    for name in b.get("required", []) or []:
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

    if _no_properties(ch, a):
        # the writer's objects are all empty: no property can break the reader
        check_counts(ch, a, b, path, required, set())
        return
    names = set(props(b))
    for n in a:
        names |= set(props(n))
    for name in sorted(names):
        conj, origin = a_slot(name)
        if is_empty_slot(list(conj)):
            continue
        a_ptr = next((x.ptr + "/properties/" + esc(name) for x in a if name in props(x)), a[0].ptr)
        seg = (*path, ("prop", name, conj))
        b_nodes, b_origin = slot_nodes(ch, b, name)
        for bn in b_nodes:
            if ch.accepts_all(bn.schema):
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
                    ch.report(rule, a_ptr, bn.ptr, message, seg, counter(bn))
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

    check_other_keys(ch, a, b, path, names)
    check_property_names(ch, a, b, path, names)
    check_counts(ch, a, b, path, required, names)
    check_dependencies(ch, a, b, path, required, a_slot, base_sample)
    if (
        b.has("unevaluatedProperties")
        and not b.has("additionalProperties")
        and not ch.accepts_all(b.get("unevaluatedProperties"))
        and scope(ch, b) is None
    ):
        ch.report(
            "UNEVALUATED_PROPERTIES_CHANGED",
            a[0].ptr,
            b.kw("unevaluatedProperties"),
            f"At {where(path)} unevaluatedProperties depends on anyOf/oneOf/if/dependentSchemas "
            f"of the {reader} schema, so compatibility could not be proved.",
            path,
        )

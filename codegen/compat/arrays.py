"""Rules for arrays: size bounds, uniqueItems, prefixItems/items, contains."""

from __future__ import annotations

import math
from typing import Any

from . import rules
from .checker import Checker, Conj, Path
from .evaluated import evaluated_prefix
from .nodes import Node, first_ptr, flatten, is_num
from .rules import BOUND_BY_KEYWORD
from .sample import first_sample, item_conj, sample_candidates
from .scalars import check_bounds, length_view
from .text import where


def _max_items(a: Conj) -> float | None:
    """The writer's length limit: maxItems, or the prefix length of a closed tuple."""
    limits = [n.schema["maxItems"] for n in a if is_num(n.get("maxItems"))]
    for n in a:
        if n.has("items") and n.get("items") is False:
            limits.append(len(n.get("prefixItems", []) or []))
        elif n.get("unevaluatedItems") is False and not n.has("items"):
            evaluated = evaluated_prefix(n)
            if evaluated is not None and evaluated != math.inf:
                limits.append(evaluated)
    return min(limits) if limits else None


def _min_items(a: Conj) -> int:
    """The writer's minimum length: minItems, or what its contains needs."""
    least = [n.schema["minItems"] for n in a if is_num(n.get("minItems"))]
    for n in a:
        if n.has("contains"):
            need = n.get("minContains", 1)
            least.append(need if is_num(need) else 1)
    return int(max(least, default=0))


def _prefix_span(ch: Checker, n: Node) -> int:
    """Positions of ``n`` that have their own item schema (prefixItems, or up to where
    its unevaluatedItems starts)."""
    span = len(n.get("prefixItems", []) or [])
    if n.has("unevaluatedItems") and not n.has("items"):
        evaluated = evaluated_prefix(n, runtime=ch.runtime)
        if evaluated is not None and evaluated != math.inf:
            span = max(span, int(evaluated))
    return span


def _b_item(ch: Checker, b: Node, index: int) -> Node | None:
    prefix = b.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return b.child("prefixItems", index)
    if b.has("items"):
        return b.child("items")
    if b.has("unevaluatedItems"):
        evaluated = evaluated_prefix(b, runtime=ch.runtime)
        if evaluated is not None and index >= evaluated:
            return b.child("unevaluatedItems")
    return None


def check_array(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    max_a = _max_items(a)
    derived: dict[str, float] = {} if max_a is None else {"maxItems": max_a}
    if not ch.ignored("contains") and _min_items(a):
        derived["minItems"] = float(_min_items(a))  # contains needs at least one item

    def lengths(keyword: str, limit: float) -> list[Any]:
        n = int(limit) + 1 if keyword == "maxItems" else max(int(limit) - 1, 0)
        return [[first_sample(item_conj(a, i)) for i in range(n)]]

    a_len, b_len = length_view(ch, a, b, "Items")
    check_bounds(ch, a_len, b_len, path, ("minItems", "maxItems"), derived, lengths)
    if b.get("uniqueItems") is True and not ch.ignored("uniqueItems"):
        check_unique_items(ch, a, b, path, max_a)
    check_items(ch, a, b, path, max_a)
    check_unevaluated_items(ch, a, b, path)
    if b.has("contains") and not ch.ignored("contains"):
        check_min_contains(ch, a, b, path)
        check_max_contains(ch, a, b, path, max_a)


def check_unique_items(ch: Checker, a: Conj, b: Node, path: Path, max_a: float | None) -> None:
    """The reader requires unique items: the writer must guarantee them (or at most one)."""
    if any(n.get("uniqueItems") is True for n in a) or (max_a is not None and max_a <= 1):
        return
    writer, reader = ch.labels()
    count = max(2, _min_items(a))
    item0 = item_conj(a, 0)
    ch.report(
        ch.pick(rules.UNIQUE_ITEMS_ADDED, rules.UNIQUE_ITEMS_REMOVED),
        first_ptr(a, "uniqueItems"),
        b.kw("uniqueItems"),
        f"At {where(path)} the {reader} schema requires unique items, which the "
        f"{writer} schema does not guarantee.",
        path,
        lambda: [[v] * count for v in sample_candidates(item0)[:2]],
    )


def check_unevaluated_items(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    if (
        b.has("unevaluatedItems")
        and not ch.accepts_all(b.get("unevaluatedItems"))
        and not b.has("items")
        and evaluated_prefix(b, runtime=ch.runtime) is None
    ):
        # which items count as evaluated depends on the instance (contains, anyOf, ...)
        ch.report(
            rules.UNEVALUATED_ITEMS_CHANGED,
            a[0].ptr,
            b.kw("unevaluatedItems"),
            f"At {where(path)} unevaluatedItems depends on other applicators, so "
            "compatibility could not be proved.",
            path,
        )


def check_items(ch: Checker, a: Conj, b: Node, path: Path, max_a: float | None) -> None:
    """Each tuple position and the tail (items from the longest prefix on)."""
    a_prefix = max((_prefix_span(ch, n) for n in a), default=0)
    span = max(a_prefix, _prefix_span(ch, b))
    writer, reader = ch.labels()
    for index in range(span + 1):
        if max_a is not None and index >= max_a:
            break
        a_item = item_conj(a, index)
        b_item = _b_item(ch, b, index)
        if b_item is None:
            continue
        if index == span:
            false_rule = ch.pick(rules.ADDITIONAL_ITEMS_REMOVED, rules.ADDITIONAL_ITEMS_ADDED)
            open_rule = ch.pick(rules.ADDITIONAL_ITEMS_NARROWED, rules.ADDITIONAL_ITEMS_EXTENDED)
            what = f"items from position {index} on"
        else:
            false_rule = ch.pick(
                rules.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL,
                rules.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL,
            )
            open_rule = ch.pick(
                rules.ITEM_ADDED_TO_OPEN_CONTENT_MODEL, rules.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL
            )
            what = f"the item at position {index}"
        ch.slot(
            a_item,
            b_item,
            (*path, ("item", index, a_item)),
            false_rule=false_rule,
            open_rule=open_rule,
            a_ptr=a_item[0].ptr if a_item else a[0].ptr,
            message=f"At {where(path)} {what} accepts less in the {reader} schema than the "
            f"{writer} schema allows.",
        )


def check_min_contains(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    """The reader's contains (at least minContains matches) must hold for every writer
    array: a writer contains that implies it, or every writer item matching."""
    wanted = b.child("contains")
    need = b.get("minContains", 1)
    if not is_num(need):
        need = 1
    ok = need == 0
    too_few = False  # a writer contains matches, only its minContains is lower
    for n in a:
        if ok or not n.has("contains"):
            continue
        have = n.get("minContains", 1)
        if ch.probe(flatten((n.child("contains"),)), wanted):
            ok = is_num(have) and have >= need
            too_few = not ok
    if not ok and _min_items(a) >= need:
        a_prefix = max((_prefix_span(ch, n) for n in a), default=0)
        ok = all(ch.probe(item_conj(a, i), wanted) for i in range(a_prefix + 1))
    if ok:
        return
    writer, reader = ch.labels()
    if too_few:
        bound = BOUND_BY_KEYWORD["minContains"]
        ch.report(
            bound.rule(writer_has=any(n.has("minContains") for n in a), backward=ch.backward),
            first_ptr(a, "minContains"),
            b.kw("minContains"),
            f"At {where(path)} at least {need} items must match contains in the "
            f"{reader} schema, more than the {writer} schema guarantees.",
            path,
        )
        return
    ch.report(
        ch.pick(rules.CONTAINS_NARROWED, rules.CONTAINS_EXTENDED),
        first_ptr(a, "contains"),
        b.kw("contains"),
        f"At {where(path)} the {reader} schema requires matching "
        "items (contains) that could not be proved present.",
        path,
        lambda: [[]],
    )


def check_max_contains(ch: Checker, a: Conj, b: Node, path: Path, max_a: float | None) -> None:
    """At most maxContains items may match: the writer's own maxContains (of a contains
    at least as wide) or its length must bound them."""
    most = b.get("maxContains")
    if not is_num(most):
        return
    wanted = b.child("contains")
    fine = max_a is not None and max_a <= most
    for n in a:
        limit = n.get("maxContains")
        if (
            is_num(limit)
            and limit <= most
            and n.has("contains")
            and ch.probe(flatten((wanted,)), n.child("contains"))
        ):
            fine = True
    if fine:
        return
    bound = BOUND_BY_KEYWORD["maxContains"]
    _, reader = ch.labels()
    ch.report(
        bound.rule(writer_has=any(n.has("maxContains") for n in a), backward=ch.backward),
        first_ptr(a, "maxContains"),
        b.kw("maxContains"),
        f"At {where(path)} at most {most} items may match contains in the "
        f"{reader} schema, which could not be proved.",
        path,
    )

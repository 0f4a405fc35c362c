"""Rules for arrays: size bounds, uniqueItems, prefixItems/items, contains."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .evaluated import evaluated_prefix
from .nodes import Node, flatten, is_num
from .rules import BOUND_BY_KEYWORD, bound_rule
from .sample import first_sample, item_conj, sample_candidates
from .scalars import check_bounds, length_view
from .text import where

if TYPE_CHECKING:
    from .walker import Checker, Conj, Path


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
    item0 = item_conj(a, 0)

    def lengths(keyword: str, limit: float) -> list[Any]:
        n = int(limit) + 1 if keyword == "maxItems" else max(int(limit) - 1, 0)
        return [[first_sample(item_conj(a, i)) for i in range(n)]]

    a_len, b_len = length_view(ch, a, b, "Items")
    check_bounds(ch, a_len, b_len, path, ("minItems", "maxItems"), derived, lengths)
    writer, reader = ("old", "new") if ch.backward else ("new", "old")
    unique_guaranteed = any(n.get("uniqueItems") is True for n in a) or (
        max_a is not None and max_a <= 1
    )
    if b.get("uniqueItems") is True and not ch.ignored("uniqueItems") and not unique_guaranteed:
        count = max(2, _min_items(a))
        ch.report(
            ch.name("UNIQUE_ITEMS_ADDED", "UNIQUE_ITEMS_REMOVED"),
            next((n.kw("uniqueItems") for n in a if n.has("uniqueItems")), a[0].ptr),
            b.kw("uniqueItems"),
            f"At {where(path)} the {reader} schema requires unique items, which the "
            f"{writer} schema does not guarantee.",
            path,
            lambda: [[v] * count for v in sample_candidates(item0)[:2]],
        )
    _check_items(ch, a, b, path, max_a)
    if (
        b.has("unevaluatedItems")
        and not ch.accepts_all(b.get("unevaluatedItems"))
        and not b.has("items")
        and evaluated_prefix(b, runtime=ch.runtime) is None
    ):
        # which items count as evaluated depends on the instance (contains, anyOf, ...)
        ch.report(
            "UNEVALUATED_ITEMS_CHANGED",
            a[0].ptr,
            b.kw("unevaluatedItems"),
            f"At {where(path)} unevaluatedItems depends on other applicators, so "
            "compatibility could not be proved.",
            path,
        )
    if b.has("contains") and not ch.ignored("contains"):
        _check_contains(ch, a, b, path, max_a)


def _check_items(ch: Checker, a: Conj, b: Node, path: Path, max_a: float | None) -> None:
    a_prefix = max((_prefix_span(ch, n) for n in a), default=0)
    span = max(a_prefix, _prefix_span(ch, b))
    for index in range(span + 1):
        if max_a is not None and index >= max_a:
            break
        tail = index == span
        a_item = item_conj(a, index)
        b_item = _b_item(ch, b, index)
        if b_item is None:
            continue
        seg = ("item", index, a_item)
        if tail:
            rules = (
                ch.name("ADDITIONAL_ITEMS_REMOVED", "ADDITIONAL_ITEMS_ADDED"),
                ch.name("ADDITIONAL_ITEMS_NARROWED", "ADDITIONAL_ITEMS_EXTENDED"),
            )
            what = f"items from position {index} on"
        else:
            rules = (
                ch.name(
                    "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL"
                ),
                ch.name("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL"),
            )
            what = f"the item at position {index}"
        a_ptr = a_item[0].ptr if a_item else a[0].ptr
        ch.slot(
            a_item,
            b_item,
            (*path, seg),
            false_rule=rules[0],
            open_rule=rules[1],
            a_ptr=a_ptr,
            message=f"At {where(path)} {what} accepts less in the "
            f"{'new' if ch.backward else 'old'} schema than the "
            f"{'old' if ch.backward else 'new'} schema allows.",
        )


def _check_contains(ch: Checker, a: Conj, b: Node, path: Path, max_a: float | None) -> None:
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
    if not ok and too_few:
        bound = BOUND_BY_KEYWORD["minContains"]
        ch.report(
            bound_rule(
                bound, writer_has=any(n.has("minContains") for n in a), backward=ch.backward
            ),
            next((n.kw("minContains") for n in a if n.has("minContains")), a[0].ptr),
            b.kw("minContains"),
            f"At {where(path)} at least {need} items must match contains in the "
            f"{'new' if ch.backward else 'old'} schema, more than the "
            f"{'old' if ch.backward else 'new'} schema guarantees.",
            path,
        )
    elif not ok:
        ch.report(
            ch.name("CONTAINS_NARROWED", "CONTAINS_EXTENDED"),
            next((n.kw("contains") for n in a if n.has("contains")), a[0].ptr),
            b.kw("contains"),
            f"At {where(path)} the {'new' if ch.backward else 'old'} schema requires matching "
            "items (contains) that could not be proved present.",
            path,
            lambda: [[]],
        )
    most = b.get("maxContains")
    if is_num(most):
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
        if not fine:
            bound = BOUND_BY_KEYWORD["maxContains"]
            ch.report(
                bound_rule(
                    bound, writer_has=any(n.has("maxContains") for n in a), backward=ch.backward
                ),
                next((n.kw("maxContains") for n in a if n.has("maxContains")), a[0].ptr),
                b.kw("maxContains"),
                f"At {where(path)} at most {most} items may match contains in the "
                f"{'new' if ch.backward else 'old'} schema, which could not be proved.",
                path,
            )

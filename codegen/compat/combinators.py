"""Reader-side combinators: anyOf, oneOf (exclusivity), not, if/then/else."""

from __future__ import annotations

import itertools

from . import rules
from .checker import Checker, Conj, Path
from .disjoint import provably_disjoint
from .nodes import ANNOTATIONS, Node, conj_types, flatten, synthetic
from .sample import sample_candidates
from .text import where


def slices(a: Conj) -> list[tuple[str, Conj]]:
    """The writer cut by JSON type ("number" keeps integers and floats together), each
    slice a synthetic ``{"type": t}`` conjunct with its own cache key."""
    types = set(conj_types(a))
    if {"integer", "float"} <= types:
        types -= {"integer", "float"}
        types.add("number")
    if len(types) <= 1:
        return [(next(iter(types), "value"), a)]
    return [(t, (*a, synthetic({"type": t}, a[0]))) for t in sorted(types)]


def any_of(ch: Checker, a: Conj, b: Node, keyword: str, path: Path) -> None:
    branches = [b.child(keyword, i) for i in range(len(b.schema[keyword]))]
    if any(ch.probe(a, br, path) for br in branches):
        return
    for t, sliced in slices(a):
        if len(sliced) > len(a) and any(ch.probe(sliced, br, path) for br in branches):
            continue
        report_no_branch(ch, a, sliced, b, keyword, t, path)


def report_no_branch(
    ch: Checker, a: Conj, sliced: Conj, b: Node, keyword: str, t: str, path: Path
) -> None:
    """No reader alternative accepts the writer's ``t`` values."""
    writer, reader = ch.labels()
    ch.report(
        ch.pick(rules.SUM_TYPE_NARROWED, rules.SUM_TYPE_EXTENDED),
        a[0].ptr,
        b.kw(keyword),
        f"At {where(path)} no {keyword} alternative of the {reader} schema accepts every "
        f"{t} value the {writer} schema allows.",
        path,
        lambda s=sliced: sample_candidates(s),  # type: ignore[misc]
    )


def one_of(ch: Checker, orig: Conj, a: Conj, b: Node, path: Path) -> None:
    if any(n.has("oneOf") and _same_list(ch, n, b, "oneOf") for n in orig):
        return
    branches = [b.child("oneOf", i) for i in range(len(b.schema["oneOf"]))]
    conjs = [flatten((br,)) for br in branches]
    if all(provably_disjoint(ch, x, y) for x, y in itertools.combinations(conjs, 2)):
        any_of(ch, a, b, "oneOf", path)  # exclusive branches: oneOf is anyOf
        return

    def exactly_one(part: Conj) -> str:
        """ "ok" when ``part`` fits one branch and is disjoint from every other one,
        "overlap" when it fits some branch only, "none" when it fits no branch."""
        containing = [i for i, br in enumerate(branches) if ch.probe(part, br, path)]
        for i in containing:
            if all(provably_disjoint(ch, part, c) for j, c in enumerate(conjs) if j != i):
                return "ok"
        return "overlap" if containing else "none"

    if exactly_one(a) == "ok":
        return
    for t, sliced in slices(a):
        verdict = exactly_one(sliced) if len(sliced) > len(a) else exactly_one(a)
        if verdict == "ok":
            continue
        if verdict == "none":
            report_no_branch(ch, a, sliced, b, "oneOf", t, path)
            continue
        ch.report(
            rules.ONE_OF_NOT_PROVABLY_EXCLUSIVE,
            a[0].ptr,
            b.kw("oneOf"),
            f"At {where(path)} the oneOf alternatives may overlap, so compatibility could "
            "not be proved: a value matching two alternatives is invalid.",
            path,
            lambda s=sliced: sample_candidates(s),  # type: ignore[misc]
        )


def _same_list(ch: Checker, n: Node, b: Node, keyword: str) -> bool:
    mine, theirs = n.get(keyword), b.get(keyword)
    if not isinstance(mine, list) or not isinstance(theirs, list):
        return False
    if len(mine) != len(theirs):
        return False
    return all(ch.equal(n.child(keyword, i), b.child(keyword, i)) for i in range(len(mine)))


def negation(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    negated = b.child("not")
    if negated.has("not") and all(k in ANNOTATIONS or k == "not" for k in negated.schema):
        ch.check(a, negated.child("not"), path)  # not(not X) is X
        return
    if provably_disjoint(ch, a, flatten((negated,))):
        return
    for n in a:
        if n.has("not") and ch.probe(flatten((negated,)), n.child("not")):
            return
    writer, reader = ch.labels()
    ch.report(
        ch.pick(rules.NOT_TYPE_EXTENDED, rules.NOT_TYPE_NARROWED),
        a[0].ptr,
        b.kw("not"),
        f"At {where(path)} the {reader} schema forbids (not) values that could not be "
        f"proved absent from the {writer} schema.",
        path,
        lambda: sample_candidates(a),
    )


def conditional(ch: Checker, orig: Conj, a: Conj, b: Node, path: Path) -> None:
    parts = ("if", "then", "else")
    for n in orig:
        if all(
            (n.has(k) == b.has(k)) and (not b.has(k) or ch.equal(n.child(k), b.child(k)))
            for k in parts
        ):
            return
    cond = flatten((b.child("if"),))
    then_ok = not b.has("then") or ch.probe(a, b.child("then"), path)
    else_ok = not b.has("else") or ch.probe(a, b.child("else"), path)
    if then_ok and else_ok:
        return
    if then_ok and ch.probe(a, b.child("if")):
        return
    if else_ok and provably_disjoint(ch, a, cond):
        return
    if b.has("then") and not then_ok and else_ok and ch.probe((*a, *cond), b.child("then"), path):
        return
    ch.report(
        rules.CONDITIONAL_CHANGED,
        a[0].ptr,
        b.kw("if"),
        f"At {where(path)} the if/then/else of the reading schema could not be proved "
        "to accept every value of the writing schema.",
        path,
        lambda: sample_candidates(a),
    )

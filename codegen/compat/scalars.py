"""Rules for types, enum/const values, strings and numbers."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

from . import rules
from .checker import Checker, Conj, Path
from .jsonvalue import json_in, json_type
from .model import Rule
from .nodes import (
    ALL_TYPES,
    ANNOTATIONS,
    Node,
    conj_types,
    first_ptr,
    flatten,
    int_bounds,
    is_num,
    schema_types,
    synthetic,
    trivially_true,
)
from .rules import BOUND_BY_KEYWORD, Bound
from .sample import counter_samples, sample_candidates
from .text import type_label, where

_SIMPLE_KEYS = frozenset({"type", "enum", "const"}) | ANNOTATIONS
_NO_VERDICT = object()  # jsonschema could not finish (see validation.outcome)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def report_types(
    ch: Checker, a: Conj, b: Node, ta: frozenset[str], tb: frozenset[str], path: Path
) -> None:
    missing = ta - tb
    rule = ch.pick(rules.TYPE_NARROWED, rules.TYPE_EXTENDED) if ta & tb else rules.TYPE_CHANGED
    old, new = ch.old_new(ta, tb if tb != ALL_TYPES else ta | tb)
    writer, reader = ch.labels()
    ch.report(
        rule,
        first_ptr(a, "type"),
        b.kw("type"),
        f"At {where(path)} the type changed from {type_label(old)} to {type_label(new)}; "
        f"{type_label(missing)} values allowed by the {writer} schema are rejected by the "
        f"{reader} schema.",
        path,
        lambda: [v for t in sorted(missing) for v in sample_candidates(a, t)],
    )


def report_enum_added(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    """The reader restricts to a value set while the writer's set is unbounded."""
    writer, reader = ch.labels()
    keyword = "const" if b.has("const") else "enum"
    ch.report(
        ch.pick(rules.ENUM_ARRAY_NARROWED, rules.ENUM_ARRAY_EXTENDED),
        a[0].ptr,
        b.kw(keyword),
        f"At {where(path)} the {reader} schema only allows listed values ({keyword}) while "
        f"the {writer} schema allows other values too.",
        path,
        lambda: [*sample_candidates(a), *counter_samples(b)],
    )


def is_simple_node(n: Node) -> bool:
    return not isinstance(n.schema, dict) or n.schema.keys() <= _SIMPLE_KEYS


def _simple(b: Node) -> bool:
    return all(
        isinstance(n.schema, dict) and n.schema.keys() <= _SIMPLE_KEYS for n in flatten((b,))
    )


def _simple_valid(value: Any, b: Node) -> bool:
    for n in flatten((b,)):
        s = n.schema
        if json_type(value) not in conj_types((n,)):
            return False
        if "const" in s and not json_in(value, [s["const"]]):
            return False
        if "enum" in s and not json_in(value, list(s["enum"])):
            return False
    return True


def check_values(ch: Checker, a: Conj, values: list[Any], b: Node, path: Path) -> None:
    """Exact check for a finite writer: validate every writer value against the reader."""
    simple = _simple(b)
    for value in values:
        ok = _simple_valid(value, b) if simple else ch.validates(value, b, unknown=False)
        if ok and ch.runtime and not simple:
            ok = _model_accepts(ch, value, b)
        if not ok:
            report_value(ch, a, value, values, b, path)


_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "patternProperties")


def _model_accepts(ch: Checker, value: Any, b: Node, depth: int = 0) -> bool:
    """Generator quirks jsonschema does not see (runtime): object keywords turn any schema
    into a model class, and length keywords apply to strings and lists alike. Unions
    (anyOf/oneOf) accept a value when one branch does, quirks included."""
    if depth > 8:
        return True
    for n in flatten((b,)):
        if not isinstance(n.schema, dict):
            continue
        declared = schema_types({"type": n.schema["type"]}) if "type" in n.schema else None
        shaped = any(n.has(k) for k in _OBJECT_KEYWORDS)
        object_only = shaped and (declared is None or "object" not in declared)
        if object_only and not isinstance(value, dict):
            return False
        if isinstance(value, (str, list)):
            size = len(value)
            for key in ("maxLength", "maxItems"):
                if is_num(n.get(key)) and size > n.schema[key]:
                    return False
            for key in ("minLength", "minItems"):
                if is_num(n.get(key)) and size < n.schema[key]:
                    return False
        for keyword in ("anyOf", "oneOf"):
            branches = n.get(keyword)
            if isinstance(branches, list) and not any(
                ch.validates(value, n.child(keyword, i), unknown=False)
                and _model_accepts(ch, value, n.child(keyword, i), depth + 1)
                for i in range(len(branches))
            ):
                return False
    return True


def report_value(ch: Checker, a: Conj, value: Any, values: list[Any], b: Node, path: Path) -> None:
    """A value of a finite writer that the reader rejects, named by the keyword that
    rejects it."""
    writer, reader = ch.labels()
    rule = ch.pick(rules.ENUM_ARRAY_NARROWED, rules.ENUM_ARRAY_EXTENDED)
    keyword = "enum"
    b_ptr = b.ptr
    b_enum = b.get("enum") if b.has("enum") else ([b.get("const")] if b.has("const") else None)
    if b_enum is not None and not json_in(value, list(b_enum)):
        keyword = "enum" if b.has("enum") else "const"
        b_ptr = b.kw(keyword)
        if any(not json_in(v, values) for v in b_enum):
            rule = rules.ENUM_ARRAY_CHANGED
    elif json_type(value) not in conj_types((b,)):
        keyword = "type"
        b_ptr = b.kw("type")
        rule = ch.pick(rules.TYPE_NARROWED, rules.TYPE_EXTENDED)
    elif not _simple(b):
        keyword = _failing_keyword(ch, value, b)
        if keyword and b.has(keyword):
            b_ptr = b.kw(keyword)
        rule = _keyword_rule(ch, a, keyword) or rule
    ch.report(
        rule,
        first_ptr(a, "enum") if any(n.has("enum") for n in a) else first_ptr(a, "const"),
        b_ptr,
        f"At {where(path)} the value {_show(value)} allowed by the {writer} schema is rejected "
        f"by the {reader} schema ({keyword}).",
        path,
        lambda: [value],
    )


def _failing_keyword(ch: Checker, value: Any, b: Node) -> str:
    from jsonschema.exceptions import best_match

    from codegen.validation import outcome, without_dialect

    validator = ch.validator(b.doc).evolve(schema=without_dialect(b.schema))
    # An unresolvable ref or a ref cycle: name no keyword.
    error: Any = outcome(lambda: best_match(validator.iter_errors(value)), _NO_VERDICT)
    if error is _NO_VERDICT:
        return "$ref"
    if error is None:
        return "enum"
    path = list(error.relative_schema_path)
    return str(path[0]) if path else str(error.validator)


def _keyword_rule(ch: Checker, a: Conj, keyword: str) -> Rule | None:
    bound = BOUND_BY_KEYWORD.get(keyword)
    has = any(n.has(keyword) for n in a)
    if bound is not None:
        return bound.rule(writer_has=has, backward=ch.backward)
    if keyword in rules.KEYWORD_RULES:
        added, removed, changed = rules.KEYWORD_RULES[keyword]
        return changed if has else ch.pick(added, removed)
    return None


def check_bounds(
    ch: Checker,
    a: Conj,
    b: Node,
    path: Path,
    keywords: tuple[str, ...],
    derived: dict[str, float],
    witness: Any,
) -> None:
    """Generic size-bound rule (minLength, maxItems, ...) driven by the BOUNDS data."""
    for keyword in keywords:
        limit = b.get(keyword)
        if not is_num(limit) or ch.ignored(keyword):
            continue
        bound = BOUND_BY_KEYWORD[keyword]
        explicit = [n.schema[keyword] for n in a if is_num(n.get(keyword))]
        known = explicit + ([derived[keyword]] if keyword in derived else [])
        if bound.kind == "upper":
            best = min(known) if known else None
            ok = best is not None and best <= limit
        else:
            best = max(known) if known else None
            ok = best is not None and best >= limit
        if ok:
            continue
        old, new = ch.old_new(best, limit)
        ch.report(
            bound.rule(writer_has=bool(explicit), backward=ch.backward),
            first_ptr(a, keyword),
            b.kw(keyword),
            f"At {where(path)} the {bound.side} {bound.subject} ({keyword}) changed from "
            f"{_fmt(old)} to {_fmt(new)}.",
            path,
            lambda k=keyword, lim=limit: witness(k, lim),  # type: ignore[misc]
        )


def length_view(ch: Checker, a: Conj, b: Node, stem: str) -> tuple[Conj, Node]:
    """Runtime: the generated models turn minLength/minItems (maxLength/maxItems) alike
    into pydantic min_length (max_length) on strings and lists. A reader enforces the
    tightest of the pair, a writer (precedence unknown) only the loosest."""
    if not ch.runtime:
        return a, b
    return tuple(_length_node(n, stem, reader=False) for n in a), _length_node(b, stem, reader=True)


def _length_node(n: Node, stem: str, *, reader: bool) -> Node:
    if not isinstance(n.schema, dict):
        return n
    out: dict[str, Any] = {}
    for side, pick_reader, pick_writer in (("max", min, max), ("min", max, min)):
        values = [n.schema[k] for k in (side + "Length", side + "Items") if is_num(n.get(k))]
        if reader and stem == "Items":
            values += _contains_lengths(n.schema, side)
        if values:
            out[side + stem] = (pick_reader if reader else pick_writer)(values)
    if not out:
        return synthetic({}, n)
    return synthetic(out, n)


def _contains_lengths(schema: dict[str, Any], side: str) -> list[Any]:
    """A ``contains`` every item matches is a length bound in the generated model (the
    fuzzer found): at least minContains items (default 1), at most maxContains. The
    generator does so only for a contains that accepts anything; a reader gets the bound
    for any trivially true one (a bound the model lacks only costs a false alarm)."""
    if "contains" not in schema or not trivially_true(schema["contains"]):
        return []
    if side == "min":
        least = schema.get("minContains", 1)
        if not is_num(least):
            return [1]
        return [least] if least > 0 else []
    most = schema.get("maxContains")
    return [most] if is_num(most) else []


def _fmt(value: Any) -> str:
    return "none" if value is None else _show(value)


def check_string(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    string_a = (*a, synthetic({"type": "string"}, a[0]))

    def lengths(keyword: str, limit: float) -> list[Any]:
        n = int(limit) + 1 if keyword == "maxLength" else max(int(limit) - 1, 0)
        return ["x" * n]

    a_len, b_len = length_view(ch, string_a, b, "Length")
    check_bounds(ch, a_len, b_len, path, ("minLength", "maxLength"), {}, lengths)
    check_pattern(ch, string_a, b, path)
    if not ch.ignored("format"):
        check_format(ch, a, b, path)


def check_pattern(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    """A reader pattern the writer does not share (regex containment is not decided)."""
    pattern = b.get("pattern")
    if not isinstance(pattern, str) or pattern in ("", ".*"):
        return
    mine = [n.get("pattern") for n in a if n.has("pattern")]
    if pattern in mine:
        return
    writer, reader = ch.labels()
    changed = bool(mine)
    ch.report(
        rules.PATTERN_CHANGED if changed else ch.pick(rules.PATTERN_ADDED, rules.PATTERN_REMOVED),
        first_ptr(a, "pattern"),
        b.kw("pattern"),
        f"At {where(path)} the {reader} schema requires the pattern {_show(pattern)}"
        + (
            f" instead of {_show(mine[0])}; regex containment cannot be checked, so "
            "compatibility could not be proved."
            if changed
            else f", which the {writer} schema did not require."
        ),
        path,
        lambda: [*sample_candidates(a, "string"), "", "x", "0", "A-1"],
    )


def check_format(ch: Checker, a: Conj, b: Node, path: Path) -> None:
    """A reader format the writer does not guarantee (validators may assert it)."""
    fmt = b.get("format")
    if not isinstance(fmt, str):
        return
    mine = [n.get("format") for n in a if n.has("format")]
    if fmt in mine:
        return
    writer, reader = ch.labels()
    ch.report(
        rules.FORMAT_CHANGED if mine else ch.pick(rules.FORMAT_ADDED, rules.FORMAT_REMOVED),
        first_ptr(a, "format"),
        b.kw("format"),
        f"At {where(path)} the {reader} schema asserts the format {_show(fmt)}, which "
        f"the {writer} schema does not guarantee, so compatibility could not be proved.",
        path,
        lambda: ["not-a-" + fmt, "x", ""],
    )


def _lower(a: Conj) -> tuple[float, bool] | None:
    best: tuple[float, bool] | None = None
    for n in a:
        for key, excl in (("minimum", False), ("exclusiveMinimum", True)):
            value = n.get(key)
            if is_num(value) and (best is None or (value, excl) > best):
                best = (value, excl)
    return best


def _upper(a: Conj) -> tuple[float, bool] | None:
    best: tuple[float, bool] | None = None
    for n in a:
        for key, excl in (("maximum", False), ("exclusiveMaximum", True)):
            value = n.get(key)
            if is_num(value) and (best is None or (-value, excl) > (-best[0], best[1])):
                best = (value, excl)
    return best


def number_range(a: Conj) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    return _lower(a), _upper(a)


def _float_implies(writer: Any, reader: Any) -> bool:
    """Every multiple of ``writer`` passes ``multipleOf: reader`` as validators check it.

    jsonschema divides in binary floating point when the step is a float (``0.3 / 0.1``
    is not an integer there) and takes an exact remainder when it is an integer, so
    decimal divisibility proves nothing: only the same step, or an integer writer step
    that an (integral) reader step divides exactly, is proved.
    """
    if writer == reader and type(writer) is type(reader):
        return True
    if isinstance(writer, int) and float(reader).is_integer():
        return writer % int(reader) == 0
    return False


def _divides_every_integer(step: Any) -> bool:
    """Integers are multiples of ``step`` in floating point too: 1 or 1/2**k."""
    if step == 1:
        return True
    if not isinstance(step, float) or step >= 1:
        return False
    inverse = 1 / step
    return inverse.is_integer() and int(inverse) & (int(inverse) - 1) == 0


def _divides(small: Any, big: Any) -> bool:
    """True when ``big`` is an integer multiple of ``small`` (exact decimal arithmetic)."""
    try:
        ratio = Fraction(str(big)) / Fraction(str(small))
    except (ValueError, ZeroDivisionError):
        return False
    return ratio.denominator == 1


def check_number(ch: Checker, a: Conj, b: Node, path: Path, *, integer_only: bool) -> None:
    check_range(ch, a, b, path, integer_only=integer_only)
    check_multiple_of(ch, a, b, path, integer_only=integer_only)


Limit = tuple[float, bool]  # (value, exclusive)


def check_range(ch: Checker, a: Conj, b: Node, path: Path, *, integer_only: bool) -> None:
    """minimum/maximum and their exclusive forms: every writer number within the reader's."""
    lo, hi = _lower(a), _upper(a)
    a_int = int_bounds(lo, hi)
    for keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        limit = b.get(keyword)
        if not is_num(limit):
            continue
        bound = BOUND_BY_KEYWORD[keyword]
        ok, mine, guesses = _range_verdict(bound, limit, (lo, hi), a_int, integer_only)
        if ok:
            continue
        old, new = ch.old_new(mine[0] if mine else None, limit)
        values = [g for g in guesses if isinstance(g, (int, float)) and math.isfinite(g)]
        if integer_only:
            values = [int(g) for g in values if float(g).is_integer()]
        ch.report(
            bound.rule(writer_has=any(n.has(keyword) for n in a), backward=ch.backward),
            first_ptr(a, keyword),
            b.kw(keyword),
            f"At {where(path)} the {bound.side} ({keyword}) changed from {_fmt(old)} to "
            f"{_fmt(new)}.",
            path,
            lambda v=values: v,  # type: ignore[misc]
        )


def _range_verdict(
    bound: Bound,
    limit: float,
    writer: tuple[Limit | None, Limit | None],
    a_int: tuple[float, float],
    integer_only: bool,
) -> tuple[bool, Limit | None, list[Any]]:
    """(the writer's range satisfies the reader's ``limit``, the writer's own limit on that
    side, numbers to try as witnesses)."""
    lo, hi = writer
    excl = bound.exclusive
    if bound.kind == "lower":
        if integer_only:
            ok = a_int[0] >= int_bounds((limit, excl), None)[0]
        else:
            ok = lo is not None and (lo[0] > limit or (lo[0] == limit and (lo[1] or not excl)))
        return ok, lo, [limit - 1, limit if excl else limit - 0.5, a_int[0], math.floor(limit)]
    if integer_only:
        ok = a_int[1] <= int_bounds(None, (limit, excl))[1]
    else:
        ok = hi is not None and (hi[0] < limit or (hi[0] == limit and (hi[1] or not excl)))
    return ok, hi, [limit + 1, limit if excl else limit + 0.5, a_int[1], math.ceil(limit)]


def check_multiple_of(ch: Checker, a: Conj, b: Node, path: Path, *, integer_only: bool) -> None:
    """A reader step every writer number must be a multiple of."""
    step = b.get("multipleOf")
    if not is_num(step) or step <= 0:
        return
    mine_steps = [n.get("multipleOf") for n in a if is_num(n.get("multipleOf"))]
    if ch.runtime and not float(step).is_integer() and not integer_only:
        # pydantic checks float multiples in binary floating point, where 0.1 does not
        # divide 0.3; only an unchanged step is known to behave the same.
        proved = step in mine_steps
    else:
        proved = any(_float_implies(m, step) for m in mine_steps) or (
            integer_only and _divides_every_integer(step)
        )
    if proved:
        return
    if not mine_steps:
        rule = ch.pick(rules.MULTIPLE_OF_ADDED, rules.MULTIPLE_OF_REMOVED)
    elif _divides(mine_steps[0], step):
        rule = ch.pick(rules.MULTIPLE_OF_EXPANDED, rules.MULTIPLE_OF_REDUCED)
    else:
        rule = rules.MULTIPLE_OF_CHANGED
    old, new = ch.old_new(mine_steps[0] if mine_steps else None, step)
    writer, reader = ch.labels()
    base = [m * k for m in mine_steps[:1] for k in (1, 3, 5)] or [1, 3, 0.5, 1.5]
    ch.report(
        rule,
        first_ptr(a, "multipleOf"),
        b.kw("multipleOf"),
        f"At {where(path)} multipleOf changed from {_fmt(old)} to {_fmt(new)}; values that "
        f"are multiples of the {writer} step need not be multiples of the {reader} step.",
        path,
        lambda: [v for v in base if not _divides(step, v)],
    )

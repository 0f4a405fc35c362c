"""The subschema walker: proves "every instance of the writer schema is valid under the
reader schema" or records located issues where it cannot.

The writer side is a conjunction of nodes (``$ref`` and ``allOf`` flattened, disjunctions
expanded into branches); the reader side is one node checked keyword by keyword. Rule
functions for each JSON type live in ``scalars``, ``arrays`` and ``objects``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import arrays, objects, scalars
from .disjoint import provably_disjoint
from .emptiness import live_types
from .jsonvalue import json_in, json_type
from .nodes import (
    ALL_TYPES,
    Doc,
    Equality,
    Node,
    UnresolvableRef,
    conj_types,
    flatten,
    int_bounds,
    resolve_ref,
    schema_types,
    trivially_true,
)
from .sample import counter_samples, sample_candidates

Conj = tuple[Node, ...]
# One step of the instance path: ("prop", name | None, writer conj) or ("item", index, conj).
Seg = tuple[str, Any, Conj]
Path = tuple[Seg, ...]

# Keywords the generated pydantic models neither enforce on writers nor check on readers.
RUNTIME_IGNORED = frozenset(
    {"uniqueItems", "not", "contains", "minContains", "maxContains", "dependentRequired"}
    | {"if", "then", "else"}
)
MAX_BRANCHES = 64


@dataclass
class Issue:
    rule: str
    a_ptr: str
    b_ptr: str
    message: str
    path: Path
    candidates: Callable[[], list[Any]] | None = None


def type_label(types: frozenset[str] | set[str]) -> str:
    names = set(types)
    if {"integer", "float"} <= names:
        names -= {"integer", "float"}
        names.add("number")
    elif "float" in names:
        names.remove("float")
        names.add("non-integer number")
    return ", ".join(sorted(names)) or "nothing"


def where(path: Path) -> str:
    text = ""
    for kind, key, _ in path:
        if kind == "prop":
            text += ("." if text else "") + (str(key) if key is not None else "<other>")
        else:
            text += f"[{key}]" if isinstance(key, int) else "[]"
    return f'property "{text}"' if text else "the document root"


class Checker:
    def __init__(self, writer: Doc, reader: Doc, *, backward: bool, runtime: bool) -> None:
        self.writer = writer
        self.reader = reader
        self.backward = backward
        self.runtime = runtime
        self.issues: list[Issue] = []
        self._active: set[tuple[tuple[int, ...], int]] = set()
        self._equal_cache: dict[tuple[int, int], bool] = {}
        self._validators: dict[int, Any] = {}
        self._empty: dict[tuple[int, ...], bool] = {}
        self.witness_bases: list[Any] | None = None  # filled lazily by witness.build

    # --- helpers shared by the rule modules -------------------------------------------
    def name(self, backward_rule: str, forward_rule: str) -> str:
        return backward_rule if self.backward else forward_rule

    def old_new(self, writer_value: Any, reader_value: Any) -> tuple[Any, Any]:
        """Map writer/reader values to (old, new) for messages."""
        if self.backward:
            return writer_value, reader_value
        return reader_value, writer_value

    def ignored(self, keyword: str) -> bool:
        return self.runtime and keyword in RUNTIME_IGNORED

    def report(
        self,
        rule: str,
        a_ptr: str,
        b_ptr: str,
        message: str,
        path: Path,
        candidates: Callable[[], list[Any]] | None = None,
    ) -> None:
        self.issues.append(Issue(rule, a_ptr, b_ptr, message, path, candidates))

    def empty(self, a: Conj) -> bool:
        key = tuple(id(n.schema) for n in a)
        found = self._empty.get(key)
        if found is None:
            found = self._empty[key] = is_empty(a)
        return found

    def equal(self, a: Node, b: Node) -> bool:
        key = (id(a.schema), id(b.schema))
        cached = self._equal_cache.get(key)
        if cached is None:
            cached = Equality().nodes(a, b)
            self._equal_cache[key] = cached
        return cached

    def probe(self, a: Conj, b: Node, path: Path = ()) -> bool:
        """Silent containment check: True when no issue would be reported."""
        saved = self.issues
        self.issues = []
        try:
            self.check(a, b, path)
            return not self.issues
        finally:
            self.issues = saved

    def collect(self, a: Conj, b: Node, path: Path) -> list[Issue]:
        saved = self.issues
        self.issues = []
        try:
            self.check(a, b, path)
            return self.issues
        finally:
            self.issues = saved

    def wrapped(
        self, a: Conj, b: Node, path: Path, rule: str, a_ptr: str, b_ptr: str, message: str
    ) -> None:
        """Check a sub-pair but report one finding under ``rule`` (nested witness kept)."""
        nested = self.collect(a, b, path)
        if nested:
            first = nested[0]
            self.report(rule, a_ptr, b_ptr, message, first.path, first.candidates)

    def validator(self, doc: Doc) -> Any:
        found = self._validators.get(id(doc))
        if found is None:
            from jsonschema import Draft202012Validator

            found = Draft202012Validator(
                _without_nested_ids(doc.root), format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self._validators[id(doc)] = found
        return found

    def validates(self, value: Any, node: Node) -> bool:
        schema = _without_nested_ids(node.schema, keep_root=False)
        return bool(self.validator(node.doc).evolve(schema=schema).is_valid(value))

    def slot(
        self,
        a: Conj,
        b: Node | None,
        path: Path,
        *,
        false_rule: str,
        open_rule: str,
        a_ptr: str,
        message: str,
    ) -> None:
        """Check one sub-position (a property, an item, additional keys) of a pair."""
        if b is None or trivially_true(b.schema) or self.empty(a):
            return
        if b.schema is False:
            self.report(false_rule, a_ptr, b.ptr, message, path, lambda: sample_candidates(a))
        elif all(trivially_true(n.schema) for n in a):
            self.report(open_rule, a_ptr, b.ptr, message, path, lambda: counter_samples(b))
        else:
            self.check(a, b, path)

    # --- the walk ----------------------------------------------------------------------
    def check(self, a: Conj, b: Node, path: Path) -> None:
        a = flatten(a)
        bs = b.schema
        if trivially_true(bs) or self.empty(a):
            return
        if bs is False:
            self.report(
                "SCHEMA_FALSE",
                a[0].ptr if a else "",
                b.ptr,
                f"At {where(path)} the reading schema is false, so nothing is accepted.",
                path,
                lambda: sample_candidates(a),
            )
            return
        if not isinstance(bs, dict):
            return
        if any(self.equal(n, b) for n in a):
            return
        key = (tuple(id(n.schema) for n in a), id(bs))
        if key in self._active:
            return  # recursive schema: assume the pair holds while proving it (coinduction)
        self._active.add(key)
        try:
            self._check_node(a, b, path)
        finally:
            self._active.discard(key)

    def _check_node(self, a: Conj, b: Node, path: Path) -> None:
        bs = b.schema
        if "$ref" in bs:
            try:
                self.check(a, resolve_ref(b.doc, bs["$ref"]), path)
            except UnresolvableRef as exc:
                self.report("UNRESOLVABLE_REF", a[0].ptr, b.kw("$ref"), f"{exc}.", path)
        for i in range(len(bs.get("allOf", ()))):
            self.check(a, b.child("allOf", i), path)
        if "$dynamicRef" in bs or "$recursiveRef" in bs:
            self.report(
                "UNSUPPORTED_KEYWORD",
                a[0].ptr,
                b.ptr,
                f"At {where(path)} the schema uses $dynamicRef, so compatibility could not "
                "be proved.",
                path,
            )
        for branch in expand(a):
            if not self.empty(branch):
                self._check_branch(a, branch, b, path)

    def _check_branch(self, orig: Conj, a: Conj, b: Node, path: Path) -> None:
        bs = b.schema
        values = finite_values(self, a)
        if values is not None:
            scalars.check_values(self, a, values, b, path)
            return
        if "anyOf" in bs:
            self._any_of(a, b, "anyOf", path)
        if "oneOf" in bs:
            if self.runtime:
                self._any_of(a, b, "oneOf", path)  # pydantic unions are never exclusive
            else:
                self._one_of(orig, a, b, path)
        if "not" in bs and not self.ignored("not"):
            self._not(a, b, path)
        if "if" in bs and not self.ignored("if"):
            self._conditional(orig, a, b, path)
        ta = live_types(a)
        if self.runtime and "integer" in ta and any(_declares_number(n) for n in a):
            # A "number" field is a float in the generated model even with an integral
            # multipleOf, and pydantic cannot read floats beyond 2**63 as int.
            ta = ta | {"float"}
        tb = schema_types({"type": bs["type"]}) if "type" in bs else ALL_TYPES
        missing = ta - tb
        if missing:
            scalars.report_types(self, a, b, ta, tb, path)
        if "const" in bs or "enum" in bs:
            scalars.report_enum_added(self, a, b, path)
        common = ta & tb
        if "string" in common:
            scalars.check_string(self, a, b, path)
        if common & {"integer", "float"}:
            scalars.check_number(self, a, b, path, integer_only="float" not in ta)
        if "array" in common:
            arrays.check_array(self, a, b, path)
        if "object" in common:
            objects.check_object(self, a, b, path)

    # --- combinators on the reader side ------------------------------------------------
    def _any_of(self, a: Conj, b: Node, keyword: str, path: Path) -> None:
        branches = [b.child(keyword, i) for i in range(len(b.schema[keyword]))]
        types = set(conj_types(a))
        if {"integer", "float"} <= types:
            types -= {"integer", "float"}
            types.add("number")
        for t in sorted(types):
            sliced = (*a, Node({"type": t}, a[0].ptr, a[0].doc)) if len(types) > 1 else a
            if any(self.probe(sliced, br, path) for br in branches):
                continue
            self.report(
                self.name("SUM_TYPE_NARROWED", "SUM_TYPE_EXTENDED"),
                a[0].ptr,
                b.kw(keyword),
                f"At {where(path)} no {keyword} alternative of the "
                f"{'new' if self.backward else 'old'} schema accepts every "
                f"{t} value the {'old' if self.backward else 'new'} schema allows.",
                path,
                lambda s=sliced: sample_candidates(s),  # type: ignore[misc]
            )

    def _one_of(self, orig: Conj, a: Conj, b: Node, path: Path) -> None:
        if any(n.has("oneOf") and self._same_list(n, b, "oneOf") for n in orig):
            return
        branches = [b.child("oneOf", i) for i in range(len(b.schema["oneOf"]))]
        conjs = [flatten((br,)) for br in branches]
        exclusive = all(provably_disjoint(self, x, y) for x, y in itertools.combinations(conjs, 2))
        if exclusive:
            self._any_of(a, b, "oneOf", path)
            return
        containing = [i for i, br in enumerate(branches) if self.probe(a, br, path)]
        for i in containing:
            if all(provably_disjoint(self, a, c) for j, c in enumerate(conjs) if j != i):
                return
        if not containing:
            self._any_of(a, b, "oneOf", path)
            return
        self.report(
            "ONE_OF_NOT_PROVABLY_EXCLUSIVE",
            a[0].ptr,
            b.kw("oneOf"),
            f"At {where(path)} the oneOf alternatives may overlap, so compatibility could "
            "not be proved: a value matching two alternatives is invalid.",
            path,
            lambda: sample_candidates(a),
        )

    def _same_list(self, n: Node, b: Node, keyword: str) -> bool:
        mine, theirs = n.get(keyword), b.get(keyword)
        if not isinstance(mine, list) or not isinstance(theirs, list):
            return False
        if len(mine) != len(theirs):
            return False
        return all(self.equal(n.child(keyword, i), b.child(keyword, i)) for i in range(len(mine)))

    def _not(self, a: Conj, b: Node, path: Path) -> None:
        negated = b.child("not")
        if provably_disjoint(self, a, flatten((negated,))):
            return
        for n in a:
            if n.has("not") and self.probe(flatten((negated,)), n.child("not")):
                return
        self.report(
            self.name("NOT_TYPE_EXTENDED", "NOT_TYPE_NARROWED"),
            a[0].ptr,
            b.kw("not"),
            f"At {where(path)} the {'new' if self.backward else 'old'} schema forbids "
            "(not) values that could not be proved absent from the "
            f"{'old' if self.backward else 'new'} schema.",
            path,
            lambda: sample_candidates(a),
        )

    def _conditional(self, orig: Conj, a: Conj, b: Node, path: Path) -> None:
        parts = ("if", "then", "else")
        for n in orig:
            if all(
                (n.has(k) == b.has(k)) and (not b.has(k) or self.equal(n.child(k), b.child(k)))
                for k in parts
            ):
                return
        cond = flatten((b.child("if"),))
        then_ok = not b.has("then") or self.probe(a, b.child("then"), path)
        else_ok = not b.has("else") or self.probe(a, b.child("else"), path)
        if then_ok and else_ok:
            return
        if then_ok and self.probe(a, b.child("if")):
            return
        if else_ok and provably_disjoint(self, a, cond):
            return
        if (
            b.has("then")
            and not then_ok
            and else_ok
            and self.probe((*a, *cond), b.child("then"), path)
        ):
            return
        self.report(
            "CONDITIONAL_CHANGED",
            a[0].ptr,
            b.kw("if"),
            f"At {where(path)} the if/then/else of the reading schema could not be proved "
            "to accept every value of the writing schema.",
            path,
            lambda: sample_candidates(a),
        )


def is_empty(a: Conj) -> bool:
    """Provably no instance: a false member, no common type, or no common enum value."""
    if any(n.schema is False for n in a):
        return True
    if not live_types(a):
        return True
    values = _enum_values(a)
    return values is not None and not values


def _enum_values(a: Conj) -> list[Any] | None:
    result: list[Any] | None = None
    for n in a:
        if not isinstance(n.schema, dict):
            continue
        if "const" in n.schema:
            options = [n.schema["const"]]
        elif isinstance(n.schema.get("enum"), list):
            options = list(n.schema["enum"])
        else:
            continue
        result = options if result is None else [v for v in result if json_in(v, options)]
    if result is None:
        return None
    types = conj_types(a)
    return [v for v in result if json_type(v) in types]


def finite_values(ch: Checker, a: Conj) -> list[Any] | None:
    """The writer's values when the set is small and known (enum, const, null, boolean,
    a short integer range), filtered by the writer's other constraints."""
    values = _enum_values(a)
    types = conj_types(a)
    if values is None:
        if types <= {"null", "boolean"}:
            values = ([None] if "null" in types else []) + (
                [False, True] if "boolean" in types else []
            )
        elif types and types <= {"integer", "float"} and _single_number(a) is not None:
            values = [_single_number(a)]
        elif types == {"integer"}:
            low, high = int_bounds(*scalars.number_range(a))
            if not (math.isfinite(low) and math.isfinite(high) and high - low <= 64):
                return None
            values = list(range(int(low), int(high) + 1))
        else:
            return None
    strict_nodes = [n for n in a if not scalars.is_simple_node(n)]
    if strict_nodes:
        values = [v for v in values if all(ch.validates(v, n) for n in strict_nodes)]
    return values


def expand(a: Conj) -> list[Conj]:
    """Distribute the writer's anyOf/oneOf/if-then-else into branches (over-approximate:
    a oneOf is read as anyOf; past MAX_BRANCHES the rest is dropped, which only makes the
    writer larger and so stays sound)."""
    done: set[tuple[int, str]] = set()
    work: list[Conj] = [a]
    out: list[Conj] = []
    while work:
        conj = work.pop()
        target = None
        for n in conj:
            if (id(n.schema), n.ptr) in done or not isinstance(n.schema, dict):
                continue
            if "anyOf" in n.schema or "oneOf" in n.schema or "if" in n.schema:
                target = n
                break
        if target is None:
            out.append(conj)
            continue
        done.add((id(target.schema), target.ptr))
        alternatives = _alternatives(target)
        if len(out) + len(work) + len(alternatives) > MAX_BRANCHES:
            work.append(conj)
            continue
        for alt in alternatives:
            work.append(flatten((*conj, *alt)))
    return out


def _alternatives(n: Node) -> list[Conj]:
    s = n.schema
    groups: list[list[Conj]] = []
    for keyword in ("anyOf", "oneOf"):
        if isinstance(s.get(keyword), list):
            groups.append([(n.child(keyword, i),) for i in range(len(s[keyword]))])
    if "if" in s:
        then = (n.child("if"), n.child("then")) if "then" in s else (n.child("if"),)
        other = (n.child("else"),) if "else" in s else ()
        groups.append([then, other])
    combos: list[Conj] = [()]
    for group in groups:
        combos = [(*c, *g) for c in combos for g in group]
    return combos


def _without_nested_ids(schema: Any, *, keep_root: bool = True) -> Any:
    """Copy without embedded ``$id``s: the loader rewrites every ref relative to the
    document root, so an embedded resource id would make jsonschema resolve them wrongly."""
    if isinstance(schema, dict):
        return {
            k: _without_nested_ids(v, keep_root=False)
            for k, v in schema.items()
            if keep_root or k != "$id"
        }
    if isinstance(schema, list):
        return [_without_nested_ids(v, keep_root=False) for v in schema]
    return schema


def _declares_number(n: Node) -> bool:
    declared = n.get("type")
    return declared == "number" or (isinstance(declared, list) and "number" in declared)


def _single_number(a: Conj) -> float | None:
    lo, hi = scalars.number_range(a)
    if lo is not None and hi is not None and lo == hi and not lo[1]:
        return lo[0]
    return None

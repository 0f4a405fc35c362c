"""The subschema walker: proves "every instance of the writer schema is valid under the
reader schema" or records located issues where it cannot.

The writer side is a conjunction of nodes (``$ref`` and ``allOf`` flattened, disjunctions
expanded into branches); the reader side is one node checked keyword by keyword. Rule
functions for each JSON type live in ``scalars``, ``arrays`` and ``objects``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from codegen.validation import outcome, without_dialect

from . import arrays, clean, combinators, objects, rules, scalars
from .branches import expand, finite_values, is_empty
from .checker import Checker, Conj, Path
from .emptiness import live_types
from .equality import Equality, same_model
from .nodes import (
    ALL_TYPES,
    REF_KEYWORDS,
    Doc,
    Node,
    UnresolvableRef,
    flatten,
    resolve_ref,
    schema_types,
)
from .runtime_subset import unmodelled_keyword
from .sample import sample_candidates
from .text import where

NodeKey = tuple[str, str, str]
T = TypeVar("T")


def _per_doc(a: Conj, what: str, fn: Callable[[Conj], T]) -> T:
    """``fn(a)``, a pure function of the conjunction's content, remembered on its document
    when all of it sits in one (pointer and synthetic content name each node there)."""
    doc = a[0].doc if a else None
    if doc is None or any(n.doc is not doc for n in a):
        return fn(a)
    key = ("conj", what, *((n.ptr, n.synth) for n in a))
    if key not in doc.derived:
        doc.derived[key] = fn(a)
    found: T = doc.derived[key]
    return found


class Walker(Checker):
    """The walk: a ``Checker`` (``checker.py``) that proves containment keyword by
    keyword, dispatching to the rule modules per JSON type."""

    def __init__(
        self, writer: Doc, reader: Doc, *, backward: bool, runtime: bool, memo: bool = True
    ) -> None:
        super().__init__(writer, reader, backward=backward, runtime=runtime)
        # Every cache is keyed by Node.key (document role, pointer, synthetic content):
        # never by id() of a schema object, which a freed slice could hand to another.
        self._active: set[tuple[tuple[NodeKey, ...], NodeKey]] = set()
        self._equal_cache: dict[tuple[NodeKey, NodeKey], bool] = {}
        self._validators: dict[str, Any] = {}
        self._empty: dict[tuple[NodeKey, ...], bool] = {}
        self._types: dict[tuple[NodeKey, ...], frozenset[str]] = {}
        self.memo = memo
        self.cuts = 0  # coinductive assumptions made so far (clean.py)

    def types(self, a: Conj) -> frozenset[str]:
        if not self.memo:
            return live_types(a)
        key = tuple(n.key for n in a)
        found = self._types.get(key)
        if found is None:
            found = self._types[key] = _per_doc(a, "types", live_types)
        return found

    def empty(self, a: Conj) -> bool:
        if not self.memo:
            return is_empty(a)
        key = tuple(n.key for n in a)
        found = self._empty.get(key)
        if found is None:
            found = self._empty[key] = _per_doc(a, "empty", is_empty)
        return found

    def equal(self, a: Node, b: Node) -> bool:
        key = (a.key, b.key)
        cached = self._equal_cache.get(key) if self.memo else None
        if cached is None:
            # at runtime: the same model, not merely the same instance set
            cached = same_model(a, b) if self.runtime else Equality(type_aware=True).nodes(a, b)
            if self.memo:
                self._equal_cache[key] = cached
        return cached

    def validator(self, doc: Doc) -> Any:
        found = self._validators.get(doc.role)
        if found is None:
            found = self._validators[doc.role] = _validator_for(doc.root, memo=self.memo)
        return found

    def validates(self, value: Any, node: Node, *, unknown: bool) -> bool:
        """jsonschema's verdict on ``value``; ``unknown`` when jsonschema cannot evaluate
        the schema (an unresolvable ref): callers pass the answer that is safe for them."""
        schema = without_dialect(_without_nested_ids(node.schema, keep_root=False))
        validator = self.validator(node.doc).evolve(schema=schema)
        return outcome(lambda: bool(validator.is_valid(value)), unknown)

    # --- the walk ----------------------------------------------------------------------
    def check(self, a: Conj, b: Node, path: Path) -> None:
        if not a:  # nothing constrains the writer here: it may be any value
            # synthetic ("true" in its key): the real node at that pointer has other
            # content, and every cache keys by Node.key
            ptr = path[-1][2][0].ptr if path and path[-1][2] else ""
            a = (Node(True, ptr, self.writer, "true"),)
        a = flatten(a)
        bs = b.schema
        if self.accepts_all(bs):
            return
        memo_key = None
        # Not at the root (no path yet): the whole pair's key would be the two documents,
        # whose verdict the caller remembers already (the gate by their fingerprints); its
        # parts (every ref the document holds, reached and serialised) cost more than the
        # rest of the key computations of a pair together.
        if self.memo and path:
            memo_key = clean.key(
                a,
                b,
                backward=self.backward,
                runtime=self.runtime,
                unmodelled=self.unmodelled_writer > 0,
            )
            if memo_key is not None and clean.known(memo_key):
                return
        issues, cuts = len(self.issues), self.cuts
        self._check_pair(a, b, path)
        if memo_key is not None and len(self.issues) == issues and self.cuts == cuts:
            clean.remember(memo_key)

    def known_clean(self, a: Conj, b: Node) -> bool:
        # ``a`` is a writer slot, flattened when it was made (objects.WriterSlots)
        if not self.memo or not a:
            return False
        return clean.known_pair(
            a,
            b,
            backward=self.backward,
            runtime=self.runtime,
            unmodelled=self.unmodelled_writer > 0,
        )

    def _check_pair(self, a: Conj, b: Node, path: Path) -> None:
        bs = b.schema
        if self.empty(a):
            return
        if bs is False:
            self.report(
                rules.SCHEMA_FALSE,
                a[0].ptr if a else "",
                b.ptr,
                f"At {where(path)} the reading schema is false, so nothing is accepted.",
                path,
                lambda: sample_candidates(a),
            )
            return
        if not isinstance(bs, dict):
            return
        quirky = self.runtime and (self.unmodelled_writer > 0 or any(_object_shaped(n) for n in a))
        # The two roots: compare() found they make different models before walking (the
        # same question, `same_model` being symmetric and blind to roles and views).
        roots = not path and b.ptr == "" and len(a) == 1 and a[0].ptr == ""
        if not quirky and (
            (
                self.runtime
                and not roots
                and _position(a[0]) == _position(b)
                and self.equal(a[0], b)
                and _one_position(a)
            )
            or (not self.runtime and any(self.equal(n, b) for n in a))
        ):
            # One writer conjunct equals the reader. At runtime only a writer that is one
            # schema position (with what its refs and allOf bring) in the same kind of
            # position: the generator models a root, a nested schema and an allOf member
            # (merged into one class with its siblings) differently.
            return
        if self.runtime and b.doc.role == "reader":
            unmodelled = unmodelled_keyword(bs)
            if unmodelled is not None:
                self.report(
                    rules.UNSUPPORTED_KEYWORD,
                    a[0].ptr,
                    b.kw(unmodelled),
                    f"At {where(path)} the generated reader model for this schema "
                    f"({unmodelled}) is not one the runtime semantics models, so "
                    "compatibility could not be proved; --semantics strict judges the schemas.",
                    path,
                    lambda: sample_candidates(a),
                )
                return
        key = (tuple(n.key for n in a), b.key)
        if key in self._active:
            self.cuts += 1
            return  # recursive schema: assume the pair holds while proving it (coinduction)
        self._active.add(key)
        try:
            self._check_node(a, b, path)
        finally:
            self._active.discard(key)

    def check_refs(self, a: Conj, b: Node, path: Path) -> None:
        for ref_key in REF_KEYWORDS:
            if ref_key not in b.schema:
                continue
            try:
                # one resource per bundled document: a $dynamicRef resolves like a $ref
                self.check(a, resolve_ref(b.doc, b.schema[ref_key]), path)
            except UnresolvableRef as exc:
                self.report(rules.UNRESOLVABLE_REF, a[0].ptr, b.kw(ref_key), f"{exc}.", path)

    def _check_node(self, a: Conj, b: Node, path: Path) -> None:
        bs = b.schema
        self.check_refs(a, b, path)
        for i in range(len(bs.get("allOf", ()))):
            self.check(a, b.child("allOf", i), path)
        for branch in expand(a):
            if not self.empty(branch):
                self._check_branch(a, branch, b, path)

    def _check_branch(self, orig: Conj, a: Conj, b: Node, path: Path) -> None:
        bs = b.schema
        shaped_writer = self.runtime and any(_object_shaped(n) for n in a)
        values = None if shaped_writer else finite_values(self, a)
        if self.runtime and values is not None and any(isinstance(v, dict) for v in values):
            # An object enum/const is no model the generator writes: its class may emit
            # only its declared fields (even {}), so the values are not what is sent.
            values = None
        if values is not None:
            scalars.check_values(self, a, values, b, path)
            return
        if "anyOf" in bs:
            combinators.any_of(self, a, b, "anyOf", path)
        if "oneOf" in bs:
            if self.runtime:
                combinators.any_of(self, a, b, "oneOf", path)  # pydantic unions are never exclusive
            else:
                combinators.one_of(self, orig, a, b, path)
        if "not" in bs and not self.ignored("not"):
            combinators.negation(self, a, b, path)
        if "if" in bs and not self.ignored("if"):
            combinators.conditional(self, orig, a, b, path)
        ta = self.types(a)
        if self.runtime and "integer" in ta and any(_declares_number(n) for n in a):
            # A "number" field is a float in the generated model even with an integral
            # multipleOf, and pydantic cannot read floats beyond 2**63 as int.
            ta = ta | {"float"}
        tb = schema_types({"type": bs["type"]}) if "type" in bs else ALL_TYPES
        if self.runtime:
            # Object keywords on a schema that does not declare "object" still make the
            # generator emit a model class: the reader then accepts objects only, and the
            # writer may emit objects.
            if _object_shaped(b):
                tb = tb & {"object"}
            elif "type" not in bs and ("items" in bs or "prefixItems" in bs):
                tb = tb & {"array"}  # untyped items/prefixItems: the model is a list
            if any(_object_shaped(n) for n in a):
                ta = ta | {"object"}
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


# The gate compares the same bundled documents many times (transitive modes, both
# directions): their validators are kept, keyed by the documents' canonical JSON.
_VALIDATOR_CACHE: dict[str, Any] = {}
_VALIDATOR_CACHE_SIZE = 256


def _validator_for(root: Any, *, memo: bool = True) -> Any:
    import json

    from codegen.validation import validator_for

    if not memo:
        return validator_for(_without_nested_ids(root))
    text = json.dumps(root, sort_keys=True, default=str)
    found = _VALIDATOR_CACHE.get(text)
    if found is not None:
        return found
    validator = validator_for(_without_nested_ids(root))
    if len(_VALIDATOR_CACHE) >= _VALIDATOR_CACHE_SIZE:
        _VALIDATOR_CACHE.clear()
    _VALIDATOR_CACHE[text] = validator
    return validator


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


def _one_position(a: Conj) -> bool:
    """The conjunction is one schema and what it applies in place (no merged siblings)."""
    return len(a) == 1 or [n.key for n in flatten(a[:1])] == [n.key for n in a]


def _position(n: Node) -> str:
    parent, _, _ = n.ptr.rpartition("/")
    if parent.endswith(("/allOf", "/anyOf", "/oneOf")) or parent in ("allOf", "anyOf", "oneOf"):
        return "member"
    if parent in ("/$defs", "/definitions"):
        # a named class of its own: the generator models some shapes there unlike the same
        # schema inline (the fuzzer found an allOf of an array that became an object model)
        return "def"
    return "root" if n.ptr == "" else "nested"


def _declares_number(n: Node) -> bool:
    declared = n.get("type")
    return declared == "number" or (isinstance(declared, list) and "number" in declared)


_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "patternProperties")


def _object_shaped(n: Node) -> bool:
    """A node with object keywords whose type (if any) does not include "object"."""
    s = n.schema
    if not isinstance(s, dict):
        return False
    if "type" not in s:
        return any(k in s for k in _OBJECT_KEYWORDS)
    declared = s["type"]
    if declared == "object":  # the usual object schema, asked about on every compare
        return False
    return any(k in s for k in _OBJECT_KEYWORDS) and "object" not in schema_types(
        {"type": declared}
    )

"""What a rule module sees of the walk: the ``Checker`` and the values it passes.

The rule modules (``scalars``, ``arrays``, ``objects``, ``object_keys``,
``object_counts``, ``combinators``) check one writer/reader pair, report through the
helpers here and call back into the walk for sub-pairs (``check``, ``probe``,
``collect``). They depend on this abstract ``Checker``, not on ``walker``, which
implements the walk and imports them: no import cycle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Rule
from .nodes import ANNOTATIONS, Doc, Node, trivially_true
from .sample import counter_samples, sample_candidates

# The writer side: a conjunction of schemas that all apply to the same instance.
Conj = tuple[Node, ...]
# One step of the instance path: ("prop", name | None, writer conj) or ("item", index, conj).
Seg = tuple[str, Any, Conj]
Path = tuple[Seg, ...]
# Candidate instances for a witness, computed only when one is wanted.
Candidates = Callable[[], list[Any]]

# Keywords the generated pydantic models neither enforce on writers nor check on readers.
RUNTIME_IGNORED = frozenset(
    {"uniqueItems", "not", "contains", "minContains", "maxContains", "dependentRequired"}
    | {"if", "then", "else"}
)


@dataclass
class Issue:
    """One finding of one direction, before witnesses and old/new pointers."""

    rule: Rule
    a_ptr: str  # in the writer
    b_ptr: str  # in the reader
    message: str
    path: Path
    candidates: Candidates | None = None


class Checker(ABC):
    """One direction of one compare: every instance of the writer must be valid under the
    reader. ``backward``: the writer is the old schema, the reader the new one.

    The reporting helpers are here; the walk (``check``) and the judgements it memoises
    are the walker's."""

    def __init__(self, writer: Doc, reader: Doc, *, backward: bool, runtime: bool) -> None:
        self.writer = writer
        self.reader = reader
        self.backward = backward
        self.runtime = runtime  # judge the generated models, not the schemas
        self.issues: list[Issue] = []
        self.witness_bases: list[Any] | None = None  # filled lazily by witness.build
        # Runtime: > 0 while walking properties the writer's model does not declare as
        # fields (a union beside `properties` makes the model the union alone): such a
        # value is only as the schema says, so "the reader's schema is the same" proves
        # nothing about the reader's model (objects.check_object sets it).
        self.unmodelled_writer = 0

    # --- the walk (walker.py) ----------------------------------------------------------
    @abstractmethod
    def check(self, a: Conj, b: Node, path: Path) -> None:
        """Walk a sub-pair, reporting what breaks."""

    def known_clean(self, a: Conj, b: Node) -> bool:
        """``check(a, b, ...)`` would find the sub-pair proved clean before (``clean.py``)
        and return at once; the property loop asks first and skips it (no memo: False).
        ``a`` is flattened already (``flatten``), as every writer slot is."""
        return False

    @abstractmethod
    def empty(self, a: Conj) -> bool:
        """Provably no instance satisfies the conjunction."""

    @abstractmethod
    def equal(self, a: Node, b: Node) -> bool:
        """The two schemas accept the same instances (at runtime: the same model)."""

    @abstractmethod
    def validator(self, doc: Doc) -> Any:
        """A jsonschema validator over the whole document."""

    @abstractmethod
    def validates(self, value: Any, node: Node, *, unknown: bool) -> bool:
        """jsonschema's verdict on ``value`` (``unknown`` when it cannot evaluate)."""

    # --- naming ------------------------------------------------------------------------
    def pick(self, backward_rule: Rule, forward_rule: Rule) -> Rule:
        """The rule named for this direction."""
        return backward_rule if self.backward else forward_rule

    def old_new(self, writer_value: Any, reader_value: Any) -> tuple[Any, Any]:
        """Map writer/reader values to (old, new) for messages."""
        if self.backward:
            return writer_value, reader_value
        return reader_value, writer_value

    def labels(self) -> tuple[str, str]:
        """(writer, reader) named as "old"/"new" for messages."""
        return ("old", "new") if self.backward else ("new", "old")

    # --- what the reader's side means --------------------------------------------------
    def accepts_all(self, schema: Any) -> bool:
        """Reader schema that accepts every value. At runtime only ``true`` and
        annotation-only schemas: ``{"allOf": [true]}`` is equivalent in JSON Schema, but
        the generator may still turn it into a model class that accepts objects only."""
        if self.runtime:
            return schema is True or (
                isinstance(schema, dict) and all(k in ANNOTATIONS for k in schema)
            )
        return trivially_true(schema)

    def ignored(self, keyword: str) -> bool:
        """A keyword the generated models do not enforce (runtime semantics)."""
        return self.runtime and keyword in RUNTIME_IGNORED

    # --- reporting ---------------------------------------------------------------------
    def report(
        self,
        rule: Rule,
        a_ptr: str,
        b_ptr: str,
        message: str,
        path: Path,
        candidates: Candidates | None = None,
    ) -> None:
        self.issues.append(Issue(rule, a_ptr, b_ptr, message, path, candidates))

    def collect(self, a: Conj, b: Node, path: Path) -> list[Issue]:
        """The issues a sub-pair would report, without reporting them."""
        saved = self.issues
        self.issues = []
        try:
            self.check(a, b, path)
            return self.issues
        finally:
            self.issues = saved

    def probe(self, a: Conj, b: Node, path: Path = ()) -> bool:
        """Silent containment check: True when no issue would be reported."""
        return not self.collect(a, b, path)

    def wrapped(
        self, a: Conj, b: Node, path: Path, rule: Rule, a_ptr: str, b_ptr: str, message: str
    ) -> None:
        """Check a sub-pair but report one finding under ``rule`` (nested witness kept)."""
        nested = self.collect(a, b, path)
        if nested:
            first = nested[0]
            self.report(rule, a_ptr, b_ptr, message, first.path, first.candidates)

    def slot(
        self,
        a: Conj,
        b: Node | None,
        path: Path,
        *,
        false_rule: Rule,
        open_rule: Rule,
        a_ptr: str,
        message: str,
    ) -> None:
        """Check one sub-position (a property, an item, additional keys) of a pair:
        ``false_rule`` when the reader forbids it, ``open_rule`` when the writer leaves it
        open to any value."""
        if b is None or self.accepts_all(b.schema) or self.empty(a):
            return
        if b.schema is False:
            self.report(false_rule, a_ptr, b.ptr, message, path, lambda: sample_candidates(a))
        elif all(trivially_true(n.schema) for n in a):
            self.report(open_rule, a_ptr, b.ptr, message, path, lambda: counter_samples(b))
        else:
            self.check(a, b, path)

"""What a rule module sees of the walk: the ``Checker`` protocol and the values it passes.

The rule modules (``scalars``, ``arrays``, ``objects``, ``object_keys``,
``object_counts``, ``combinators``) check one writer/reader pair and call back into the
walk for sub-pairs; they depend on this protocol, not on ``walker``, which implements it
and imports them. No cycle: a rule module can be read (and tested) without the walker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .model import Rule
from .nodes import Doc, Node

# The writer side: a conjunction of schemas that all apply to the same instance.
Conj = tuple[Node, ...]
# One step of the instance path: ("prop", name | None, writer conj) or ("item", index, conj).
Seg = tuple[str, Any, Conj]
Path = tuple[Seg, ...]
# Candidate instances for a witness, computed only when one is wanted.
Candidates = Callable[[], list[Any]]


@dataclass
class Issue:
    """One finding of one direction, before witnesses and old/new pointers."""

    rule: Rule
    a_ptr: str  # in the writer
    b_ptr: str  # in the reader
    message: str
    path: Path
    candidates: Candidates | None = None


class Checker(Protocol):
    """One direction of one compare: every instance of the writer must be valid under the
    reader. ``backward``: the writer is the old schema, the reader the new one."""

    writer: Doc
    reader: Doc
    backward: bool
    runtime: bool  # judge the generated models, not the schemas
    issues: list[Issue]
    witness_bases: list[Any] | None

    def pick(self, backward_rule: Rule, forward_rule: Rule) -> Rule:
        """The rule named for this direction."""
        ...

    def old_new(self, writer_value: Any, reader_value: Any) -> tuple[Any, Any]:
        """Map writer/reader values to (old, new) for messages."""
        ...

    def labels(self) -> tuple[str, str]:
        """(writer, reader) named as "old"/"new" for messages."""
        ...

    def accepts_all(self, schema: Any) -> bool: ...

    def ignored(self, keyword: str) -> bool:
        """A keyword the generated models do not enforce (runtime semantics)."""
        ...

    def report(
        self,
        rule: Rule,
        a_ptr: str,
        b_ptr: str,
        message: str,
        path: Path,
        candidates: Candidates | None = None,
    ) -> None: ...

    def empty(self, a: Conj) -> bool: ...

    def equal(self, a: Node, b: Node) -> bool: ...

    def check(self, a: Conj, b: Node, path: Path) -> None:
        """Walk a sub-pair, reporting what breaks."""
        ...

    def probe(self, a: Conj, b: Node, path: Path = ()) -> bool:
        """Silent containment check: True when no issue would be reported."""
        ...

    def collect(self, a: Conj, b: Node, path: Path) -> list[Issue]:
        """The issues a sub-pair would report, without reporting them."""
        ...

    def wrapped(
        self, a: Conj, b: Node, path: Path, rule: Rule, a_ptr: str, b_ptr: str, message: str
    ) -> None:
        """Check a sub-pair but report one finding under ``rule`` (nested witness kept)."""
        ...

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
        """Check one sub-position (a property, an item, additional keys) of a pair."""
        ...

    def validator(self, doc: Doc) -> Any: ...

    def validates(self, value: Any, node: Node, *, unknown: bool) -> bool:
        """jsonschema's verdict on ``value`` (``unknown`` when it cannot evaluate)."""
        ...

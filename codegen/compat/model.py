"""Public value types of the compatibility engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Semantics = Literal["strict", "runtime"]
Mode = Literal[
    "NONE",
    "BACKWARD",
    "FORWARD",
    "FULL",
    "BACKWARD_TRANSITIVE",
    "FORWARD_TRANSITIVE",
    "FULL_TRANSITIVE",
]
Direction = Literal["backward", "forward"]
MODES: tuple[Mode, ...] = (
    "NONE",
    "BACKWARD",
    "FORWARD",
    "FULL",
    "BACKWARD_TRANSITIVE",
    "FORWARD_TRANSITIVE",
    "FULL_TRANSITIVE",
)


@dataclass(frozen=True, order=True)
class Finding:
    """One located reason why a direction is (or may be) broken.

    ``witness`` is only meaningful when ``has_witness`` is true, so that a witness of
    JSON ``null`` (Python ``None``) stays representable.
    """

    rule: str
    direction: Direction
    old_pointer: str
    new_pointer: str
    message: str
    # Witnesses are arbitrary JSON values and not orderable; sorting uses the fields above.
    witness: Any = field(default=None, compare=False)
    has_witness: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class PairReport:
    """Both pairwise verdicts of one old/new pair plus the sorted, deduplicated findings."""

    backward: bool
    forward: bool
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Rule:
    """One row of the rule table (``rules.py``): stable id, one-sentence purpose, the
    direction(s) it can break and its handler, the check that reports it (``module.function``
    inside ``codegen.compat``)."""

    id: str
    purpose: str
    directions: tuple[Direction, ...]
    handler: str

"""Pairwise schema compatibility: strict (JSON Schema instance sets) and runtime (the
generated pydantic models) semantics, a rule table, modes and report renderings."""

from .engine import compare
from .model import MODES, Finding, Mode, PairReport, Rule, Semantics
from .modes import mode_verdict
from .report import report_to_json, report_to_text
from .rules import RULES

__all__ = [
    "MODES",
    "RULES",
    "Finding",
    "Mode",
    "PairReport",
    "Rule",
    "Semantics",
    "compare",
    "mode_verdict",
    "report_to_json",
    "report_to_text",
]

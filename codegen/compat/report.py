"""Renderings of a PairReport: the DESIGN.md JSON object and ``path:line: message`` text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Mode, PairReport, Semantics
from .modes import pair_verdict


def report_to_json(report: PairReport, *, mode: Mode, semantics: Semantics) -> dict[str, Any]:
    return {
        "compatible": pair_verdict(mode, report),
        "mode": mode,
        "semantics": semantics,
        "backward": report.backward,
        "forward": report.forward,
        "findings": [
            {
                "rule": f.rule,
                "direction": f.direction,
                "old_pointer": f.old_pointer,
                "new_pointer": f.new_pointer,
                "message": f.message,
                "witness": f.witness if f.has_witness else None,
            }
            for f in report.findings
        ],
    }


def report_to_text(
    report: PairReport,
    *,
    old_path: str,
    new_path: str,
    old_line_of: Callable[[str], int | None],
    new_line_of: Callable[[str], int | None],
) -> list[str]:
    """One ``path:line: message (RULE_ID)`` line per finding, located in the new file when
    the new pointer exists there, else in the old file."""
    lines = []
    for f in report.findings:
        line = new_line_of(f.new_pointer)
        path = new_path
        if line is None:
            line = old_line_of(f.old_pointer)
            path = old_path
        if line is None:  # neither pointer resolves: point at the new file's first line
            path, line = new_path, 1
        lines.append(f"{path}:{line}: {f.message} ({f.rule})")
    return lines

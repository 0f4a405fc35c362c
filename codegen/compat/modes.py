"""Compatibility modes: which pairwise verdicts a mode needs, against which versions."""

from __future__ import annotations

from collections.abc import Sequence

from .model import Mode, PairReport


def mode_verdict(mode: Mode, reports_vs_predecessors: Sequence[PairReport]) -> bool:
    """Is ``mode`` satisfied by a new version?

    ``reports_vs_predecessors`` holds ``compare(earlier, new)`` for the earlier versions,
    oldest first, so the last entry is the report against the latest predecessor.
    Transitive modes need every report, the others only the last; NONE always holds.
    """
    if mode == "NONE" or not reports_vs_predecessors:
        return True
    reports = (
        reports_vs_predecessors if mode.endswith("_TRANSITIVE") else reports_vs_predecessors[-1:]
    )
    base = mode.removesuffix("_TRANSITIVE")
    need_backward = base in ("BACKWARD", "FULL")
    need_forward = base in ("FORWARD", "FULL")
    return all(
        (r.backward or not need_backward) and (r.forward or not need_forward) for r in reports
    )


def pair_verdict(mode: Mode, report: PairReport) -> bool:
    """The mode's verdict for a single pair (what ``codegen compat`` prints)."""
    return mode_verdict(mode, [report])

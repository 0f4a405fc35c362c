"""Results: a readable table on stdout and bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass
class Workload:
    """One measured workload. `higher_is_better` is True for throughput, False for time."""

    name: str
    unit: str
    higher_is_better: bool
    framework: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    target: str = ""
    note: str = ""
    # Secondary per-round values of each side (events lost, pooled percentiles, ...).
    extra: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    # The targets, machine-checkable: `goal`/`floor` bound the ratio from below,
    # `limit` bounds the framework median from above (codegen: seconds, no baseline).
    goal: float | None = None
    floor: float | None = None
    limit: float | None = None

    @property
    def framework_median(self) -> float:
        return statistics.median(self.framework) if self.framework else float("nan")

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline) if self.baseline else float("nan")

    @property
    def ratio(self) -> float | None:
        """framework / baseline, oriented so that higher is better for the framework."""
        if not self.framework or not self.baseline:
            return None
        f, b = self.framework_median, self.baseline_median
        if self.higher_is_better:
            return f / b if b else None
        return b / f if f else None

    @property
    def status(self) -> str:
        """ "met", "below goal" (but above the floor), "missed", or "" without a target."""
        if self.limit is not None:
            if not self.framework:
                return ""
            return "met" if self.framework_median <= self.limit else "missed"
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return ""
        if ratio >= self.goal:
            return "met"
        if self.floor is not None and ratio >= self.floor:
            return "below goal"
        return "missed"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            framework_median=self.framework_median if self.framework else None,
            baseline_median=self.baseline_median if self.baseline else None,
            ratio=self.ratio,
            status=self.status,
        )
        return d


def machine_info(extra: dict[str, Any]) -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    try:
        import hiredis  # noqa: F401

        has_hiredis = True
    except ImportError:
        has_hiredis = False
    return {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_at_start": load,
        "hiredis": has_hiredis,
        **extra,
    }


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "us":
        return f"{value:.1f} us"
    return f"{value:,.0f} {unit}"


def print_table(workloads: list[Workload]) -> None:
    rows = [("workload", "schemabus", "baseline", "ratio", "target", "status")]
    for w in workloads:
        ratio = w.ratio
        rows.append(
            (
                w.name,
                _fmt(w.framework_median, w.unit),
                _fmt(w.baseline_median, w.unit) if w.baseline else "-",
                f"{ratio:.2f}x" if ratio is not None else "-",
                w.target,
                w.status,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def write_results(workloads: list[Workload], info: dict[str, Any], path: Path = RESULTS) -> None:
    doc = {"machine": info, "workloads": {w.name: w.to_json() for w in workloads}}
    path.write_text(json.dumps(doc, indent=2) + "\n")

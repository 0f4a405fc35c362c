"""`python -m bench.against REF [--other REF2]`: a suite at git REF and at this tree (or
at REF2), alternately, in one session, so a change's cost is read from one machine state
(the issue's "within 5 % of today's" for the durable rate).

REF (and REF2) are checked out into temporary git worktrees (removed afterwards). Then
`python -m bench --only SUITE` runs in both trees in turn, A B A B ... `--times` times,
each with a fresh Redis and its own results file. Both trees use this venv's Python and installed
dependencies; the imported code (bench, runtime, generated) is each tree's own, as the
working directory comes first on `sys.path` (checked and printed before the runs).
The table shows each run's framework median, raw median and ratio, then the medians
over the runs; the raw baseline is the same code in both trees, so its drift between runs
is the noise to read the framework's against.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _run(tree: Path, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        text=True,
        capture_output=True,
        check=True,
        **kw,
    )


def _origin(tree: Path) -> str:
    out = _run(tree, ["-c", "import runtime, bench; print(runtime.__file__, bench.__file__)"])
    return out.stdout.strip()


def _bench(tree: Path, suite: str, n: int, rounds: int, output: Path) -> dict[str, Any]:
    command = ["-m", "bench", "--only", suite, "--n", str(n), "--rounds", str(rounds)]
    _run(tree, [*command, "--output", str(output)])
    workloads: dict[str, Any] = json.loads(output.read_text())["workloads"]
    return workloads


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.against", description=__doc__)
    p.add_argument("ref", help="git commit or branch to compare this tree with")
    p.add_argument("--other", help="compare with this commit instead of this tree")
    p.add_argument("--suite", default="durable")
    p.add_argument("--times", type=int, default=3, help="runs per tree, alternating")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    rows: dict[str, list[dict[str, Any]]] = {"ref": [], "this": []}
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        trees = {"ref": Path(tmp) / "ref", "this": ROOT}
        if args.other:
            trees["this"] = Path(tmp) / "other"
        added = [(trees["ref"], args.ref)] + ([(trees["this"], args.other)] if args.other else [])
        for tree, commit in added:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                check=True,
                capture_output=True,
            )
        try:
            for label, tree in trees.items():
                print(f"{label}: {_origin(tree)}", flush=True)
            for i in range(args.times):
                for label, tree in trees.items():
                    out = Path(tmp) / f"{label}-{i}.json"
                    print(f"... {label} run {i + 1}/{args.times}", file=sys.stderr, flush=True)
                    rows[label].append(_bench(tree, args.suite, args.n, args.rounds, out))
        finally:
            for tree, _ in added:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    check=False,
                    capture_output=True,
                )
    _print(args.ref, args.other or "this tree", rows)
    return 0


def _print(ref: str, other: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    names = list(rows["ref"][0])
    for name in names:
        unit = rows["ref"][0][name]["unit"]
        # codegen workloads have no raw side: only the framework's figures compare
        paired = rows["ref"][0][name].get("baseline_median") is not None
        print(f"\n{name} ({unit}): " + ("schemabus / raw / ratio per run" if paired else "per run"))
        medians: dict[str, float] = {}
        for label in ("ref", "this"):
            runs = [r[name] for r in rows[label]]
            fw = statistics.median(r["framework_median"] for r in runs)
            medians[label] = fw
            title = ref if label == "ref" else other
            if paired:
                cells = ", ".join(
                    f"{r['framework_median']:.1f} / {r['baseline_median']:.1f} / {r['ratio']:.3f}"
                    for r in runs
                )
                ratio = statistics.median(r["ratio"] for r in runs)
                print(f"  {title:>12}: {cells}  -> median {fw:.1f}, ratio {ratio:.3f}")
            else:
                cells = ", ".join(f"{r['framework_median']:.2f}" for r in runs)
                print(f"  {title:>12}: {cells}  -> median {fw:.2f}")
        print(f"  {other} / {ref}: {medians['this'] / medians['ref']:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())

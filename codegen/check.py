"""`codegen check`: lint + lock + compatibility gate + generated drift (+ a git ref)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen.cache import Cache
from codegen.errors import BadInput, Finding
from codegen.ir import Project
from codegen.report import format_findings

if TYPE_CHECKING:
    from codegen.samples import SampleJob


def run_check(
    root: Path,
    *,
    cache: Cache | None = None,
    against: str | None,
    fmt: str,
    deployed: str | None = None,
    samples: list[str] | None = None,
    sample_count: int = 1000,
    show_payloads: bool = False,
) -> int:
    """The gate. `deployed` (a snapshot file or Redis URL) adds the checks against what
    runs now; `samples` (JSONL files or Redis URLs) decodes real entries with every reader.
    Without them nothing here touches a broker. The broker-side work runs in helper
    processes started as early as their input is known, beside the offline gate.

    Long: the offline gate and the helper processes run at the same time, and their
    lifetimes hang on this one try/finally (a failure anywhere cancels the helpers)."""
    from codegen.pipeline import plan
    from codegen.write import diff_tree

    # The broker-side parts are imported only when asked for (a plain `check` is run on
    # every commit; their imports were a few hundredths of a second of it).
    snapshots = None
    if deployed is not None:
        from codegen.deployed import SnapshotJob

        snapshots = SnapshotJob(root, deployed)
    sampling: list[SampleJob] = []

    def on_built(project: Project) -> None:
        if samples:
            from codegen.samples import SampleJob

            snapshot = snapshots.result() if snapshots is not None else None
            sampling.append(
                SampleJob(
                    root,
                    project,
                    samples,
                    snapshot=snapshot,
                    count=sample_count,
                    show_payloads=show_payloads,
                )
            )

    notes: list[str] = []
    try:
        result = plan(root, cache=cache, on_built=on_built)
        findings = list(result.findings)
        drift = False
        if not findings:
            diff = diff_tree(root, result.files, read_back=result.read_back)
            if diff:
                stale = sorted({line[6:].strip() for line in diff if line.startswith("+++ b/")})
                stale += sorted({line[6:].strip() for line in diff if line.startswith("--- a/")})
                first = sorted(set(stale))[0] if stale else "generated/"
                drift = True
                findings.append(
                    Finding(
                        first,
                        0,
                        "generated/ or the lock differs from what the contracts produce; run "
                        "`make gen` and commit the result (`codegen gen --check` shows the "
                        "diff).",
                        "GENERATED_DRIFT",
                    )
                )
        if against:
            from codegen.against import against_ref

            try:
                findings += against_ref(root, against, result.project, cache)
            except BadInput as exc:
                findings += exc.findings
        if snapshots is not None:
            findings += _deployed_checks(result, snapshots.result(), notes)
        if samples:
            # Decoding is only meaningful with generated code that matches the contracts.
            if sampling and not result.findings and not drift:
                findings += sampling[0].findings(notes)
            else:
                from codegen.samples import not_checked

                findings.append(not_checked())
    except BadInput as exc:
        for line in format_findings(exc.findings, fmt):
            print(line)
        return 2
    finally:
        for job in sampling:
            job.cancel()
        if snapshots is not None:
            snapshots.cancel()
    findings = sorted(set(findings))
    for line in format_findings(findings, fmt):
        print(line)
    for note in notes:
        if fmt == "github":
            print(f"::notice title=schemabus::{_escape(note)}")
        else:
            print(note, file=sys.stderr)
    if findings:
        print(f"codegen check: {len(findings)} finding(s).", file=sys.stderr)
        return 1
    if fmt == "text":
        print("codegen check: ok", file=sys.stderr)
    return 0


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _deployed_checks(result: Any, snapshot: Any, notes: list[str]) -> list[Finding]:
    from codegen.deployed_gate import deployed_findings
    from codegen.rollout import plan_rollout

    if not result.built:
        notes.append("deployed: not checked until the contracts build (fix the findings above)")
        return []
    replicas = len(snapshot.replicas)
    notes.append(f"deployed: {replicas} live replica(s) in {snapshot.source}")
    findings = deployed_findings(result.project, snapshot)
    rollout = plan_rollout(result.project, snapshot)
    if rollout.edges or not rollout.safe:
        notes += rollout.lines()
    return findings

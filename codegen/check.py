"""`codegen check`: lint + lock + compatibility gate + generated drift (+ a git ref)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from codegen.errors import BadInput, Finding
from codegen.ir import Project
from codegen.report import format_findings


def run_check(
    root: Path,
    *,
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
    from codegen.deployed import SnapshotJob
    from codegen.pipeline import plan
    from codegen.samples import SampleJob, not_checked
    from codegen.write import diff_tree

    snapshots = SnapshotJob(root, deployed) if deployed is not None else None
    sampling: list[SampleJob] = []

    def on_built(project: Project) -> None:
        if samples:
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
        result = plan(root, on_built=on_built)
        findings = list(result.findings)
        drift = False
        if not findings:
            diff = diff_tree(root, result.files)
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
            try:
                findings += against_ref(root, against, result.project)
            except BadInput as exc:
                findings += exc.findings
        if snapshots is not None:
            findings += _deployed_checks(result, snapshots.result(), notes)
        if samples:
            # Decoding is only meaningful with generated code that matches the contracts.
            if sampling and not result.findings and not drift:
                findings += sampling[0].findings(notes)
            else:
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


def _git_tree(root: Path, ref: str, dest: Path) -> None:
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", ref, "schemas"],
            capture_output=True,
            check=True,
        )
    except FileNotFoundError:
        raise BadInput(
            [Finding("", 0, "git is not installed; --against needs it.", "GIT_ERROR")]
        ) from None
    except subprocess.CalledProcessError as exc:
        msg = exc.stderr.decode(errors="replace").strip().splitlines()
        detail = msg[-1] if msg else "unknown error"
        raise BadInput(
            [Finding("", 0, f"Cannot read schemas/ at {ref!r}: {detail}.", "GIT_ERROR")]
        ) from None
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def project_at(root: Path, ref: str) -> Project | None:
    """The contracts at a git ref; None when there are none there or they do not build.
    Raises BadInput when git cannot read the ref."""
    from codegen.build import build_project

    with tempfile.TemporaryDirectory(prefix="schemabus-against-") as tmp:
        base = Path(tmp)
        _git_tree(root, ref, base)
        if not (base / "schemas" / "catalog.yaml").exists():
            return None  # no contracts at that ref yet: everything is new
        try:
            old, old_findings = build_project(base)
        except BadInput:
            return None
        return None if old_findings else old


def against_ref(root: Path, ref: str, current: Project) -> list[Finding]:
    """Deleted types or versions, and edited versions, relative to the contracts at `ref`."""
    from codegen.gate import needs, pair_findings

    old = project_at(root, ref)
    if old is None:
        return []  # no (readable) contracts at that ref: the tree is judged on its own
    out: list[Finding] = []
    now = {t.name: t for t in current.types}
    for t in old.types:
        if t.name not in now:
            out.append(
                Finding(
                    "schemas/catalog.yaml",
                    0,
                    f"Event type {t.name} exists at {ref} but was deleted; consumers and stored "
                    "events still depend on it. Restore it, or deprecate it instead.",
                    "EVENT_TYPE_DELETED",
                )
            )
            continue
        cur = now[t.name]
        by_version = {v.version: v for v in cur.versions}
        for v in t.versions:
            mine = by_version.get(v.version)
            if mine is None:
                out.append(
                    Finding(
                        v.path,
                        0,
                        f"{t.name} v{v.version} exists at {ref} but was deleted; published "
                        "versions are immutable.",
                        "VERSION_DELETED",
                    )
                )
            elif mine.fingerprint != v.fingerprint:
                out.append(
                    Finding(
                        mine.path,
                        1,
                        f"{t.name} v{v.version} differs from {ref}; published versions are "
                        f"immutable: revert it and run `codegen bump {t.name}`.",
                        "VERSION_CHANGED",
                    )
                )
        # New versions must also satisfy the mode against what was published at the ref.
        directions = needs(cur.config.compatibility)
        old_latest = t.versions[-1]
        if directions:
            for new in cur.versions:
                if (
                    new.version > old_latest.version
                    and new.version not in cur.config.breaking_versions
                ):
                    out += pair_findings(
                        cur, by_version.get(old_latest.version, old_latest), new, directions
                    )
    return out

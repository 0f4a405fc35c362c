"""The compatibility gate over the contracts tree.

Every version is checked against its predecessors as its type's mode asks (transitive =
every earlier version, else the latest), and every consumer gets a read plan for every
published version: decode directly when the gate proved it safe, else through upcasters.
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen.cache import Cache
from codegen.errors import Finding
from codegen.forked import map_forked, split, workers
from codegen.ir import EventType, Project, ReadPlan, Version
from codegen.load import fingerprint
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


# Verdicts depend only on the two bundled schemas (their fingerprints), the semantics and
# the engine's code: remembered per process here, and across runs in the codegen cache
# (whose key covers the code), so a `check` after a `gen` re-judges only pairs that changed.
_VERDICTS: dict[tuple[str, str, str], PairReport] = {}


def _fingerprint(v: Version) -> str:
    return v.fingerprint or fingerprint(v.bundled)


def _ids(old: Version, new: Version, semantics: str) -> tuple[str, str, str]:
    return (_fingerprint(old), _fingerprint(new), semantics)


def _cache_key(ids: tuple[str, str, str]) -> str:
    # asked for each pair by the gate, the matrix and the read plans: hashed once
    found = _KEYS.get(ids)
    if found is None:
        found = _KEYS[ids] = Cache.key(b"compat", *(part.encode() for part in ids))
    return found


_KEYS: dict[tuple[str, str, str], str] = {}


# Below this many new pairs a second process costs more (fork, results back) than it saves.
_PARALLEL_MIN = 200
# The pairs being judged ahead: forked workers inherit this list and get index ranges, so
# no schema is pickled on the way in.
_AHEAD: list[tuple[tuple[str, str, str], Any, Any]] = []


def judge_ahead(pairs: list[tuple[EventType, Version, Version]], cache: Cache | None) -> None:
    """Judge the pairs no process or cache knows yet, split over the cores when there are
    many (a cold `check` of a large tree); `_compare` then finds them in `_VERDICTS`."""
    todo: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for t, old, new in pairs:
        ids = _ids(old, new, t.config.semantics)
        if ids in _VERDICTS or ids in todo:
            continue
        if cache is None or cache.get("compat", _cache_key(ids)) is None:
            todo[ids] = (old.bundled, new.bundled)
    parts = workers()
    if parts < 2 or len(todo) < _PARALLEL_MIN:
        return  # judged one by one as they are asked for
    import codegen.compat  # noqa: F401  (before the fork: not imported again by every worker)

    _AHEAD[:] = [(ids, old, new) for ids, (old, new) in todo.items()]
    # What exists now (the built project) outlives the judging: frozen, the collector does
    # not walk it again on every collection (about a tenth of the judging's time), and a
    # forked worker does not copy its pages to do so.
    gc.freeze()
    try:
        for chunk in map_forked(_judge_range, split(range(len(_AHEAD)), parts)):
            _VERDICTS.update(chunk)
    finally:
        gc.unfreeze()
        _AHEAD.clear()


def _judge_range(indices: list[int]) -> list[tuple[tuple[str, str, str], PairReport]]:
    from codegen.compat import compare

    return [
        (ids, compare(old, new, semantics=ids[2], ids=ids[:2]))  # type: ignore[arg-type]
        for ids, old, new in (_AHEAD[i] for i in indices)
    ]


def _compare(old: Version, new: Version, semantics: str, cache: Cache | None) -> PairReport:
    ids = _ids(old, new, semantics)
    key = _cache_key(ids)
    text = cache.get("compat", key) if cache is not None else None
    report = _VERDICTS.get(ids)
    if report is None and text is not None:
        report = _load_verdict(text)
    if report is None:
        from codegen.compat import compare

        report = compare(
            old.bundled,
            new.bundled,
            semantics=semantics,  # type: ignore[arg-type]
            ids=ids[:2],
        )
    if cache is not None and text is None:
        cache.put("compat", key, _dump_verdict(report))  # also a verdict judged earlier
    _VERDICTS[ids] = report
    return report


def _load_verdict(text: str) -> PairReport | None:
    from codegen.compat import Finding as CompatFinding
    from codegen.compat import PairReport as Report

    try:
        data = json.loads(text)
        findings = tuple(CompatFinding(**f) for f in data["findings"])
        return Report(bool(data["backward"]), bool(data["forward"]), findings)
    except (ValueError, KeyError, TypeError):
        return None


def _dump_verdict(report: PairReport) -> str:
    import dataclasses

    body = {
        "backward": report.backward,
        "forward": report.forward,
        "findings": [dataclasses.asdict(f) for f in report.findings],
    }
    return json.dumps(body, ensure_ascii=False)


def locate(v: Version, ptr: str) -> tuple[str, int]:
    if v.source is None:
        return v.path, 1
    rel, line = v.source.locate(ptr)
    return (rel or v.path), line


def witness_text(witness: Any) -> str:
    text = json.dumps(witness, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 300 else text[:297] + "..."


def pair_findings(
    t: EventType,
    old: Version,
    new: Version,
    directions: tuple[str, ...],
    cache: Cache | None = None,
) -> list[Finding]:
    report = _compare(old, new, t.config.semantics, cache)
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


def gate_findings(project: Project, cache: Cache | None = None) -> list[Finding]:
    """Findings for every version that breaks its type's compatibility mode."""
    pairs = list(_gated_pairs(project))
    judge_ahead([(t, old, new) for t, old, new, _ in pairs], cache)
    out: list[Finding] = []
    for t, old, new, directions in pairs:
        out += pair_findings(t, old, new, directions, cache)
    return out


def _gated_pairs(
    project: Project,
) -> Iterator[tuple[EventType, Version, Version, tuple[str, ...]]]:
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
                yield t, old, new, directions


def can_read(t: EventType, writer: Version, reader: Version, cache: Cache | None = None) -> bool:
    """Does the generated model of `reader` read every event the generated `writer` emits?"""
    if writer.version < reader.version:
        return _compare(writer, reader, t.config.semantics, cache).backward
    return _compare(reader, writer, t.config.semantics, cache).forward


def with_compat_matrix(project: Project, cache: Cache | None = None) -> Project:
    """The project with every type's compatibility matrix (`EventType.readable`): which
    reader version reads which writer version, for the renderers."""
    pairs = [(t, a, b) for t in project.types for a, b in itertools.combinations(t.versions, 2)]
    judge_ahead(pairs, cache)
    types = tuple(
        replace(
            t,
            readable=tuple(
                (w.version, r.version)
                for r in t.versions
                for w in t.versions
                if w.version != r.version and can_read(t, w, r, cache)
            ),
        )
        for t in project.types
    )
    return replace(project, types=types)


def _upcast_plan(t: EventType, writer: Version, reader: Version, cache: Cache | None) -> ReadPlan:
    # Adjacent steps the gate proved readable pass the payload through unchanged; every
    # other step needs a hand-written upcaster from version a to version b.
    chain = [v for v in t.versions if writer.version <= v.version <= reader.version]
    steps = tuple(
        (t.name, a.version, b.version)
        for a, b in itertools.pairwise(chain)
        if not can_read(t, a, b, cache)
    )
    if not steps:
        # Each step is readable but the whole jump is not (non-transitive history).
        steps = ((t.name, writer.version, reader.version),)
    return ReadPlan(t.name, writer.version, reader.version, "upcast", steps)


def read_plans(
    root: Path, project: Project, cache: Cache | None = None
) -> tuple[tuple[ReadPlan, ...], list[Finding]]:
    """How each consumer reads each published version of the types it consumes."""
    plans: set[ReadPlan] = set()
    for svc in project.services:
        for type_name, declared in svc.consumes:
            t = project.type(type_name)
            reader = next(v for v in t.versions if v.version == declared)
            for writer in t.versions:
                if writer.version == declared:
                    continue
                if can_read(t, writer, reader, cache):
                    plans.add(ReadPlan(t.name, writer.version, declared, "direct"))
                elif writer.version < declared:
                    plans.add(_upcast_plan(t, writer, reader, cache))
                # A newer writer that an older reader cannot read gets no plan: the runtime
                # dead-letters such events with the reason (consumers must upgrade first).
    ordered = tuple(sorted(plans, key=lambda p: (p.type, p.source, p.target)))
    return ordered, upcaster_findings(root, project, ordered)


def read_failures(
    t: EventType, writer: Version, reader: Version, cache: Cache | None = None
) -> list[Any]:
    """Why the generated model of `reader` cannot read every event the generated `writer`
    emits: the compat findings of that direction (empty when it can)."""
    if writer.version == reader.version:
        return []
    if writer.version < reader.version:
        report = _compare(writer, reader, t.config.semantics, cache)
        return [f for f in report.findings if f.direction == "backward"]
    report = _compare(reader, writer, t.config.semantics, cache)
    return [f for f in report.findings if f.direction == "forward"]

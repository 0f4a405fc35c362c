"""`codegen rollout`: in which order to deploy a change so that no reader ever meets an
event it cannot read.

The baseline is what runs now (a deployed snapshot, every replica with its own build) or
the contracts at a git ref (one build per service). The target is these contracts, every
service deployed once, built from them. Two kinds of constraint:

* a service that starts writing a version some consumer's running replicas cannot read
  waits for that consumer: "consumers first" (a backward-only change, where the consumer
  must move to the new reader version; or any new version at all for a replica whose
  build does not know it yet, where a rebuild is enough);
* a consumer whose new reader version cannot read what a producer still writes waits for
  that producer to stop (and for its old events to be consumed): "producers first".
  Readers built from these contracts read every older version (directly or through the
  upcasters `gen` demands), so this only happens when a reader version goes backwards.

Services are layered by these constraints; a cycle means no single deployment order is
safe and the change has to be split into two releases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen.cache import Cache
from codegen.deployed import Reader, Replica, Route, Snapshot, Writer, project_fingerprint
from codegen.ir import Project
from codegen.readability import UNKNOWN, Judge, describe_change


@dataclass(frozen=True)
class Edge:
    before: str
    after: str
    reason: str
    kind: str  # "consumers first" | "producers first"


@dataclass
class RolloutPlan:
    changes: list[str] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    phases: list[list[str]] = field(default_factory=list)
    cycle: list[str] = field(default_factory=list)
    unordered: list[str] = field(default_factory=list)  # changed, but free to go any time

    @property
    def safe(self) -> bool:
        return not self.blocked and not self.cycle

    def roles(self, service: str) -> set[str]:
        roles = set()
        for e in self.edges:
            consumer, producer = (
                (e.before, e.after) if e.kind == "consumers first" else (e.after, e.before)
            )
            if service == consumer:
                roles.add("consumers")
            if service == producer:
                roles.add("producers")
        return roles

    def summary(self) -> str:
        if self.cycle:
            return (
                f"rollout: no safe order: {', '.join(self.cycle)} would each have to be "
                "deployed before the other; split the change into two releases: first every "
                "consumer reads the new versions, then the producers write them"
            )
        if self.blocked:
            return "rollout: no safe order (see above)"
        if not self.phases:
            if not self.changes:
                return "rollout: nothing changes who reads or writes what"
            return (
                "rollout: any order: every running reader reads what these contracts write, "
                "and every reader here reads what is written now"
            )
        steps = []
        for phase in self.phases:
            roles = set().union(*(self.roles(s) for s in phase))
            label = f"{roles.pop()} " if len(roles) == 1 else ""
            steps.append(label + ", ".join(phase))
        text = "rollout: deploy " + steps[0] + " first"
        for step in steps[1:]:
            text += f", then {step}"
        if self.unordered:
            text += f" ({', '.join(self.unordered)} in any order)"
        return text

    def lines(self) -> list[str]:
        out = list(self.changes)
        out += [f"  {e.reason}" for e in self.edges]
        out += [f"  {b}" for b in self.blocked]
        out.append(self.summary())
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "safe": self.safe,
            "summary": self.summary(),
            "changes": self.changes,
            "phases": [
                {"services": p, "roles": sorted(set().union(*(self.roles(s) for s in p)))}
                for p in self.phases
            ],
            "constraints": [
                {"before": e.before, "after": e.after, "kind": e.kind, "reason": e.reason}
                for e in self.edges
            ],
            "any_order": self.unordered,
            "blocked": self.blocked,
            "cycle": self.cycle,
        }


def baseline_of(project: Project, label: str, plans: tuple[Any, ...]) -> Snapshot:
    """The contracts at a git ref as a snapshot: one replica per service, built from them."""
    types = {t.name: t for t in project.types}
    replicas = []
    for svc in project.services:
        consumes = []
        for type_name, version in svc.consumes:
            t = types[type_name]
            reads = {version: Route("direct")}
            keys: set[tuple[str, int, int]] = set()
            for p in plans:
                if p.type == type_name and p.target == version:
                    reads[p.source] = Route(p.via, tuple(p.upcasters))
                    keys.update(p.upcasters)
            consumes.append(
                Reader(
                    type_name,
                    version,
                    t.config.delivery,
                    t.config.stream or t.config.subject,
                    t.config.partitions,
                    {v.version: v.fingerprint for v in t.versions},
                    reads,
                    frozenset(keys),
                )
            )
        produces = [
            Writer(
                n,
                v,
                project.version(n, v).fingerprint,
                types[n].config.delivery,
                types[n].config.stream or types[n].config.subject,
                types[n].config.partitions,
            )
            for n, v in svc.produces
        ]
        replicas.append(
            Replica(
                svc.name,
                label,
                "",
                0,
                project_fingerprint(project),
                0,
                tuple(consumes),
                tuple(produces),
            )
        )
    return Snapshot(label, 0, tuple(replicas))


def plan_rollout(project: Project, base: Snapshot) -> RolloutPlan:
    """The ordered phases that take the deployment `base` to `project`.

    Long: it walks every service's reads and writes once, base against target, and each
    branch of that walk needs the same four indexes built at its top."""
    judge = Judge(project)
    plan = RolloutPlan()
    base_readers: dict[str, dict[str, list[Reader]]] = defaultdict(lambda: defaultdict(list))
    base_writes: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for replica in base.replicas:
        for r in replica.consumes:
            base_readers[replica.service][r.type].append(r)
        for w in replica.produces:
            base_writes[replica.service][w.type].add(w.version)
    tgt_reads = {s.name: dict(s.consumes) for s in project.services}
    tgt_writes: dict[str, dict[str, set[int]]] = {
        s.name: {t: {v for n, v in s.produces if n == t} for t, _ in s.produces}
        for s in project.services
    }
    changed: set[str] = set()
    _describe(project, judge, base_readers, base_writes, tgt_reads, tgt_writes, plan, changed)
    edges: set[Edge] = set()
    # Consumers first: nobody may write a version a running reader cannot read.
    for producer, writes in sorted(tgt_writes.items()):
        for type_name, versions in sorted(writes.items()):
            for written in sorted(versions - base_writes[producer][type_name]):
                for consumer, by_type in sorted(base_readers.items()):
                    if consumer == producer:
                        continue  # one deployment changes both sides at once
                    failing = [
                        r
                        for r in by_type.get(type_name, [])
                        if not judge.deployed_reads(r, written).ok
                    ]
                    if not failing:
                        continue
                    target = tgt_reads.get(consumer, {}).get(type_name)
                    if target is None:
                        edges.add(
                            Edge(
                                consumer,
                                producer,
                                f"{consumer} stops reading {type_name}; deploy it before "
                                f"{producer} writes v{written}, which its replicas cannot read",
                                "consumers first",
                            )
                        )
                    elif judge.target_reads(type_name, target, written):
                        rebuild = all(
                            r.version == target and judge.deployed_reads(r, written).kind == UNKNOWN
                            for r in failing
                        )
                        how = (
                            f"a rebuild is enough: its build does not know v{written}"
                            if rebuild
                            else f"it moves to reading v{target}"
                        )
                        edges.add(
                            Edge(
                                consumer,
                                producer,
                                f"{consumer} must read {type_name} v{written} before {producer} "
                                f"writes it ({how})",
                                "consumers first",
                            )
                        )
                    else:
                        plan.blocked.append(
                            f"{consumer} reads {type_name} at v{target} in these contracts and "
                            f"cannot read v{written}, which {producer} writes: no order is safe"
                        )
    # Producers first: a new reader version must read what is still being written.
    for consumer, reads in sorted(tgt_reads.items()):
        for type_name, target in sorted(reads.items()):
            running = {r.version for r in base_readers.get(consumer, {}).get(type_name, [])}
            if running == {target}:
                continue
            for producer, writes_of in sorted(base_writes.items()):
                if producer == consumer:
                    continue
                for written in sorted(writes_of.get(type_name, set())):
                    if judge.version(type_name, written) is None:
                        continue  # retired: `check --deployed` reports it
                    if judge.target_reads(type_name, target, written):
                        continue
                    if written in tgt_writes.get(producer, {}).get(type_name, set()):
                        plan.blocked.append(
                            f"{consumer} reads {type_name} at v{target} in these contracts and "
                            f"cannot read v{written}, which {producer} keeps writing: no order "
                            "is safe"
                        )
                        continue
                    edges.add(
                        Edge(
                            producer,
                            consumer,
                            f"{producer} must stop writing {type_name} v{written} before "
                            f"{consumer} reads at v{target} (and {consumer} must have consumed "
                            f"the v{written} events already written)",
                            "producers first",
                        )
                    )
    plan.edges = sorted(edges, key=lambda e: (e.before, e.after, e.reason))
    plan.blocked = sorted(set(plan.blocked))
    _layer(plan)
    ordered = {s for p in plan.phases for s in p} | set(plan.cycle)
    plan.unordered = sorted(changed - ordered)
    return plan


def _describe(
    project: Project,
    judge: Judge,
    base_readers: dict[str, dict[str, list[Reader]]],
    base_writes: dict[str, dict[str, set[int]]],
    tgt_reads: dict[str, dict[str, int]],
    tgt_writes: dict[str, dict[str, set[int]]],
    plan: RolloutPlan,
    changed: set[str],
) -> None:
    """One line per type whose written or read versions change, saying which way the
    change is compatible; fills `changed` with the services whose deployment changes."""
    for t in project.types:
        before_w = {v for s in base_writes.values() for v in s.get(t.name, set())}
        after_w = {v for s in tgt_writes.values() for v in s.get(t.name, set())}
        before_r = {r.version for s in base_readers.values() for r in s.get(t.name, [])}
        after_r = {s[t.name] for s in tgt_reads.values() if t.name in s}
        if before_w == after_w and before_r == after_r:
            continue
        for svc in sorted(set(base_writes) | set(tgt_writes)):
            if base_writes.get(svc, {}).get(t.name, set()) != tgt_writes.get(svc, {}).get(
                t.name, set()
            ):
                changed.add(svc)
        for svc in sorted(set(base_readers) | set(tgt_reads)):
            running = {r.version for r in base_readers.get(svc, {}).get(t.name, [])}
            wanted = {tgt_reads[svc][t.name]} if t.name in tgt_reads.get(svc, {}) else set()
            if running != wanted:
                changed.add(svc)
        olds = sorted(v for v in before_w | before_r if judge.version(t.name, v) is not None)
        news = sorted((after_w | after_r) - (before_w | before_r))
        if olds and news:
            old, new = judge.version(t.name, olds[-1]), judge.version(t.name, news[-1])
            assert old is not None and new is not None
            kind, why = describe_change(t, old, new)
            plan.changes.append(f"{t.name} v{old.version} -> v{new.version}: {kind} ({why})")
        else:
            was = ", ".join(f"v{v}" for v in sorted(before_w | before_r)) or "nothing"
            now = ", ".join(f"v{v}" for v in sorted(after_w | after_r)) or "nothing"
            plan.changes.append(f"{t.name}: {was} in use -> {now}")
    # Services of the baseline that these contracts no longer have (or that stop reading
    # or writing anything) change too.
    gone = set(base_readers) | set(base_writes)
    changed.update(s for s in gone if s not in tgt_reads and s not in tgt_writes)


def _layer(plan: RolloutPlan) -> None:
    nodes = sorted({e.before for e in plan.edges} | {e.after for e in plan.edges})
    incoming = {n: {e.before for e in plan.edges if e.after == n} for n in nodes}
    placed: set[str] = set()
    while len(placed) < len(nodes):
        ready = sorted(n for n in nodes if n not in placed and incoming[n] <= placed)
        if not ready:
            plan.cycle = sorted(n for n in nodes if n not in placed)
            return
        plan.phases.append(ready)
        placed.update(ready)


def run_rollout(
    root: Path,
    project: Project,
    *,
    deployed: str | None,
    against: str | None,
    cache: Cache | None = None,
) -> RolloutPlan:
    """The plan against a deployed snapshot (URL or file) or the contracts at a git ref."""
    from codegen.deployed import load_snapshot

    if deployed is not None:
        return plan_rollout(project, load_snapshot(root, deployed))
    assert against is not None
    from codegen.against import project_at
    from codegen.gate import read_plans

    old = project_at(root, against, cache)
    if old is None:
        return plan_rollout(project, Snapshot(against, 0, ()))
    plans, _ = read_plans(root, old, cache)
    return plan_rollout(project, baseline_of(old, f"at {against}", plans))

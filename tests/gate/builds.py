"""Deployed snapshots of hand-picked builds, without running anything.

A build of a contracts tree advertises exactly what `codegen.rollout.baseline_of` derives
from the tree (`tests/gate/test_interface.py` proves it against the runtime's own
advertisement), so these tests can describe "payment-old runs a build where it reads v1"
as a tree and get the snapshot that build would publish.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from codegen.build import build_project
from codegen.deployed import Replica, Snapshot
from codegen.gate import read_plans
from codegen.ir import Project
from codegen.rollout import baseline_of
from tests.gate import project as P


def project(root: Path, versions: list[dict[str, Any]], **kw: Any) -> Project:
    P.write(root, versions, **kw)
    built, findings = build_project(root)
    assert not findings, findings
    return built


def replicas(
    root: Path, versions: list[dict[str, Any]], names: dict[str, list[str]], **kw: Any
) -> list[Replica]:
    """The replicas a build of this tree runs: `names` maps service -> replica names."""
    built = project(root, versions, **kw)
    plans, _ = read_plans(root, built)
    base = baseline_of(built, "x", plans)
    out = []
    for r in base.replicas:
        for name in names.get(r.service, []):
            out.append(dataclasses.replace(r, replica=name, host="h", pid=1, since_ms=1))
    return out


def snapshot(*groups: list[Replica]) -> Snapshot:
    return Snapshot("deployed.json", 2, tuple(r for g in groups for r in g))


def to_json(snap: Snapshot) -> str:
    """The snapshot as `schemabus deployed --json` writes it."""

    def reader(r: Any) -> dict[str, Any]:
        return {
            "type": r.type,
            "version": r.version,
            "delivery": r.delivery,
            "destination": r.destination,
            "partitions": r.partitions,
            "known": {str(k): v for k, v in r.known.items()},
            "reads": {
                str(k): {"via": v.via, "upcasters": [list(u) for u in v.upcasters]}
                for k, v in r.reads.items()
            },
            "upcasters": sorted(list(u) for u in r.upcasters),
        }

    return json.dumps(
        {
            "format": "schemabus.deployed/1",
            "taken_at_ms": snap.taken_at_ms,
            "replicas": [
                {
                    "service": r.service,
                    "replica": r.replica,
                    "group": r.service,
                    "host": r.host,
                    "pid": r.pid,
                    "registry": r.registry,
                    "since_ms": r.since_ms,
                    "expires_in_s": 3.0,
                    "consumes": [reader(c) for c in r.consumes],
                    "produces": [dataclasses.asdict(w) for w in r.produces],
                    "serves": [],
                }
                for r in snap.replicas
            ],
        },
        indent=2,
    )

"""The two sides of the deployed registry agree: what a running service advertises
(`runtime.deployed.advertisement`, from its generated registry) is what codegen derives
from the contracts it was built from (`codegen.rollout.baseline_of`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from codegen.build import build_project
from codegen.deployed import parse_snapshot, project_fingerprint
from codegen.gate import read_plans
from codegen.rollout import baseline_of
from generated.registry import REGISTRY
from runtime.deployed import SNAPSHOT_FORMAT, advertisement, fingerprint_of
from services.upcasters import UPCASTERS

REPO = Path(__file__).resolve().parents[2]


def test_advertised_reads_and_writes_match_the_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example services open their state store lazily; nothing connects here.
    monkeypatch.setenv("SCHEMABUS_REDIS_URL", "redis://127.0.0.1:1/0")
    project, findings = build_project(REPO)
    assert not findings
    plans, _ = read_plans(REPO, project)
    expected = {r.service: r for r in baseline_of(project, "r", plans).replicas}
    docs = []
    for name in sorted(expected):
        wiring = importlib.import_module(f"services.{name}").wiring()
        docs.append(
            advertisement(wiring, REGISTRY, UPCASTERS, replica="r", group=name, host="", pid=0)
        )
    running = parse_snapshot({"format": SNAPSHOT_FORMAT, "taken_at_ms": 0, "replicas": docs}, "-")
    assert [r.service for r in running.replicas] == sorted(expected)
    for replica in running.replicas:
        want = expected[replica.service]
        assert sorted(replica.consumes, key=lambda r: r.type) == sorted(
            want.consumes, key=lambda r: r.type
        )
        assert sorted(replica.produces, key=lambda w: (w.type, w.version)) == sorted(
            want.produces, key=lambda w: (w.type, w.version)
        )
        assert replica.registry == want.registry


def test_registry_fingerprint_is_the_same_on_both_sides() -> None:
    project, _ = build_project(REPO)
    assert fingerprint_of(REGISTRY) == project_fingerprint(project)

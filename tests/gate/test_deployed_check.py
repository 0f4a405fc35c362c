"""`codegen check --deployed FILE`: the change judged against the replicas running now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.deployed import Snapshot
from codegen.deployed_gate import deployed_findings
from codegen.errors import Finding
from tests.codegen.golden import run_codegen
from tests.gate import builds as B
from tests.gate import project as P

THREE = P.three_versions()
TWO = THREE[:2]


def _findings(tmp_path: Path, snap: Snapshot, **kw: Any) -> list[Finding]:
    """Findings for the proposed tree (v3 is new, order writes it, payment reads v2)."""
    args: dict[str, Any] = {"writes": 3, "reads": 2, **kw}
    return deployed_findings(B.project(tmp_path / "proposed", THREE, **args), snap)


def test_a_reader_that_cannot_read_the_new_version_is_named_with_a_witness(
    tmp_path: Path,
) -> None:
    old = B.replicas(tmp_path / "a", TWO, {"payment": ["payment-old"]}, writes=2, reads=1)
    new = B.replicas(tmp_path / "b", THREE, {"payment": ["payment-new"]}, writes=3, reads=2)
    (f,) = _findings(tmp_path, B.snapshot(old, new))
    assert f.rule == "DEPLOYED_CONSUMER_BREAKS"
    assert f.path == "schemas/events/order.created/v3.json" and f.line > 1
    assert "order.created v3, which order writes in these contracts, cannot be read by" in (
        f.message
    )
    assert "deployed payment replica payment-old (reads order.created at v1" in f.message
    assert "payment-new" not in f.message
    assert 'Example that breaks: {"note":0,"order_id":"ord-3"}' in f.message


def test_without_the_old_replica_the_change_is_safe(tmp_path: Path) -> None:
    new = B.replicas(tmp_path / "b", THREE, {"payment": ["p-1", "p-2"]}, writes=3, reads=2)
    assert _findings(tmp_path, B.snapshot(new)) == []


def test_a_build_that_predates_the_version_needs_a_rebuild_only(tmp_path: Path) -> None:
    # Same reader version (v2), which can read v3, but built before v3 existed: the
    # runtime dead-letters versions its registry does not know.
    stale = B.replicas(tmp_path / "a", TWO, {"payment": ["p-1", "p-2"]}, writes=2, reads=2)
    (f,) = _findings(tmp_path, B.snapshot(stale))
    assert f.rule == "DEPLOYED_CONSUMER_OUTDATED"
    assert "deployed payment replicas p-1, p-2 (reads order.created at v2" in f.message
    assert "its build does not know v3" in f.message and "no code change needed" in f.message


def test_retired_versions_still_written_or_read(tmp_path: Path) -> None:
    running = B.replicas(
        tmp_path / "a", THREE, {"order": ["o-1"], "payment": ["p-1"]}, writes=3, reads=3
    )
    root = tmp_path / "proposed"
    found = deployed_findings(B.project(root, TWO, writes=2, reads=2), B.snapshot(running))
    retired = sorted(f.message for f in found if f.rule == "DEPLOYED_VERSION_RETIRED")
    assert retired == [
        "order.created v3 is not in these contracts (v3 was removed), but deployed order "
        "replica o-1 still writes it. Keep it until no deployed service writes or reads it "
        "(`schemabus deployed` shows who does).",
        "order.created v3 is not in these contracts (v3 was removed), but deployed payment "
        "replica p-1 still reads it. Keep it until no deployed service writes or reads it "
        "(`schemabus deployed` shows who does).",
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"stream": "orders-old"}, "still writes v3 to stream orders-old (2 partitions)"),
        ({"partitions": 4}, "still writes v3 to stream orders (4 partitions)"),
    ],
)
def test_moving_a_type_deployed_services_use(
    tmp_path: Path, where: dict[str, object], expected: str
) -> None:
    running = B.replicas(tmp_path / "a", THREE, {"order": ["o-1"]}, writes=3, reads=None, **where)
    found = [
        f for f in _findings(tmp_path, B.snapshot(running)) if f.rule == "DEPLOYED_VERSION_MOVED"
    ]
    (f,) = found
    assert f.path == "schemas/catalog.yaml"
    assert "These contracts move order.created to stream orders (2 partitions)" in f.message
    assert expected in f.message


def test_a_build_with_a_different_published_schema(tmp_path: Path) -> None:
    edited = [P.schema(1, {"note": {"type": "string", "maxLength": 100}}), *THREE[1:]]
    running = B.replicas(tmp_path / "a", edited, {"payment": ["p-1"]}, writes=3, reads=2)
    (f,) = _findings(tmp_path, B.snapshot(running))
    assert (f.rule, f.path) == ("DEPLOYED_SCHEMA_MISMATCH", "schemas/events/order.created/v1.json")
    assert "runs a build whose order.created v1" in f.message


def test_a_new_reader_version_that_cannot_read_what_is_still_written(tmp_path: Path) -> None:
    # Rolling payment back to v1 while order (deployed) still writes v3.
    running = B.replicas(tmp_path / "a", THREE, {"order": ["o-1"]}, writes=3, reads=None)
    root = tmp_path / "proposed"
    found = deployed_findings(B.project(root, THREE, writes=2, reads=1), B.snapshot(running))
    (f,) = [f for f in found if f.rule == "DEPLOYED_PRODUCER_UNREADABLE"]
    assert f.message.startswith(
        "payment reads order.created at v1 in these contracts and cannot read v3, which "
        "deployed order replica o-1 still writes: a reader of v1 must read v3 events"
    )


def test_check_reads_a_snapshot_file_and_fails_with_the_finding(tmp_path: Path) -> None:
    old = B.replicas(tmp_path / "a", TWO, {"payment": ["payment-old"]}, writes=2, reads=1)
    snap_file = tmp_path / "deployed.json"
    snap_file.write_text(B.to_json(B.snapshot(old)))
    root = P.build(tmp_path / "proposed", THREE, writes=3, reads=2)
    code, out, err = run_codegen(root, "check", "--deployed", str(snap_file))
    assert code == 1
    assert out.count("(DEPLOYED_CONSUMER_BREAKS)") == 1 and "payment-old" in out
    assert f"deployed: 1 live replica(s) in {snap_file}" in err
    assert "rollout: deploy consumers payment first, then producers order" in err
    code, gh, _ = run_codegen(root, "check", "--deployed", str(snap_file), "--format", "github")
    assert code == 1
    assert gh.startswith("::error file=schemas/events/order.created/v3.json,line=")
    assert "::notice title=schemabus::rollout: deploy consumers payment first" in gh
    code, js, _ = run_codegen(root, "check", "--deployed", str(snap_file), "--format", "json")
    assert code == 1 and json.loads(js)[0]["rule"] == "DEPLOYED_CONSUMER_BREAKS"
    # Without --deployed the same tree passes: the catalog alone cannot know payment-old.
    assert run_codegen(root, "check")[0] == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "Cannot read the deployed snapshot"),
        ("{", "The deployed snapshot is not JSON"),
        ('{"format": "other"}', 'Not a deployed snapshot (expected "format"'),
        (
            '{"format": "schemabus.deployed/1", "replicas": [{}]}',
            "The deployed snapshot is malformed",
        ),
    ],
)
def test_a_bad_snapshot_is_one_clear_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    root = P.build(tmp_path / "proposed", THREE, writes=3, reads=2)
    snap_file = tmp_path / "deployed.json"
    if content is not None:
        snap_file.write_text(content)
    code, out, err = run_codegen(root, "check", "--deployed", str(snap_file))
    assert code == 2
    (line,) = out.splitlines()
    assert line.startswith(f"{snap_file}: {expected}") and line.endswith("(DEPLOYED_UNREADABLE)")
    assert "Traceback" not in out + err


def test_an_unreachable_broker_is_one_clear_line(tmp_path: Path) -> None:
    root = P.build(tmp_path / "proposed", THREE, writes=3, reads=2)
    code, out, _ = run_codegen(root, "check", "--deployed", "redis://127.0.0.1:1/0")
    assert code == 2
    (line,) = out.splitlines()
    assert line.startswith("redis://127.0.0.1:1/0: Cannot read the deployed registry: ")
    assert line.endswith("(DEPLOYED_UNREADABLE)")


def test_a_build_that_knows_the_version_but_has_no_read_plan(tmp_path: Path) -> None:
    # payment-old was built after v3 existed, but reads v1, which cannot read v3: its own
    # gate gave it no read plan, so it dead-letters v3 as unreadable.
    old = B.replicas(tmp_path / "a", THREE, {"payment": ["payment-old"]}, writes=2, reads=1)
    (f,) = _findings(tmp_path, B.snapshot(old))
    assert f.rule == "DEPLOYED_CONSUMER_BREAKS"
    assert "its registry has no read plan for v3; a reader of v1 must read v3 events:" in (
        f.message
    )
    assert f.message.endswith(
        "Deploy payment reading a version that reads v3 before anything writes v3 "
        "(`codegen rollout` prints the order)."
    )

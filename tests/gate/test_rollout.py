"""`codegen rollout`: the order to deploy consumers and producers of a change in.

The changes take `order.created` from v1 to v2 in three ways:

* backward only: v2 raises the maximum of `total` (a v2 reader reads v1, not the reverse);
* forward only: v2 lowers it (a v1 reader reads v2; a v2 reader needs an upcaster for v1);
* full: v2 adds an optional property.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codegen.rollout import plan_rollout
from tests.codegen.golden import run_codegen
from tests.gate import builds as B
from tests.gate import project as P

V1 = P.schema(1, {"total": {"type": "integer", "minimum": 0, "maximum": 1000}})
CHANGES = {
    "backward only": (
        "BACKWARD",
        P.schema(2, {"total": {"type": "integer", "minimum": 0, "maximum": 100000}}),
    ),
    "forward only": (
        "FORWARD",
        P.schema(2, {"total": {"type": "integer", "minimum": 0, "maximum": 500}}),
    ),
    "full": (
        "FULL",
        P.schema(2, {"total": V1["properties"]["total"], "channel": {"type": "string"}}),
    ),
}
# What a payment that reads v2 does with v1 events under the forward-only change.
UPCASTER = (
    "\n\ndef upcast_order_created_v1_to_v2(old: JsonDict) -> JsonDict:\n"
    '    return {**old, "total": min(old.get("total", 0), 500)}\n\n\n'
    'UPCASTERS[("order.created", 1, 2)] = upcast_order_created_v1_to_v2\n'
)


def _plan(
    tmp_path: Path,
    change: str,
    *,
    known: int,
    base: tuple[int, int],
    target: tuple[int, int],
) -> Any:
    """Running: order writes base[0], payment reads base[1], built from a tree with
    versions 1..known. Proposed: order writes target[0], payment reads target[1]."""
    mode, v2 = CHANGES[change]
    versions = [V1, v2]
    running = B.replicas(
        tmp_path / "running",
        versions[:known],
        {"order": ["o-1"], "payment": ["p-1"]},
        writes=base[0],
        reads=base[1],
        compatibility=mode,
    )
    project = B.project(
        tmp_path / "proposed", versions, writes=target[0], reads=target[1], compatibility=mode
    )
    return plan_rollout(project, B.snapshot(running))


@pytest.mark.parametrize(
    ("change", "summary"),
    [
        # Running readers on v1 cannot read v2: payment must move to v2 first.
        ("backward only", "rollout: deploy consumers payment first, then producers order"),
        # v1 readers read v2, and payment on v2 reads v1 through its upcaster: either first.
        (
            "forward only",
            "rollout: any order: every running reader reads what these contracts "
            "write, and every reader here reads what is written now",
        ),
        (
            "full",
            "rollout: any order: every running reader reads what these contracts write, "
            "and every reader here reads what is written now",
        ),
    ],
)
def test_switching_both_sides_to_a_version_the_running_builds_know(
    tmp_path: Path, change: str, summary: str
) -> None:
    plan = _plan(tmp_path, change, known=2, base=(1, 1), target=(2, 2))
    assert plan.summary() == summary
    assert plan.changes[0].startswith(f"order.created v1 -> v2: {change} (")
    assert plan.safe


@pytest.mark.parametrize("change", ["forward only", "full"])
def test_a_brand_new_version_needs_its_consumers_rebuilt_first(tmp_path: Path, change: str) -> None:
    # payment keeps reading v1 (which can read v2), but its running build predates v2.
    plan = _plan(tmp_path, change, known=1, base=(1, 1), target=(2, 1))
    assert plan.summary() == "rollout: deploy consumers payment first, then producers order"
    (edge,) = plan.edges
    assert edge.reason == (
        "payment must read order.created v2 before order writes it "
        "(a rebuild is enough: its build does not know v2)"
    )


def test_a_backward_only_version_its_readers_stay_behind_on_is_blocked(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "backward only", known=2, base=(1, 1), target=(2, 1))
    assert not plan.safe
    assert plan.blocked == [
        "payment reads order.created at v1 in these contracts and cannot read v2, which "
        "order writes: no order is safe"
    ]


def test_rolling_a_backward_only_change_back_is_producers_first(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "backward only", known=2, base=(2, 2), target=(1, 1))
    assert plan.summary() == "rollout: deploy producers order first, then consumers payment"
    (edge,) = plan.edges
    assert edge.kind == "producers first"
    assert "payment must have consumed the v2 events already written" in edge.reason


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.test",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.test",
            "PATH": "/usr/bin:/bin",
        },
    )


def test_rollout_against_a_git_ref_and_its_formats(tmp_path: Path) -> None:
    mode, v2 = CHANGES["backward only"]
    root = P.build(tmp_path / "repo", [V1, v2], writes=1, reads=1, compatibility=mode)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "deployed")
    P.build(root, [V1, v2], writes=2, reads=2, compatibility=mode)
    code, out, _ = run_codegen(root, "rollout", "--against", "HEAD")
    assert code == 0
    assert out.splitlines() == [
        "order.created v1 -> v2: backward only (readers on v2 read v1 events; readers on v1 "
        "cannot read v2 events)",
        "  payment must read order.created v2 before order writes it (it moves to reading v2)",
        "rollout: deploy consumers payment first, then producers order",
    ]
    code, js, _ = run_codegen(root, "rollout", "--against", "HEAD", "--format", "json")
    doc = json.loads(js)
    assert code == 0 and doc["safe"] is True
    assert doc["phases"] == [
        {"services": ["payment"], "roles": ["consumers"]},
        {"services": ["order"], "roles": ["producers"]},
    ]
    code, gh, _ = run_codegen(root, "rollout", "--against", "HEAD", "--format", "github")
    assert gh.splitlines()[-1] == (
        "::notice title=rollout::rollout: deploy consumers payment first, then producers order"
    )
    code, _, err = run_codegen(root, "rollout")
    assert code == 2 and "rollout needs one baseline" in err


def test_forward_only_target_tree_with_its_upcaster_checks_clean(tmp_path: Path) -> None:
    # The forward-only plan relies on payment reading v1 through an upcaster: the gate
    # insists on it, so a tree where payment reads v2 is only valid with one.
    mode, v2 = CHANGES["forward only"]
    root = tmp_path / "t"
    P.write(root, [V1, v2], writes=2, reads=2, compatibility=mode)
    code, out, _ = run_codegen(root, "gen")
    assert code == 1 and "(UPCASTER_MISSING)" in out
    P.write(root, [V1, v2], writes=2, reads=2, compatibility=mode, upcasters=UPCASTER)
    assert run_codegen(root, "gen")[0] == 0


def _two_way(root: Path, *, writes: int, reads: int) -> Any:
    """order writes order.created and reads payment.done; payment the other way round.
    Both types get the same backward-only v2."""
    from codegen.build import build_project

    for type_name in ("order.created", "payment.done"):
        folder = root / "schemas" / "events" / type_name
        folder.mkdir(parents=True, exist_ok=True)
        for n, props in ((1, V1["properties"]), (2, CHANGES["backward only"][1]["properties"])):
            doc = P.schema(
                n, {k: v for k, v in props.items() if k != "order_id"}, type_name=type_name
            )
            (folder / f"v{n}.json").write_text(json.dumps(doc, indent=2))
    (root / "schemas" / "catalog.yaml").write_text(
        "\n".join(
            [
                "version: 1",
                "defaults: {compatibility: BACKWARD}",
                "events:",
                "  order.created: {delivery: durable, stream: orders, aggregate_id: order_id}",
                "  payment.done: {delivery: durable, stream: payments, aggregate_id: order_id}",
                "services:",
                "  order:",
                f"    produces: [order.created@{writes}]",
                f"    consumes: {{payment.done: {reads}}}",
                "  payment:",
                f"    produces: [payment.done@{writes}]",
                f"    consumes: {{order.created: {reads}}}",
                "",
            ]
        )
    )
    project, findings = build_project(root)
    assert not findings, findings
    return project


def test_two_services_that_must_each_go_first_is_a_cycle(tmp_path: Path) -> None:
    from codegen.gate import read_plans
    from codegen.rollout import baseline_of

    running = _two_way(tmp_path / "running", writes=1, reads=1)
    plans, _ = read_plans(tmp_path / "running", running)
    proposed = _two_way(tmp_path / "proposed", writes=2, reads=2)
    plan = plan_rollout(proposed, baseline_of(running, "r-1", plans))
    assert plan.cycle == ["order", "payment"] and not plan.safe
    assert plan.summary() == (
        "rollout: no safe order: order, payment would each have to be deployed before the "
        "other; split the change into two releases: first every consumer reads the new "
        "versions, then the producers write them"
    )

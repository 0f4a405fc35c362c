"""The codegen command line: exit codes, JSON shape, scaffolding, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import write_tree
from tests.codegen.golden import copy_input, run_codegen

REPO = Path(__file__).resolve().parents[2]
V1 = REPO / "schemas" / "events" / "order.created" / "v1.json"
V2 = REPO / "schemas" / "events" / "order.created" / "v2.json"


def test_compat_json_shape_and_exit_codes() -> None:
    code, out, _ = run_codegen(REPO, "compat", str(V1), str(V2), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"compatible", "mode", "semantics", "backward", "forward", "findings"}
    assert (doc["mode"], doc["semantics"], doc["compatible"]) == ("FULL", "runtime", True)
    code, out, _ = run_codegen(
        REPO, "compat", str(V1), str(V2), "--semantics", "strict", "--format", "json"
    )
    doc = json.loads(out)
    assert code == 1 and doc["backward"] is False and doc["forward"] is True
    finding = doc["findings"][0]
    assert set(finding) == {"rule", "direction", "old_pointer", "new_pointer", "message", "witness"}
    assert finding["new_pointer"] == "/properties/channel"
    # FORWARD only needs the forward direction, which holds.
    code, _, _ = run_codegen(
        REPO, "compat", str(V1), str(V2), "--semantics", "strict", "--mode", "forward"
    )
    assert code == 0


def test_compat_text_is_located(tmp_path: Path) -> None:
    code, out, err = run_codegen(REPO, "compat", str(V2), str(V1), "--semantics", "strict")
    assert code == 1
    assert out.startswith(str(V1.relative_to(REPO)) + ":") or ".json:" in out.splitlines()[0]
    assert out.splitlines()[0].endswith(")")
    assert "NOT compatible under FULL" in err


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "(JSON_INVALID)"), ('{"type": "strin"}', "(SCHEMA_INVALID)")],
)
def test_compat_bad_input_exits_2_without_traceback(
    tmp_path: Path, content: str, needle: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "codegen.cli", "compat", str(bad), str(V1)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert needle in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_missing_file_and_usage_errors_exit_2(tmp_path: Path) -> None:
    code, out, _ = run_codegen(REPO, "compat", str(tmp_path / "nope.json"), str(V1))
    assert code == 2 and "(FILE_UNREADABLE)" in out
    proc = subprocess.run(
        [sys.executable, "-m", "codegen.cli", "compat", "--mode", "SIDEWAYS", "a", "b"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_missing_catalog_is_bad_input(tmp_path: Path) -> None:
    code, out, _ = run_codegen(tmp_path, "gen")
    assert code == 2 and "(CATALOG_MISSING)" in out


def test_rules_lists_every_rule_once() -> None:
    code, out, _ = run_codegen(REPO, "rules")
    ids = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and len(ids) == len(set(ids)) >= 20
    assert all(i.isupper() for i in ids)


def test_new_then_gen_then_bump(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "new", "shop.refund.issued")[0] == 0
    assert (work / "schemas/events/shop.refund.issued/v1.json").is_file()
    assert "shop.refund.issued:" in (work / "schemas/catalog.yaml").read_text()
    assert run_codegen(work, "gen")[0] == 0
    assert (work / "generated/models/shop_refund_issued_v1.py").is_file()
    assert run_codegen(work, "new", "shop.refund.issued")[0] == 2
    assert run_codegen(work, "new", "Bad Name")[0] == 2
    assert run_codegen(work, "bump", "shop.refund.issued")[0] == 0
    v2 = json.loads((work / "schemas/events/shop.refund.issued/v2.json").read_text())
    assert v2["$id"].endswith("/events/shop.refund.issued/v2.json")
    assert run_codegen(work, "gen")[0] == 0
    lock = json.loads((work / "schemas/schemas.lock").read_text())["versions"]
    assert {"shop.refund.issued@1", "shop.refund.issued@2"} <= set(lock)
    assert run_codegen(work, "bump", "shop.nothing")[0] == 2
    assert run_codegen(work, "unlock", "shop.nothing@1")[0] == 2


def test_check_json_on_a_clean_tree(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    code, out, _ = run_codegen(work, "check", "--format", "json")
    assert code == 0 and json.loads(out) == []


def _codegen(*args: str, root: Path = REPO) -> list[str]:
    return [sys.executable, "-m", "codegen.cli", "--root", str(root), *args]


def test_the_command_exits_hard_with_all_output_and_main_exit_code(tmp_path: Path) -> None:
    """`codegen` leaves with os._exit once main() returned (no heap teardown): whatever it
    printed still reaches a pipe whole, and the exit code is main()'s."""
    env = {**os.environ, "SCHEMABUS_CACHE_DIR": str(tmp_path / "cache")}
    big = tmp_path / "big"
    write_tree(big, types=40, versions=3)
    proc = subprocess.run(
        _codegen("dump-ir", root=big), capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0 and len(proc.stdout) > 64 * 1024  # more than a pipe buffer
    assert len(json.loads(proc.stdout)["types"]) == 40
    proc = subprocess.run(
        _codegen("compat", str(V2), str(V1), "--semantics", "strict"),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1 and "NOT compatible" in proc.stderr
    # A reader that stops early: no traceback, no "Exception ignored" noise.
    with subprocess.Popen(
        _codegen("dump-ir", root=big),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.read(10)
        reader.stdout.close()
        err = reader.stderr.read().decode()
    assert "Traceback" not in err and "Exception ignored" not in err

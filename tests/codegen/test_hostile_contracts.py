"""Hostile contracts get located findings (rule id and line), never a traceback or a hang."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from codegen.validation import validator_for
from tests.codegen.golden import run_codegen
from tests.codegen.hostile import REL, event, line_of, write_tree

REPO = Path(__file__).resolve().parents[2]


def _gen(root: Path) -> tuple[int, str]:
    code, out, err = run_codegen(root, "gen")
    assert "Traceback" not in out + err
    return code, out + err


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


@pytest.mark.parametrize("name", ["a.b", ".", "x..y"])
def test_def_names_the_generator_reads_as_module_paths(tmp_path: Path, name: str) -> None:
    ref = "#/$defs/" + name
    path = write_tree(
        tmp_path, event({"p": {"$ref": ref}}, **{"$defs": {name: {"type": "string"}}})
    )
    code, out = _gen(tmp_path)
    line = line_of(path, json.dumps(name) + ": {")
    assert code == 1
    assert f"{REL}:{line}: " in out and "(DEF_NAME_INVALID)" in out


@pytest.mark.parametrize("ref", ["#/$defs/a#b", "#/$defs/a%23b"])
def test_def_name_with_hash_works(tmp_path: Path, ref: str) -> None:
    write_tree(
        tmp_path,
        event({"p": {"$ref": ref}}, **{"$defs": {"a#b": {"type": "string", "minLength": 2}}}),
    )
    code, out = _gen(tmp_path)
    assert code == 0, out
    assert "min_length=2" in (tmp_path / "generated/models/evil_thing_v1.py").read_text()


def test_nesting_100_deep_is_a_located_finding(tmp_path: Path) -> None:
    path = write_tree(tmp_path, event({"p": _deep(100)}))
    code, out = _gen(tmp_path)
    assert code == 2 and "(JSON_TOO_DEEP)" in out
    line = int(out.split(f"{REL}:")[1].split(":")[0])
    assert 60 < line < len(path.read_text().splitlines())  # where it gets too deep


def test_nesting_30_deep_still_works(tmp_path: Path) -> None:
    write_tree(tmp_path, event({"p": _deep(30)}))
    code, out = _gen(tmp_path)
    assert code == 0, out


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (('"a"', '"\\ud800"'), "ud800"),
        (('"p": {', '"\\ud800": {'), "ud800"),
    ],
)
def test_lone_surrogate(tmp_path: Path, edit: tuple[str, str], where: str) -> None:
    text = json.dumps(event({"p": {"enum": ["a"]}}), indent=2).replace(*edit)
    path = write_tree(tmp_path, None, text=text)
    code, out = _gen(tmp_path)
    assert code == 2
    assert f"{REL}:{line_of(path, where)}: " in out and "(JSON_INVALID)" in out


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity(tmp_path: Path, constant: str) -> None:
    text = json.dumps(event({"p": {"type": "number", "maximum": 7}}), indent=2)
    path = write_tree(tmp_path, None, text=text.replace('"maximum": 7', f'"maximum": {constant}'))
    code, out = _gen(tmp_path)
    assert code == 2
    assert f"{REL}:{line_of(path, constant)}: " in out and "(JSON_INVALID)" in out


def test_duplicate_key(tmp_path: Path) -> None:
    text = json.dumps(event({"p": {"type": "number"}}), indent=2).replace(
        '"type": "number"', '"type": "number",\n      "type": "string"'
    )
    path = write_tree(tmp_path, None, text=text)
    code, out = _gen(tmp_path)
    assert code == 2
    line = line_of(path, '"type": "number"') + 1
    assert f"{REL}:{line}: " in out and "(JSON_DUPLICATE_KEY)" in out


@pytest.mark.parametrize("pattern", ["(?=a)b", "(a)\\1", "(?<!x)y"])
def test_patterns_the_linear_engine_refuses(tmp_path: Path, pattern: str) -> None:
    path = write_tree(tmp_path, event({"p": {"type": "string", "pattern": pattern}}))
    code, out = _gen(tmp_path)
    assert code == 1
    line = line_of(path, '"pattern"')
    assert f"{REL}:{line}: " in out and "(PATTERN_UNSUPPORTED)" in out


def test_pattern_properties_are_linted_too(tmp_path: Path) -> None:
    path = write_tree(
        tmp_path, event({"p": {"type": "object", "patternProperties": {"^(?!x)": {}}}})
    )
    code, out = _gen(tmp_path)
    assert code == 1
    assert f"{REL}:{line_of(path, '^(?!x)')}: " in out and "(PATTERN_UNSUPPORTED)" in out


def test_catastrophic_pattern_examples_validate_in_linear_time(tmp_path: Path) -> None:
    """^(a+)+$ backtracks exponentially in Python's re on "aaa...!" (43 s for 30
    characters); the linear engine answers at once, so the invalid example is reported."""
    evil = "a" * 30 + "!"
    schema = event({"p": {"type": "string", "pattern": "^(a+)+$"}})
    schema["examples"] = [{"id": "e-1", "p": evil}]
    write_tree(tmp_path, schema)
    start = time.monotonic()
    code, out = _gen(tmp_path)
    assert code == 1 and "(EXAMPLE_INVALID)" in out
    assert time.monotonic() - start < 60  # liveness only: Python's re would take minutes
    assert not validator_for({"pattern": "^(a+)+$"}).is_valid("a" * 5000 + "!")


@pytest.mark.parametrize("command", [["bump", "../../../x"], ["new", "../x"], ["unlock", "../x@1"]])
def test_type_names_are_validated_before_touching_files(tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / "repo"
    write_tree(root, event({}))
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    code, _, err = run_codegen(root, *command)
    assert code == 2
    assert "not a valid type name" in err or "is not TYPE@N" in err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["upcasters", "demo"])
def test_service_names_that_shadow_project_modules(tmp_path: Path, name: str) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "demo.py").write_text("")
    write_tree(
        tmp_path, event({}), services=f"services:\n  {name}:\n    consumes: {{evil.thing: 1}}\n"
    )
    code, out = _gen(tmp_path)
    assert code == 1
    assert "schemas/catalog.yaml:8: " in out and "(SERVICE_NAME_INVALID)" in out
    assert not (tmp_path / "services" / name).exists()


def test_lock_changed_is_reported_with_the_other_findings(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "schemas", root / "schemas")
    path = root / "schemas" / "events" / "payment.failed" / "v1.json"
    doc = json.loads(path.read_text())
    doc["examples"] = [{"not": "valid"}]
    path.write_text(json.dumps(doc, indent=2))
    code, out, _ = run_codegen(root, "check")
    assert code == 1
    rules = [line.rsplit("(", 1)[1].rstrip(")") for line in out.splitlines() if line.endswith(")")]
    assert "LOCK_CHANGED" in rules and "EXAMPLE_INVALID" in rules
    assert "codegen bump payment.failed" in out


@pytest.mark.parametrize(
    "edit",
    [
        # fails the metaschema
        lambda doc: doc["properties"]["order_id"].update(type="strin"),
        # fails the hostile-pattern lint
        lambda doc: doc["properties"]["order_id"].update(pattern="(a|a)*(?=b)"),
    ],
    ids=["metaschema", "pattern"],
)
def test_lock_changed_is_reported_when_the_edit_fails_lint_too(tmp_path: Path, edit: Any) -> None:
    """A published version edited so that it no longer lints still says, in the same
    round, that it is published (the fix is a new version, not repairing this one)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "schemas", root / "schemas")
    path = root / "schemas" / "events" / "payment.failed" / "v1.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2))
    code, out, err = run_codegen(root, "check")
    assert code == 1 and "Traceback" not in out + err
    rules = [line.rsplit("(", 1)[1].rstrip(")") for line in out.splitlines() if line.endswith(")")]
    assert "LOCK_CHANGED" in rules, out
    assert "codegen bump payment.failed" in out
    assert "schemas/events/payment.failed/v1.json" in out


def test_a_hostile_lock_entry_never_makes_a_path_outside_schemas(tmp_path: Path) -> None:
    """The lock is repo content too: an entry whose name is no type name is never read
    as a file (here the published-edit check would otherwise open ../../outside)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "outside").mkdir()
    (root / "outside" / "v1.json").write_text(json.dumps({"type": "object"}))
    lock_path = root / "schemas" / "schemas.lock"
    lock = json.loads(lock_path.read_text())
    lock["versions"]["../../outside@1"] = "sha256:" + "0" * 64
    lock_path.write_text(json.dumps(lock, indent=2))
    path = root / "schemas" / "events" / "payment.failed" / "v1.json"
    doc = json.loads(path.read_text())
    doc["properties"]["order_id"]["type"] = "strin"  # fails lint: the partial-project path
    path.write_text(json.dumps(doc, indent=2))
    code, out, err = run_codegen(root, "check")
    assert code == 1 and "Traceback" not in out + err
    assert "outside" not in out.replace("../../outside@1", "")
    assert "LOCK_CHANGED" in out  # the real published edit is still reported

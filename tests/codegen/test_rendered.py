"""A plan reads generated/ back instead of rendering only when it is exactly what a render
of the same inputs wrote (codegen/rendered.py); every other case renders."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codegen import ir
from codegen.render import python as render_python
from tests.codegen.golden import copy_input, run_codegen

# Renderer inputs that the IR's repr leaves out, and what covers them in the key.
NOT_IN_REPR = {
    ("Version", "raw"),  # the version file's text
    ("Version", "bundled"),  # its fingerprint (in repr)
    ("Version", "source"),  # the version file's and its shared files' texts
    ("SharedDef", "schema"),  # hashed into the key
}


def test_every_ir_field_is_in_the_key() -> None:
    """A field added to the IR with repr=False must be added to the key by hand (and here):
    otherwise a change to it would reuse an output rendered without it."""
    for name in dir(ir):
        cls = getattr(ir, name)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            continue
        for f in dataclasses.fields(cls):
            if not f.repr:
                assert (name, f.name) in NOT_IN_REPR, f"{name}.{f.name} is in no render key"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    return work


def _no_render(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = render_python.render_generated

    def counting(*args: object, **kwargs: object) -> dict[str, str]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render_python, "render_generated", counting)
    return calls


def test_check_after_gen_reads_generated_back(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _no_render(monkeypatch)
    code, _, err = run_codegen(repo, "check")
    assert code == 0, err
    assert calls == []
    code, _, err = run_codegen(repo, "gen", "--check")
    assert code == 0, err
    assert calls == []


def _first_model(repo: Path) -> Path:
    return sorted((repo / "generated" / "models").glob("*_v1.py"))[0]


@pytest.mark.parametrize("change", ["edit", "delete", "add"])
def test_a_changed_generated_tree_is_rendered_and_reported(
    repo: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    if change == "edit":
        path = _first_model(repo)
        path.write_text(path.read_text("utf-8") + "# edited\n", "utf-8")
    elif change == "delete":
        _first_model(repo).unlink()
    else:
        (repo / "generated" / "models" / "stray.py").write_text("x = 1\n", "utf-8")
    calls = _no_render(monkeypatch)
    code, out, _ = run_codegen(repo, "check")
    assert code == 1
    assert "GENERATED_DRIFT" in out
    assert calls == [1]
    assert run_codegen(repo, "gen")[0] == 0
    assert run_codegen(repo, "check")[0] == 0


def test_a_changed_contract_is_rendered(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the description changes: no model, fingerprint-free text in the docs."""
    path = sorted((repo / "schemas" / "events").glob("*/v1.json"))[0]
    doc = json.loads(path.read_text("utf-8"))
    lock = (repo / "schemas" / "schemas.lock").read_text("utf-8")
    doc["description"] = "A new description."
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    assert run_codegen(repo, "unlock", f"{path.parent.name}@1")[0] == 0
    calls = _no_render(monkeypatch)
    code, out, _ = run_codegen(repo, "check")
    assert calls == [1]
    assert code == 1 and "GENERATED_DRIFT" in out
    assert run_codegen(repo, "gen")[0] == 0
    docs = "".join(p.read_text("utf-8") for p in (repo / "generated" / "docs").rglob("*.md"))
    assert "A new description." in docs
    assert lock  # the version was locked before the unlock


def test_the_key_is_the_same_in_every_process(repo: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from codegen.pipeline import plan; "
        "from codegen.rendered import render_key; "
        "p = plan(Path(sys.argv[1])).project; print(render_key(p))"
    )
    keys = set()
    for seed in ("0", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", script, str(repo)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        keys.add(proc.stdout.strip())
    assert len(keys) == 1


def test_the_lock_is_compared_when_generated_is_read_back(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = repo / "schemas" / "schemas.lock"
    lock.write_text(lock.read_text("utf-8").replace("\n", "\n\n", 1), "utf-8")
    calls = _no_render(monkeypatch)
    code, out, _ = run_codegen(repo, "check")
    assert calls == []  # generated/ itself is what the last render wrote
    assert code == 1 and "GENERATED_DRIFT" in out
    assert run_codegen(repo, "gen")[0] == 0
    assert run_codegen(repo, "check")[0] == 0

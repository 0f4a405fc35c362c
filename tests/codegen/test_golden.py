"""Golden tests: tests/golden/<case>/input is a contracts tree; `expected/` holds every file
`codegen gen` creates or changes, `expected_output.txt` the printed findings and exit code.

To accept new output after an intended change, rerun with `pytest --update-golden`
(or SCHEMABUS_UPDATE_GOLDEN=1) and review the diff in git.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.codegen.golden import GOLDEN, copy_input, run_codegen, tree, update_requested

CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input").is_dir())


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path) -> None:
    work = copy_input(case, tmp_path / "repo")
    code, out, err = run_codegen(work, "gen")
    produced = tree(work, exclude=GOLDEN / case / "input")
    expected_dir = GOLDEN / case / "expected"
    expected_out = GOLDEN / case / "expected_output.txt"
    transcript = f"{out}exit: {code}\n"
    if update_requested():
        shutil.rmtree(expected_dir, ignore_errors=True)
        expected_out.unlink(missing_ok=True)
        if code == 0:
            for rel, text in produced.items():
                (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (expected_dir / rel).write_text(text, "utf-8")
        else:
            expected_out.write_text(transcript, "utf-8")
        return
    if expected_out.exists():
        assert transcript == expected_out.read_text("utf-8"), err
        assert produced == {}, "a failing gen must not write anything"
    else:
        assert code == 0, out + err
        assert produced == tree(expected_dir)


@pytest.mark.parametrize("case", [c for c in CASES if (GOLDEN / c / "expected").is_dir()])
def test_golden_output_imports_and_executes_nothing(case: str, tmp_path: Path) -> None:
    """Import every generated module in a fresh interpreter; a hostile schema must not be able
    to run code at import time (the canary file would appear)."""
    work = copy_input(case, tmp_path / "repo")
    shutil.copytree(GOLDEN / case / "expected", work, dirs_exist_ok=True)
    canary = Path("/tmp/schemabus-pwned")
    canary.unlink(missing_ok=True)
    script = (
        "import importlib, pathlib, sys\n"
        "import generated\n"
        "assert pathlib.Path(generated.__file__).parent == pathlib.Path('generated').resolve()\n"
        "for p in sorted(pathlib.Path('generated').rglob('*.py')):\n"
        "    importlib.import_module('.'.join(p.with_suffix('').parts).removesuffix('.__init__'))\n"
        "from generated.registry import REGISTRY\n"
        "import json\n"
        "for spec in REGISTRY.events.values():\n"
        "    for example in json.loads(spec.schema_json).get('examples', []):\n"
        "        spec.model.model_validate(example)\n"
        "print(len(REGISTRY.events))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=work, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) >= 1
    assert not canary.exists()


def test_gen_check_is_clean_after_gen_and_detects_drift(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    assert run_codegen(work, "gen", "--check") == (0, "", "")
    target = work / "generated" / "registry.py"
    target.write_text(target.read_text() + "# hand edit\n")
    code, out, _ = run_codegen(work, "gen", "--check")
    assert code == 1
    assert "-# hand edit" in out and "generated/registry.py" in out
    (work / "generated" / "models" / "stale_v9.py").write_text("x = 1\n")
    code, out, _ = run_codegen(work, "gen")
    assert code == 0
    assert not (work / "generated" / "models" / "stale_v9.py").exists()
    assert "# hand edit" not in target.read_text()


def test_stubs_are_written_once_and_never_overwritten(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    stub = work / "services" / "shop" / "__init__.py"
    stub.write_text("# mine\n")
    assert run_codegen(work, "gen")[0] == 0
    assert stub.read_text() == "# mine\n"

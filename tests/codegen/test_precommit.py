"""The pre-commit files are valid: this repository's hooks and the manifest other
repositories consume (`pre-commit run --all-files` runs them offline from .venv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_config_and_manifest_validate() -> None:
    config = _pre_commit("validate-config", ".pre-commit-config.yaml")
    assert config.returncode == 0, config.stdout + config.stderr
    manifest = _pre_commit("validate-manifest", ".pre-commit-hooks.yaml")
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr


def test_hooks_run_the_gate_and_the_drift_check() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {h["id"]: h["entry"] for h in hooks}
    assert entries["codegen-gen-check"].endswith("codegen gen --check")
    assert entries["codegen-check"].endswith("codegen check")
    published = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert published == {"schemabus-check", "schemabus-gen-check", "schemabus-check-deployed"}

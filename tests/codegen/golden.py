"""Shared helpers for golden tests: run `codegen` on a copy of a case's input tree."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

from codegen.cli import main

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def update_requested() -> bool:
    return os.environ.get("SCHEMABUS_UPDATE_GOLDEN") == "1"


def run_codegen(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return code, out.getvalue(), err.getvalue()


def copy_input(case: str, dest: Path) -> Path:
    shutil.copytree(GOLDEN / case / "input", dest, dirs_exist_ok=True)
    return dest


def tree(root: Path, exclude: Path | None = None) -> dict[str, str]:
    files = {}
    for p in sorted(root.rglob("*")):
        # .cache/ is codegen's own content cache (git-ignored), not output.
        if p.is_file() and "__pycache__" not in p.parts and ".cache" not in p.parts:
            rel = p.relative_to(root).as_posix()
            files[rel] = p.read_text("utf-8")
    if exclude is not None:
        before = tree(exclude)
        files = {k: v for k, v in files.items() if before.get(k) != v}
    return files

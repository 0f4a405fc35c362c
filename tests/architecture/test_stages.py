"""Codegen's stages keep to their jobs: only `codegen/write.py` writes files, and the
render stage judges nothing (the compatibility matrix reaches it through the IR)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODEGEN = ROOT / "codegen"

# Path methods and builtins that change the file system.
_WRITING_METHODS = {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rmdir", "rename"}


def _writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _WRITING_METHODS:
            lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [
                k.value.value
                for k in node.keywords
                if k.arg == "mode" and isinstance(k.value, ast.Constant)
            ]
            if any(isinstance(m, str) and set(m) & set("wax+") for m in modes):
                lines.append(node.lineno)
    return lines


def test_only_write_py_writes_files() -> None:
    found = []
    for path in sorted(CODEGEN.rglob("*.py")):
        if path == CODEGEN / "write.py":
            continue
        for line in _writes(ast.parse(path.read_text("utf-8"))):
            found.append(f"{path.relative_to(ROOT).as_posix()}:{line}")
    assert found == []


def test_the_check_finds_a_write() -> None:
    assert _writes(ast.parse("p.write_text('x')\nopen(f, 'w')\nopen(f)\n")) == [1, 2]


def test_render_judges_nothing() -> None:
    bad = []
    for path in sorted((CODEGEN / "render").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if module.startswith(("codegen.gate", "codegen.compat", "codegen.pipeline")):
                bad.append(f"{path.name} imports {module}")
    assert bad == []

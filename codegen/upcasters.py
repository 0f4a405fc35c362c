"""Hand-written upcasters in `services/upcasters.py`: found by reading the file's syntax tree.

codegen never imports services (layering); it parses the module instead. Each upcaster is
registered as `UPCASTERS[("type", from, to)] = function` or inside the `UPCASTERS = {...}`
literal. A function whose body still raises NotImplementedError is not implemented.
"""

from __future__ import annotations

import ast
from pathlib import Path

from codegen.errors import Finding
from codegen.ir import Project, ReadPlan
from codegen.names import snake_case

UPCASTERS_REL = "services/upcasters.py"

HEADER = '''"""Upcasters: hand-written functions that turn an old event version into a newer one.

codegen asks for one whenever a consumer's declared version cannot read an older published
version directly. Each takes the old payload (a JSON dict) and returns a payload valid
under the newer schema; `make test` checks that against the schemas.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]
UPCASTERS: dict[tuple[str, int, int], Any] = {}
'''


def function_name(key: tuple[str, int, int]) -> str:
    return f"upcast_{snake_case(key[0])}_v{key[1]}_to_v{key[2]}"


def stub_for(key: tuple[str, int, int]) -> str:
    name = function_name(key)
    return (
        f"\n\ndef {name}(old: JsonDict) -> JsonDict:\n"
        f'    """{key[0]} v{key[1]} -> v{key[2]}."""\n'
        f'    raise NotImplementedError("write the {key[0]} v{key[1]} -> v{key[2]} upcaster")\n'
        f"\n\nUPCASTERS[({key[0]!r}, {key[1]}, {key[2]})] = {name}\n"
    )


def _registered(tree: ast.Module) -> dict[tuple[str, int, int], str]:
    """(type, from, to) -> function name, from the module's UPCASTERS registrations."""
    out: dict[tuple[str, int, int], str] = {}

    def key_of(node: ast.expr) -> tuple[str, int, int] | None:
        try:
            value = ast.literal_eval(node)
        except ValueError:
            return None
        ok = isinstance(value, tuple) and len(value) == 3
        if (
            ok
            and isinstance(value[0], str)
            and isinstance(value[1], int)
            and isinstance(value[2], int)
        ):
            return (value[0], value[1], value[2])
        return None

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == "UPCASTERS":
                    if isinstance(stmt.value, ast.Dict):
                        for k, v in zip(stmt.value.keys, stmt.value.values, strict=False):
                            key = key_of(k) if k is not None else None
                            if key and isinstance(v, ast.Name):
                                out[key] = v.id
                elif (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "UPCASTERS"
                    and isinstance(stmt.value, ast.Name)
                ):
                    key = key_of(target.slice)
                    if key:
                        out[key] = stmt.value.id
    return out


def _unimplemented(tree: ast.Module) -> set[str]:
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                    if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                        names.add(stmt.name)
    return names


def required(plans: tuple[ReadPlan, ...]) -> list[tuple[str, int, int]]:
    return sorted({step for p in plans for step in p.upcasters})


def upcaster_findings(root: Path, project: Project, plans: tuple[ReadPlan, ...]) -> list[Finding]:
    """UPCASTER_MISSING / UPCASTER_NOT_IMPLEMENTED for every step a consumer needs."""
    del project
    needed = required(plans)
    if not needed:
        return []
    path = root / UPCASTERS_REL
    registered: dict[tuple[str, int, int], str] = {}
    unimplemented: set[str] = set()
    if path.is_file():
        try:
            tree = ast.parse(path.read_text("utf-8"), filename=UPCASTERS_REL)
        except SyntaxError as exc:
            return [
                Finding(
                    UPCASTERS_REL, exc.lineno or 0, f"Syntax error: {exc.msg}.", "UPCASTER_SYNTAX"
                )
            ]
        registered = _registered(tree)
        unimplemented = _unimplemented(tree)
    out = []
    for key in needed:
        where = f"schemas/events/{key[0]}/v{key[2]}.json"
        if key not in registered:
            out.append(
                Finding(
                    where,
                    0,
                    f"A consumer of {key[0]} needs an upcaster from v{key[1]} to v{key[2]} (the "
                    f"gate cannot prove v{key[2]} reads v{key[1]}); `codegen gen` adds a stub "
                    f"`{function_name(key)}` to {UPCASTERS_REL}: implement it.",
                    "UPCASTER_MISSING",
                )
            )
        elif registered[key] in unimplemented:
            out.append(
                Finding(
                    UPCASTERS_REL,
                    0,
                    f"The upcaster {registered[key]} for {key[0]} v{key[1]} -> v{key[2]} still "
                    "raises NotImplementedError; implement it.",
                    "UPCASTER_NOT_IMPLEMENTED",
                )
            )
    return out


def upcaster_stub_text(root: Path, plans: tuple[ReadPlan, ...]) -> str | None:
    """New contents for services/upcasters.py with stubs for missing upcasters, or None."""
    needed = required(plans)
    path = root / UPCASTERS_REL
    text = path.read_text("utf-8") if path.is_file() else HEADER
    try:
        registered = _registered(ast.parse(text))
    except SyntaxError:
        return None
    missing = [k for k in needed if k not in registered]
    if not missing:
        return None
    return text.rstrip("\n") + "\n" + "".join(stub_for(k) for k in missing)

"""One class per shared shape: the inputs that make the generator leave shared shapes to
`generated/models/defs.py`, and the edit that makes its output import them from there.

datamodel-code-generator only sees self-contained schemas and names classes itself (an inline
object under a property "money" can take the name `Money` and push the real def to
`Money1`). So every shared shape is handed to it under a unique token name
(`SchemabusSharedZ0000X`); in an event module its content is replaced by an empty object (no
helper classes are generated for it), in the defs module it is the real shape. `finish`
then renames tokens to the final class names (moving any helper class out of their way),
drops the placeholders, imports what the module uses, and formats the result with the
generator's own formatter.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from codegen.ir import SharedDef, Version
from codegen.shapes import (
    DEFS_PREFIX,
    INSTANCE_KEYWORDS,
    MAP_KEYWORDS,
    map_refs,
    part_of,
    split_def_ref,
)

DEFS_MODULE = "defs"
DEFS_IMPORT = "generated.models.defs"
# Root of the defs module's input; the generator wants one, `finish` drops it.
_DEFS_ROOT = "SchemabusSharedDefsRoot"
_PLACEHOLDER: dict[str, Any] = {"type": "object"}


def _token_prefix(doc: Any) -> str:
    """A class-name prefix that no name in `doc` can produce: the generator derives helper
    class names from property names and keys (camel-cased), so the prefix must not occur in
    the document's text, compared without case and underscores."""
    text = json.dumps(doc, ensure_ascii=False).lower().replace("_", "")
    n = 0
    while (prefix := f"SchemabusShared{n or ''}Z").lower() in text:
        n += 1
    return prefix


def _tokens(items: list[str], doc: Any) -> dict[str, str]:
    # Zero-padded so the generator's name order is the class-name order.
    prefix = _token_prefix(doc)
    return {item: f"{prefix}{i:04d}X" for i, item in enumerate(items)}


def event_input(v: Version) -> tuple[Any, dict[str, Any] | None]:
    """The bundled schema with its shared shapes as placeholders, and the edit spec."""
    shared = dict(v.shared)
    if not shared or not isinstance(v.bundled, dict):
        return v.bundled, None
    order = sorted(shared, key=lambda k: (shared[k], k))
    tokens = _tokens(order, v.bundled)

    def rename(ref: str) -> str:
        split = split_def_ref(ref)
        if split is None or split[0] not in tokens:
            return ref
        return f"{DEFS_PREFIX}{tokens[split[0]]}{split[1]}"

    bundled_defs: dict[str, Any] = v.bundled["$defs"]

    def local(node: Any) -> Any:
        # Local code keeps its refs, renamed; a pointer into a shared shape gets a copy of
        # that part (shapes.part_of said it can).
        if isinstance(node, list):
            return [local(x) for x in node]
        if not isinstance(node, dict):
            return node
        split = split_def_ref(node["$ref"]) if isinstance(node.get("$ref"), str) else None
        if split is not None and split[0] in shared and split[1]:
            part = map_refs(part_of(bundled_defs, split[0], split[1], set(shared)), rename)
            rest = {k: x for k, x in node.items() if k != "$ref"}
            return {**local_map(rest), "allOf": [part]} if rest else part
        return local_map(node)

    def local_map(node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, x in node.items():
            if k == "$ref" and isinstance(x, str):
                out[k] = rename(x)
            elif k in INSTANCE_KEYWORDS:
                out[k] = x
            elif k in MAP_KEYWORDS:
                out[k] = {name: local(sub) for name, sub in x.items()} if isinstance(x, dict) else x
            else:
                out[k] = local(x)
        return out

    defs = {
        tokens.get(key, key): dict(_PLACEHOLDER) if key in shared else local(sub)
        for key, sub in bundled_defs.items()
    }
    schema = {k: local(sub) for k, sub in v.bundled.items() if k != "$defs"}
    schema["$defs"] = defs
    names = {tokens[key]: shared[key] for key in order}
    return schema, {"kind": "event", "names": names}


def defs_input(defs: tuple[SharedDef, ...]) -> tuple[Any, dict[str, Any]]:
    """One schema holding every shared shape, and the edit spec of the defs module."""
    tokens = _tokens([d.class_name for d in defs], [d.schema for d in defs])

    def rename(ref: str) -> str:
        split = split_def_ref(ref)
        if split is None or split[0] not in tokens:
            return ref
        return f"{DEFS_PREFIX}{tokens[split[0]]}{split[1]}"

    schema = {
        "$defs": {tokens[d.class_name]: map_refs(d.schema, rename) for d in defs},
    }
    names = {tokens[d.class_name]: d.class_name for d in defs}
    return schema, {"kind": "defs", "names": names, "root": _DEFS_ROOT}


def defs_root_title() -> str:
    return _DEFS_ROOT


class GeneratorNamingError(RuntimeError):
    """The generator did not emit a class under a token we gave it."""


def finish(source: str, spec: dict[str, Any], line_length: int) -> str:
    """Rename tokens, drop placeholders (or the defs root), import shared classes."""
    tree = ast.parse(source)
    names: dict[str, str] = spec["names"]
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    missing = [t for t in names if t not in classes]
    if missing:
        # Cannot happen while _token_prefix holds; fail loudly rather than import wrongly.
        raise GeneratorNamingError(f"datamodel-code-generator renamed {missing}")
    event = spec["kind"] == "event"
    drop = set(names) if event else {spec["root"]}
    rename = _rename_map(tree, names, classes)

    lines = source.split("\n")
    deleted: set[int] = set()  # 0-based line numbers
    last_import = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            last_import = stmt.end_lineno or stmt.lineno
            if isinstance(stmt, ast.ImportFrom) and any(a.name in rename for a in stmt.names):
                aliased = ", ".join(
                    f"{a.name} as {rename[a.name]}" if a.name in rename else _alias(a)
                    for a in stmt.names
                )
                first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
                lines[first] = f"from {stmt.module} import {aliased}"
                deleted.update(range(first + 1, last + 1))
        elif _defines_or_rebuilds(stmt) & drop:
            deleted.update(range(stmt.lineno - 1, stmt.end_lineno or stmt.lineno))

    used: set[str] = set()
    edits: list[tuple[int, int, int, str]] = []  # line, start col, end col, new text
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0) - 1
        if line in deleted:
            continue
        if isinstance(node, ast.Name) and node.id in rename:
            edits.append((line, node.col_offset, node.end_col_offset or 0, rename[node.id]))
            if node.id in names:
                used.add(names[node.id])
        elif isinstance(node, ast.ClassDef) and node.name in rename:
            m = re.match(r"\s*class\s+", lines[line])
            start = m.end() if m else 0
            edits.append((line, start, start + len(node.name), rename[node.name]))
    for line, start, end, text in sorted(edits, reverse=True):
        lines[line] = lines[line][:start] + text + lines[line][end:]

    kept = [text for i, text in enumerate(lines) if i not in deleted]
    if event and used:
        imports = f"from {DEFS_IMPORT} import {', '.join(sorted(used))}"
        at = last_import - sum(1 for i in deleted if i < last_import)
        kept.insert(at, imports)
    text = _prune_imports("\n".join(kept))
    text = re.sub(r"\n{4,}", "\n\n\n", text).rstrip("\n") + "\n"
    return _format(text, line_length)


def _rename_map(tree: ast.Module, names: dict[str, str], classes: list[str]) -> dict[str, str]:
    """Tokens -> class names; a helper class already called like a shared class, and an
    import called like one (`Field`, `Literal`), move out of the way."""
    rename = dict(names)
    targets = set(names.values())
    taken = targets | set(classes)
    for c in classes:
        if c not in names and c in targets:
            fresh, n = c, 1
            while fresh in taken:
                fresh, n = f"{c}{n}", n + 1
            taken.add(fresh)
            rename[c] = fresh
    imported = {
        a.asname or a.name
        for stmt in tree.body
        if isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__"
        for a in stmt.names
    }
    for name in sorted(imported & targets):
        alias = f"{name}_"
        while alias in taken or alias in imported:
            alias += "_"
        taken.add(alias)
        rename[name] = alias
    return rename


def _prune_imports(text: str) -> str:
    """Drop imported names nothing uses any more (the dropped classes used `Any`, …)."""
    tree = ast.parse(text)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    lines = text.split("\n")
    for stmt in reversed(tree.body):
        if not isinstance(stmt, ast.ImportFrom) or stmt.module == "__future__":
            continue
        keep = [a for a in stmt.names if (a.asname or a.name) in used]
        if len(keep) == len(stmt.names):
            continue
        new = [f"from {stmt.module} import {', '.join(_alias(a) for a in keep)}"] if keep else []
        lines[stmt.lineno - 1 : stmt.end_lineno] = new
    return "\n".join(lines)


def _alias(a: ast.alias) -> str:
    return f"{a.name} as {a.asname}" if a.asname else a.name


def _defines_or_rebuilds(stmt: ast.stmt) -> set[str]:
    """The class a top-level statement defines, or the one `X.model_rebuild()` rebuilds."""
    if isinstance(stmt, ast.ClassDef):
        return {stmt.name}
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and isinstance(stmt.value.func.value, ast.Name)
    ):
        return {stmt.value.func.value.id}
    return set()


def _format(text: str, line_length: int) -> str:
    from datamodel_code_generator.format import (
        DEFAULT_KNOWN_FIRST_PARTY,
        PythonVersion,
        apply_builtin_formatter,
    )

    formatted: str = apply_builtin_formatter(
        text,
        line_length=line_length,
        known_first_party=DEFAULT_KNOWN_FIRST_PARTY | {"generated"},
        string_normalization=True,
        python_version=PythonVersion.PY_311,
    )
    return formatted

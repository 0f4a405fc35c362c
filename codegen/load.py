"""Stage 1: files -> documents with positions, and `$ref` bundling.

Every event version is bundled into one self-contained schema: relative file refs
(`../../defs/money.json`) become local `#/$defs/<Name>` refs. The fingerprint, the compat
gate and the model generator all see the same bundled document.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from codegen.errors import BadInput, Finding
from codegen.names import pascal_case
from codegen.positions import JsonLines, escape

MAX_SCHEMA_BYTES = 1_000_000


@dataclass(frozen=True)
class JsonFile:
    path: Path
    rel: str
    doc: Any
    lines: JsonLines

    def line_of(self, ptr: str) -> int:
        return self.lines.line_of(ptr)


def read_json(path: Path, rel: str) -> JsonFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(
            [Finding(rel, 0, f"Cannot read the file: {exc.strerror}.", "FILE_UNREADABLE")]
        ) from None
    if len(raw) > MAX_SCHEMA_BYTES:
        raise BadInput(
            [Finding(rel, 0, "The file is larger than 1 MB; split it.", "FILE_TOO_LARGE")]
        )
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text)
    except UnicodeDecodeError:
        raise BadInput([Finding(rel, 0, "The file is not UTF-8 text.", "JSON_INVALID")]) from None
    except json.JSONDecodeError as exc:
        msg = f"Invalid JSON: {exc.msg} (column {exc.colno})."
        raise BadInput([Finding(rel, exc.lineno, msg, "JSON_INVALID")]) from None
    return JsonFile(path, rel, doc, JsonLines(text))


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(doc: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(doc)).hexdigest()


@dataclass
class Bundle:
    schema: Any
    findings: list[Finding] = field(default_factory=list)
    # Files this bundle was built from (root first); `check` uses them for locations.
    sources: list[str] = field(default_factory=list)
    root: JsonFile | None = None
    # $defs key -> the shared file inlined under it, to map pointers back to that file.
    def_files: dict[str, JsonFile] = field(default_factory=dict)

    def locate(self, ptr: str) -> tuple[str, int]:
        """(repo-relative path, line) of a pointer into the bundled schema."""
        prefix = "/$defs/"
        if ptr.startswith(prefix):
            key, _, rest = ptr[len(prefix) :].partition("/")
            key = key.replace("~1", "/").replace("~0", "~")
            f = self.def_files.get(key)
            if f is not None:
                return f.rel, f.line_of("/" + rest if rest else "")
        if self.root is None:
            return "", 0
        return self.root.rel, self.root.line_of(ptr)


class Bundler:
    """Inlines relative file refs under `schemas_dir` into `$defs`; refuses anything else."""

    def __init__(self, repo_root: Path, schemas_dir: Path) -> None:
        self.repo_root = repo_root.resolve()
        self.schemas_dir = schemas_dir.resolve()
        self._files: dict[Path, JsonFile] = {}

    def file(self, path: Path) -> JsonFile:
        path = path.resolve()
        if path not in self._files:
            self._files[path] = read_json(path, self._rel(path))
        return self._files[path]

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.repo_root).as_posix()
        except ValueError:
            return path.as_posix()

    def bundle(self, root: JsonFile) -> Bundle:
        out = Bundle(schema=None, sources=[root.rel], root=root)
        keys: dict[Path, str] = {}
        defs: dict[str, Any] = {}
        root_path = root.path.resolve()
        local_defs = root.doc.get("$defs", {}) if isinstance(root.doc, dict) else {}
        taken = set(local_defs) if isinstance(local_defs, dict) else set()

        def key_for(target: Path) -> str:
            if target not in keys:
                base = pascal_case(target.stem) or "Def"
                key, n = base, 2
                while key in taken:
                    key, n = f"{base}{n}", n + 1
                taken.add(key)
                keys[target] = key
                src = self.file(target)
                out.sources.append(src.rel)
                out.def_files[key] = src
                defs[key] = None  # reserve the slot first: refs may be recursive
                defs[key] = rewrite(src.doc, src, "")
            return keys[target]

        def resolve(ref: str, base: JsonFile, ptr: str) -> str:
            url, _, frag = ref.partition("#")
            frag = unquote(frag)
            if url == "":
                if base.path.resolve() == root_path:
                    return ref
                return f"#/$defs/{escape(keys[base.path.resolve()])}{frag}"
            if ":" in url.split("/", 1)[0]:
                out.findings.append(
                    Finding(
                        base.rel,
                        base.line_of(ptr),
                        f'The $ref "{ref}" is absolute; refer to shared shapes by a relative '
                        'path such as "../../defs/money.json".',
                        "REF_NOT_RELATIVE",
                    )
                )
                return ref
            target = (base.path.parent / url).resolve()
            if not target.is_relative_to(self.schemas_dir):
                out.findings.append(
                    Finding(
                        base.rel,
                        base.line_of(ptr),
                        f'The $ref "{ref}" points outside schemas/; move the shared shape '
                        "under schemas/defs/.",
                        "REF_OUTSIDE_SCHEMAS",
                    )
                )
                return ref
            if not target.is_file():
                out.findings.append(
                    Finding(
                        base.rel,
                        base.line_of(ptr),
                        f'The $ref "{ref}" does not resolve: {self._rel(target)} does not exist.',
                        "REF_UNRESOLVED",
                    )
                )
                return ref
            if target == root_path:
                return "#" + frag
            key = key_for(target)
            if frag and _lookup(self.file(target).doc, frag) is _MISSING:
                out.findings.append(
                    Finding(
                        base.rel,
                        base.line_of(ptr),
                        f'The $ref "{ref}" does not resolve: no "{frag}" in {self._rel(target)}.',
                        "REF_UNRESOLVED",
                    )
                )
            return f"#/$defs/{escape(key)}{frag}"

        def rewrite(node: Any, base: JsonFile, ptr: str) -> Any:
            if isinstance(node, dict):
                new: dict[str, Any] = {}
                for k, v in node.items():
                    child = f"{ptr}/{escape(k)}"
                    if k == "$ref" and isinstance(v, str):
                        new[k] = resolve(v, base, child)
                    elif k in ("$id", "$schema") and base.path.resolve() != root_path and not ptr:
                        continue  # an embedded $id would change the base URI of its refs
                    else:
                        new[k] = rewrite(v, base, child)
                return new
            if isinstance(node, list):
                return [rewrite(v, base, f"{ptr}/{i}") for i, v in enumerate(node)]
            return node

        schema = rewrite(root.doc, root, "")
        if defs and isinstance(schema, dict):
            merged = dict(schema.get("$defs", {}))
            merged.update(defs)
            schema["$defs"] = merged
        out.schema = schema
        # Any local ref in the root must resolve too.
        _check_local_refs(schema, schema, root, out.findings)
        return out


_MISSING = object()


def _lookup(doc: Any, ptr: str) -> Any:
    if ptr in ("", "/"):
        return doc
    if not ptr.startswith("/"):
        return _MISSING
    node = doc
    for raw in ptr[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _check_local_refs(node: Any, doc: Any, root: JsonFile, findings: list[Finding]) -> None:
    stack: list[Any] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if (
                isinstance(ref, str)
                and ref.startswith("#")
                and _lookup(doc, unquote(ref[1:])) is _MISSING
            ):
                findings.append(
                    Finding(
                        root.rel,
                        1,
                        f'The $ref "{ref}" does not resolve inside the bundled schema.',
                        "REF_UNRESOLVED",
                    )
                )
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)

"""Stage 1: files -> documents with positions, and `$ref` bundling.

Every event version is bundled into one self-contained schema: relative file refs
(`../../defs/money.json`) become local `#/$defs/<Name>` refs. The fingerprint, the compat
gate and the model generator all see the same bundled document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from codegen import jsontext
from codegen.errors import BadInput, Finding
from codegen.names import pascal_case
from codegen.positions import JsonLines, escape
from codegen.refs import (
    ANCHOR_KEYWORDS,
    REF_KEYWORDS,
    VALUE_KEYWORDS,
    fragment_pointer,
    local_fragment,
    schemas,
)

MAX_SCHEMA_BYTES = 1_000_000
_SAFE = "/~!$&'()*+,;=:@"  # characters a URI fragment may hold unencoded


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
        doc = jsontext.parse(text)
    except UnicodeDecodeError:
        raise BadInput([Finding(rel, 0, "The file is not UTF-8 text.", "JSON_INVALID")]) from None
    except json.JSONDecodeError as exc:
        msg = f"Invalid JSON: {exc.msg} (column {exc.colno})."
        raise BadInput([Finding(rel, exc.lineno, msg, "JSON_INVALID")]) from None
    except jsontext.JsonProblem as exc:
        raise BadInput([Finding(rel, exc.line, exc.message, exc.rule)]) from None
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


class MappedLines(JsonLines):
    """Line numbers for pointers into a translated document (see codegen.dialects):
    each pointer is mapped back to the one in the text as written."""

    def __init__(self, base: JsonLines, original: Callable[[str], str]) -> None:
        self._base = base
        self._original = original

    def line_of(self, ptr: str) -> int:
        return self._base.line_of(self._original(ptr))

    def original(self, ptr: str) -> str:
        return self._original(ptr)


class Bundler:
    """Inlines relative file refs under `schemas_dir` into `$defs`; refuses anything else.

    ``prepare`` may check or rewrite every file as it is read (``codegen compat`` turns
    older dialects into 2020-12 there)."""

    def __init__(
        self,
        repo_root: Path,
        schemas_dir: Path,
        prepare: Callable[[JsonFile], JsonFile] | None = None,
    ) -> None:
        self.repo_root = repo_root.resolve()
        self.schemas_dir = schemas_dir.resolve()
        self._files: dict[Path, JsonFile] = {}
        self._targets: dict[tuple[Path, str], Path] = {}
        self._prepare = prepare

    def file(self, path: Path) -> JsonFile:
        path = path.resolve()
        if path not in self._files:
            found = read_json(path, self._rel(path))
            self._files[path] = self._prepare(found) if self._prepare else found
        return self._files[path]

    def _target(self, folder: Path, url: str) -> Path:
        key = (folder, url)
        if key not in self._targets:  # resolve() is a syscall per path part: remember it
            self._targets[key] = (folder / url).resolve()
        return self._targets[key]

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

        def resolve(keyword: str, ref: Any, base: JsonFile, ptr: str) -> Any:
            """The bundled form of one ref: always "#" plus a JSON pointer into the bundle."""
            where = (base, ptr)  # located lazily: the line scan costs, findings are rare
            if not isinstance(ref, str):
                fail(where, f"The {keyword} must be a string.", "REF_INVALID")
                return ref
            url, _, raw = ref.partition("#")
            frag = unquote(raw)
            if url and keyword != "$ref":
                fail(
                    where,
                    f'The {keyword} "{ref}" must point inside this document ("#..."); only '
                    "$ref may name another file under schemas/.",
                    "REF_NOT_LOCAL",
                )
                return ref
            if url == "":
                target_path = base.path
            elif ":" in url.split("/", 1)[0] or url.startswith("/") or url.startswith("\\"):
                fail(
                    where,
                    f'The {keyword} "{ref}" is absolute; refer to shared shapes by a relative '
                    'path such as "../../defs/money.json".',
                    "REF_NOT_RELATIVE",
                )
                return ref
            else:
                target_path = self._target(base.path.parent, url)
                if not target_path.is_relative_to(self.schemas_dir):
                    fail(
                        where,
                        f'The {keyword} "{ref}" points outside schemas/; move the shared '
                        "shape under schemas/defs/.",
                        "REF_OUTSIDE_SCHEMAS",
                    )
                    return ref
                if not target_path.is_file():
                    fail(
                        where,
                        f'The {keyword} "{ref}" does not resolve: {self._rel(target_path)} '
                        "does not exist.",
                        "REF_UNRESOLVED",
                    )
                    return ref
            target = root if target_path == root_path else self.file(target_path)
            pointer = fragment_pointer(target.doc, frag)
            if pointer is None:
                fail(
                    where,
                    f'The {keyword} "{ref}" does not resolve: no "{frag}" in {target.rel}.',
                    "REF_UNRESOLVED",
                )
                return ref
            if target_path == root_path:
                # pointers are kept as written; anchors become (percent-encoded) pointers
                # ("#" inside a fragment is re-encoded: the model generator reads "#/a#b"
                # as an external ref)
                clean = url == "" and pointer == frag and "#" not in raw
                return ref if clean else "#" + quote(pointer, _SAFE)
            return f"#/$defs/{escape(key_for(target_path))}{pointer}"

        def fail(where: tuple[JsonFile, str], message: str, rule: str) -> None:
            out.findings.append(Finding(where[0].rel, where[0].line_of(where[1]), message, rule))

        def rewrite(node: Any, base: JsonFile, ptr: str) -> Any:
            if isinstance(node, dict):
                shared = base.path != root_path
                new: dict[str, Any] = {}
                for k, v in node.items():
                    child = f"{ptr}/{escape(k)}"
                    if k in REF_KEYWORDS:
                        new[k] = resolve(k, v, base, child)
                    elif k in ("$id", "$schema") and shared and not ptr:
                        continue  # an embedded $id would change the base URI of its refs
                    elif k == "$id" and ptr and not (isinstance(v, str) and v.startswith("#")):
                        fail(
                            (base, child),
                            f'The nested "$id" {json.dumps(v)} would change how the refs '
                            "inside it resolve; remove it (name a subschema with $anchor).",
                            "REF_NESTED_ID",
                        )
                    elif k in ANCHOR_KEYWORDS and shared:
                        continue  # refs to it are pointers now; anchors could collide
                    elif k in VALUE_KEYWORDS:
                        new[k] = v  # instances, not schemas: nothing to rewrite
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
        _check_local_refs(out)
        return out


def _check_local_refs(bundle: Bundle) -> None:
    """Every ref left in the bundle resolves inside it (a last line of defence)."""
    for ptr, node in schemas(bundle.schema):
        for key in REF_KEYWORDS:
            ref = node.get(key)
            if not isinstance(ref, str):
                continue
            frag = local_fragment(ref)
            if frag is not None and fragment_pointer(bundle.schema, frag) is not None:
                continue
            if any(f.rule.startswith("REF_") for f in bundle.findings):
                continue  # the file-level finding says why already
            rel, line = bundle.locate(f"{ptr}/{escape(key)}")
            bundle.findings.append(
                Finding(
                    rel,
                    line,
                    f'The {key} "{ref}" does not resolve inside the bundled schema.',
                    "REF_UNRESOLVED",
                )
            )

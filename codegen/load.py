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
    return text_fingerprint(canonical_json(doc))


def text_fingerprint(text: bytes) -> str:
    """`fingerprint` of a document whose canonical JSON is `text`."""
    return "sha256:" + hashlib.sha256(text).hexdigest()


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

    @property
    def text(self) -> str:
        return self._base.text

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
        self._paths: dict[Path, Path] = {}  # as given -> resolved (files and folders)
        self._prepare = prepare

    def file(self, path: Path) -> JsonFile:
        path = self.resolve(path)
        if path not in self._files:
            found = read_json(path, self._rel(path))
            self._files[path] = self._prepare(found) if self._prepare else found
        return self._files[path]

    def _target(self, folder: Path, url: str) -> Path:
        key = (folder, url)
        if key not in self._targets:  # resolve() is a syscall per path part: remember it
            self._targets[key] = (folder / url).resolve()
        return self._targets[key]

    def resolve(self, path: Path) -> Path:
        """``path.resolve()``, with each folder resolved once: a file that is no symlink
        resolves to its resolved folder plus its name."""
        found = self._paths.get(path)
        if found is None:
            if path.name in ("", ".", "..") or path.is_symlink():
                found = path.resolve()
            else:
                folder = self._paths.get(path.parent)
                if folder is None:
                    folder = self._paths[path.parent] = path.parent.resolve()
                found = folder / path.name
            self._paths[path] = found
        return found

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.repo_root).as_posix()
        except ValueError:
            return path.as_posix()

    def bundle(self, root: JsonFile) -> Bundle:
        return _Bundling(self, root).run()


class _Bundling:
    """One root file's bundle: every ref rewritten to "#" plus a pointer into the bundle,
    the shared files it reaches inlined under ``$defs``, findings for refs that may not
    be followed."""

    def __init__(self, bundler: Bundler, root: JsonFile) -> None:
        self.bundler = bundler
        self.root = root
        self.root_path = root.path.resolve()
        self.out = Bundle(schema=None, sources=[root.rel], root=root)
        self.keys: dict[Path, str] = {}
        self.defs: dict[str, Any] = {}
        local_defs = root.doc.get("$defs", {}) if isinstance(root.doc, dict) else {}
        self.taken = set(local_defs) if isinstance(local_defs, dict) else set()

    def run(self) -> Bundle:
        schema = self.rewrite(self.root.doc, self.root, "")
        if self.defs and isinstance(schema, dict):
            merged = dict(schema.get("$defs", {}))
            merged.update(self.defs)
            schema["$defs"] = merged
        self.out.schema = schema
        _check_local_refs(self.out)
        return self.out

    def key_for(self, target: Path) -> str:
        """The $defs key of a shared file (inlined the first time it is reached)."""
        if target not in self.keys:
            base = pascal_case(target.stem) or "Def"
            key, n = base, 2
            while key in self.taken:
                key, n = f"{base}{n}", n + 1
            self.taken.add(key)
            self.keys[target] = key
            src = self.bundler.file(target)
            self.out.sources.append(src.rel)
            self.out.def_files[key] = src
            self.defs[key] = None  # reserve the slot first: refs may be recursive
            self.defs[key] = self.rewrite(src.doc, src, "")
        return self.keys[target]

    def fail(self, where: tuple[JsonFile, str], message: str, rule: str) -> None:
        self.out.findings.append(Finding(where[0].rel, where[0].line_of(where[1]), message, rule))

    def resolve(self, keyword: str, ref: Any, base: JsonFile, ptr: str) -> Any:
        """The bundled form of one ref: always "#" plus a JSON pointer into the bundle."""
        where = (base, ptr)  # located lazily: the line scan costs, findings are rare
        if not isinstance(ref, str):
            self.fail(where, f"The {keyword} must be a string.", "REF_INVALID")
            return ref
        url, _, raw = ref.partition("#")
        frag = unquote(raw)
        target_path = self._target_path(keyword, ref, url, where)
        if target_path is None:
            return ref
        target = self.root if target_path == self.root_path else self.bundler.file(target_path)
        pointer = fragment_pointer(target.doc, frag)
        if pointer is None:
            self.fail(
                where,
                f'The {keyword} "{ref}" does not resolve: no "{frag}" in {target.rel}.',
                "REF_UNRESOLVED",
            )
            return ref
        if target_path == self.root_path:
            # pointers are kept as written; anchors become (percent-encoded) pointers
            # ("#" inside a fragment is re-encoded: the model generator reads "#/a#b"
            # as an external ref)
            clean = url == "" and pointer == frag and "#" not in raw
            return ref if clean else "#" + quote(pointer, _SAFE)
        return f"#/$defs/{escape(self.key_for(target_path))}{pointer}"

    def _target_path(
        self, keyword: str, ref: str, url: str, where: tuple[JsonFile, str]
    ) -> Path | None:
        """The file a ref names; None (with a finding) when it may not be followed."""
        base = where[0]
        if url and keyword != "$ref":
            self.fail(
                where,
                f'The {keyword} "{ref}" must point inside this document ("#..."); only '
                "$ref may name another file under schemas/.",
                "REF_NOT_LOCAL",
            )
            return None
        if url == "":
            return base.path
        if ":" in url.split("/", 1)[0] or url.startswith("/") or url.startswith("\\"):
            self.fail(
                where,
                f'The {keyword} "{ref}" is absolute; refer to shared shapes by a relative '
                'path such as "../../defs/money.json".',
                "REF_NOT_RELATIVE",
            )
            return None
        target = self.bundler._target(base.path.parent, url)
        if not target.is_relative_to(self.bundler.schemas_dir):
            self.fail(
                where,
                f'The {keyword} "{ref}" points outside schemas/; move the shared '
                "shape under schemas/defs/.",
                "REF_OUTSIDE_SCHEMAS",
            )
            return None
        if not target.is_file():
            self.fail(
                where,
                f'The {keyword} "{ref}" does not resolve: {self.bundler._rel(target)} '
                "does not exist.",
                "REF_UNRESOLVED",
            )
            return None
        return target

    def rewrite(self, node: Any, base: JsonFile, ptr: str) -> Any:
        if isinstance(node, list):
            return [self.rewrite(v, base, f"{ptr}/{i}") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        shared = base is not self.root and base.path != self.root_path
        new: dict[str, Any] = {}
        for k, v in node.items():
            if k in REF_KEYWORDS:
                new[k] = self.resolve(k, v, base, f"{ptr}/{escape(k)}")
            elif k in ("$id", "$schema") and shared and not ptr:
                continue  # an embedded $id would change the base URI of its refs
            elif k == "$id" and ptr and not (isinstance(v, str) and v.startswith("#")):
                self.fail(
                    (base, f"{ptr}/{escape(k)}"),
                    f'The nested "$id" {json.dumps(v)} would change how the refs '
                    "inside it resolve; remove it (name a subschema with $anchor).",
                    "REF_NESTED_ID",
                )
            elif k in ANCHOR_KEYWORDS and shared:
                continue  # refs to it are pointers now; anchors could collide
            elif k in VALUE_KEYWORDS or not isinstance(v, (dict, list)):
                new[k] = v  # instances, not schemas, or a plain value: nothing to rewrite
            else:
                new[k] = self.rewrite(v, base, f"{ptr}/{escape(k)}")
        return new


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

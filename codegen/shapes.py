"""Shared shapes: the files under schemas/defs/ that every bundle inlines, told apart by content.

The bundler (load.py) inlines each shared file into every event version that uses it, under
`$defs/<Name>` (money.json -> Money). Generated code must not repeat them: each distinct shape
becomes one class in `generated/models/defs.py`, imported by every model that uses it, so
`order.total` can be passed where another event expects a `Money`.

Identity is by content, not by file: a shape is its validation keywords (annotations do not
change a model) together with the shapes it refers to, recursively. A published version that
bundled an older shape of a def (its file moved aside, e.g. to schemas/defs/archive/, so the
published bundle keeps its fingerprint) keeps a class of its own, `<Name>Shape<8 hex>`; the
shape read from the shallowest file of that name (schemas/defs/money.json) is current and
keeps the plain name.

An event that points *into* a shared shape (`money.json#/properties/currency`) gets a copy of
that part. A def stays local to its event module (a class of its own, as before sharing) only
when it refers to something that is not shared, or when the part pointed into itself points
into a shared shape: a placeholder class cannot stand in for either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from codegen.errors import Finding
from codegen.ir import EventType, SharedDef
from codegen.names import class_name, pascal_case

DEFS_DIR = "schemas/defs/"
DEFS_PREFIX = "#/$defs/"
# Keywords whose values are instances, not schemas: a "$ref" inside them is data.
INSTANCE_KEYWORDS = frozenset({"const", "enum", "examples", "default"})
# Keywords whose values map names to schemas.
MAP_KEYWORDS = frozenset(
    {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
)
# Annotations never change a generated model, so they are not part of a shape's identity.
_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "examples", "$id", "deprecated", "readOnly", "writeOnly"}
)
_ROOT = ""  # owner of refs outside `$defs`


def map_refs(node: Any, fn: Callable[[str], str]) -> Any:
    """A copy of a schema with every `$ref` string passed through `fn`; instance values
    (const, enum, examples, default) are copied untouched."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out[k] = fn(v)
            elif k in INSTANCE_KEYWORDS:
                out[k] = v
            elif k in MAP_KEYWORDS and isinstance(v, dict):
                out[k] = {name: map_refs(sub, fn) for name, sub in v.items()}
            else:
                out[k] = map_refs(v, fn)
        return out
    if isinstance(node, list):
        return [map_refs(v, fn) for v in node]
    return node


def iter_refs(node: Any) -> Iterator[str]:
    """Every `$ref` string in a schema, in document order (instance values skipped): the
    strings `map_refs` would pass to its function, found without copying the schema."""
    found: list[str] = []
    _collect_refs(node, found)
    yield from found


def _collect_refs(node: Any, found: list[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                found.append(v)
            elif k in INSTANCE_KEYWORDS:
                continue
            elif k in MAP_KEYWORDS and isinstance(v, dict):
                for sub in v.values():
                    _collect_refs(sub, found)
            else:
                _collect_refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _collect_refs(v, found)


def split_def_ref(ref: str) -> tuple[str, str] | None:
    """`#/$defs/Money/properties/x` -> ("Money", "/properties/x"); None for other refs."""
    if not ref.startswith(DEFS_PREFIX):
        return None
    key, sep, rest = ref[len(DEFS_PREFIX) :].partition("/")
    key = unquote(key).replace("~1", "/").replace("~0", "~")
    return key, sep + rest


@dataclass(frozen=True)
class _Occurrence:
    """One shared def as bundled into one version."""

    type: str
    version: int
    key: str  # its `$defs` key in that bundle
    name: str  # the def's name (from its file)
    source: str  # repo-relative path of the file
    identity: str
    schema: Any  # as bundled, refs still in that bundle's keys
    keys: dict[str, str]  # that bundle's shared keys -> identity


# (type, version) -> its ($defs key, class name) pairs
PerVersion = dict[tuple[str, int], tuple[tuple[str, str], ...]]


def share(types: tuple[EventType, ...]) -> tuple[tuple[SharedDef, ...], PerVersion]:
    """The shared shapes of a project, and per version its (`$defs` key, class name) pairs."""
    occurrences: list[_Occurrence] = []
    for t in types:
        for v in t.versions:
            occurrences += _occurrences(t.name, v.version, v.bundled, v.source)
    by_identity: dict[str, list[_Occurrence]] = {}
    for occ in occurrences:
        by_identity.setdefault(occ.identity, []).append(occ)

    # The current shape of a name is the one read from its shallowest file.
    def home(identity: str) -> tuple[int, str]:
        return min((o.source.count("/"), o.source) for o in by_identity[identity])

    names: dict[str, list[str]] = {}
    for identity, occs in by_identity.items():
        names.setdefault(occs[0].name, []).append(identity)
    class_of: dict[str, str] = {}
    for name, identities in names.items():
        current = min(identities, key=lambda i: (home(i), i))
        for identity in identities:
            class_of[identity] = name if identity == current else f"{name}Shape{identity[:8]}"

    defs = []
    for identity, occs in by_identity.items():
        # The representative is read from the shape's own home file, first version first.
        rep = min(occs, key=lambda o: ((o.source.count("/"), o.source), o.type, o.version))
        schema = map_refs(rep.schema, _renamer(rep.keys, class_of))
        defs.append(
            SharedDef(
                name=rep.name,
                class_name=class_of[identity],
                identity=identity,
                schema=schema,
                sources=tuple(sorted({o.source for o in occs})),
                current=class_of[identity] == rep.name,
                users=tuple(sorted({(o.type, o.version) for o in occs})),
            )
        )
    per_version: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for occ in occurrences:
        per_version.setdefault((occ.type, occ.version), []).append(
            (occ.key, class_of[occ.identity])
        )
    return (
        tuple(sorted(defs, key=lambda d: d.class_name)),
        {k: tuple(sorted(v)) for k, v in per_version.items()},
    )


def _renamer(keys: dict[str, str], class_of: dict[str, str]) -> Callable[[str], str]:
    def rename(ref: str) -> str:
        split = split_def_ref(ref)
        if split is None or split[0] not in keys:
            return ref
        return f"{DEFS_PREFIX}{class_of[keys[split[0]]]}{split[1]}"

    return rename


def _occurrences(type_name: str, version: int, bundled: Any, bundle: Any) -> list[_Occurrence]:
    if not isinstance(bundled, dict) or not isinstance(bundled.get("$defs"), dict):
        return []
    defs: dict[str, Any] = bundled["$defs"]
    files = getattr(bundle, "def_files", None) or {}
    sources = {key: f.rel for key, f in files.items() if key in defs and f.rel.startswith(DEFS_DIR)}
    shared = _shareable(bundled, set(sources))
    if not shared:
        return []
    names = {key: pascal_case(PurePosixPath(sources[key]).stem) or key for key in shared}
    identities = {key: _identity(key, defs, names) for key in shared}
    return [
        _Occurrence(
            type_name,
            version,
            key,
            names[key],
            sources[key],
            identities[key],
            defs[key],
            identities,
        )
        for key in sorted(shared)
    ]


def _shareable(bundled: dict[str, Any], candidates: set[str]) -> set[str]:
    """The candidates that can be replaced by an imported class in this bundle."""
    defs: dict[str, Any] = bundled["$defs"]
    edges: dict[str, list[tuple[str | None, str]]] = {}  # owner -> (target key, sub-pointer)
    outside = {k: v for k, v in bundled.items() if k != "$defs"}
    for owner, node in [(_ROOT, outside), *defs.items()]:
        for ref in iter_refs(node):
            split = split_def_ref(ref)
            edges.setdefault(owner, []).append(split if split else (None, ref))
    shared = set(candidates)
    changed = True
    while changed:
        changed = False
        for owner, targets in edges.items():
            for target, rest in targets:
                if owner in shared:
                    # A shared shape may only refer to shared shapes (or into itself).
                    bad = target is None or (target != owner and target not in shared)
                    victim = owner
                else:
                    # Local code may point into a shared shape when that part can be
                    # copied into the module (see `part_of`).
                    bad = (
                        target in shared
                        and rest != ""
                        and part_of(defs, target, rest, shared) is None
                    )
                    victim = target or ""
                if bad and victim in shared:
                    shared.discard(victim)
                    changed = True
    return shared


def part_of(defs: dict[str, Any], key: str, rest: str, shared: set[str]) -> Any:
    """The subschema at `#/$defs/<key><rest>` when it can be copied where it is used: it exists
    and points into no shared shape itself (refs in a bundle are absolute, so a copy means
    the same anywhere; only a part of a placeholder would be missing). Else None."""
    node: Any = defs.get(key)
    for raw in rest.split("/")[1:]:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    for ref in iter_refs(node):
        split = split_def_ref(ref)
        if split is not None and split[0] in shared and split[1]:
            return None
    return node


def _identity(key: str, defs: dict[str, Any], names: dict[str, str]) -> str:
    """sha256 of the shape and everything it reaches, keys numbered in order of discovery
    (so the same closure hashes the same in every bundle, cycles included)."""
    order = [key]
    index = {key: 0}
    parts = []
    i = 0
    while i < len(order):
        current = order[i]
        i += 1

        def number(ref: str) -> str:
            split = split_def_ref(ref)
            if split is None:
                return ref
            target, rest = split
            if target not in index:
                index[target] = len(order)
                order.append(target)
            return f"{DEFS_PREFIX}@{index[target]}{rest}"

        content = map_refs(strip_annotations(defs[current]), number)
        parts.append([names.get(current, current), content])
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def strip_annotations(node: Any, in_map: bool = False) -> Any:
    """The schema without annotations; names under `properties` & co. are kept."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if not in_map and k in _ANNOTATIONS:
                continue
            if not in_map and k in INSTANCE_KEYWORDS:
                out[k] = v
                continue
            out[k] = strip_annotations(v, in_map=(not in_map and k in MAP_KEYWORDS))
        return out
    if isinstance(node, list):
        return [strip_annotations(v) for v in node]
    return node


def lint_shapes(types: tuple[EventType, ...], defs: tuple[SharedDef, ...]) -> list[Finding]:
    """DEF_NAME_COLLISION and DEF_TITLE_COLLISION, located in the def file."""
    files: dict[str, Any] = {}  # repo-relative path -> load.JsonFile
    for t in types:
        for v in t.versions:
            for f in (getattr(v.source, "def_files", None) or {}).values():
                files.setdefault(f.rel, f)
    findings = []
    taken: dict[str, str] = {}
    for t in types:
        taken[pascal_case(t.name)] = f"the alias of event type {t.name}"
        for v in t.versions:
            taken[class_name(t.name, v.version)] = f"the model of {t.name} v{v.version}"
    for d in defs:
        clash = taken.get(d.class_name)
        if clash is not None:
            src = d.sources[0]
            findings.append(
                Finding(
                    src,
                    1,
                    f'The shared shape in {src} becomes the class "{d.class_name}", which is '
                    f"already {clash}; rename the file (its name names the class).",
                    "DEF_NAME_COLLISION",
                )
            )
    first: dict[str, tuple[str, str]] = {}  # title -> (file, def name)
    for d in defs:
        for src in d.sources:
            f = files.get(src)
            if f is None or not isinstance(f.doc, dict) or not isinstance(f.doc.get("title"), str):
                continue
            title = f.doc["title"]
            seen = first.setdefault(title, (src, d.name))
            if seen[1] != d.name:
                findings.append(
                    Finding(
                        src,
                        f.line_of("/title"),
                        f"{src} and {seen[0]} are different shared shapes with the same title "
                        f"{json.dumps(title, ensure_ascii=False)}: tools that name classes by "
                        "title (AsyncAPI generators, Modelina) would merge them. Give each its "
                        "own title.",
                        "DEF_TITLE_COLLISION",
                    )
                )
    return findings

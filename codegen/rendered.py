"""Rendering skipped when generated/ already holds what it would write.

Rendering the package and the docs of a large tree takes a tenth of a second or more of
every `check` and `gen`, and after a `gen` its output is on disk, unchanged, until an
input changes. So a render leaves, in the cache, one digest of its output under a key of
everything it is a function of; the next plan whose key matches reads generated/ instead,
and uses it only when its digest is that one. Anything else (an edited generated file, a
file added or removed there, a changed contract or code) renders again.

The key: the IR the renderers read, after the gate filled in the compatibility matrix and
the read plans, as ``repr`` (its dataclasses print every field the renderers read, except
the few below), the text of every file a version was built from, and each shared shape's
schema. ``Cache.key`` adds the codegen code and the library versions. The fields ``repr``
leaves out are ``raw``, ``bundled`` and ``source`` of a Version (the file texts, and the
bundled document's fingerprint, which ``repr`` shows) and ``schema`` of a SharedDef
(hashed here). tests/codegen/test_rendered.py fails when a field is added that neither
``repr`` nor this key covers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from codegen.cache import Cache
from codegen.ir import Project
from codegen.load import canonical_json
from codegen.write import existing_generated

NAMESPACE = "rendered"


def render_key(project: Project) -> str:
    parts = [b"rendered", repr(project).encode("utf-8")]
    for t in project.types:
        for v in t.versions:
            bundle = v.source
            root = getattr(bundle, "root", None)
            files = [root] if root is not None else []
            files += [f for _, f in sorted(getattr(bundle, "def_files", {}).items())]
            for f in files:
                parts.append(f.rel.encode("utf-8") + b"\0" + f.lines.text.encode("utf-8"))
    for d in project.defs:
        parts.append(canonical_json(d.schema))
    return Cache.key(*parts)


def digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(files[rel]).digest())
    return h.hexdigest()


def reuse(root: Path, key: str, cache: Cache) -> dict[str, str] | None:
    """generated/ as on disk, when it is exactly what a render under ``key`` wrote."""
    expected = cache.get(NAMESPACE, key)
    if expected is None:
        return None
    on_disk = existing_generated(root)
    if digest(on_disk) != expected:
        return None
    try:
        return {rel: data.decode("utf-8") for rel, data in on_disk.items()}
    except UnicodeDecodeError:
        return None


def remember(key: str, files: dict[str, str], cache: Cache) -> None:
    value = digest({rel: text.encode("utf-8") for rel, text in files.items()})
    if cache.get(NAMESPACE, key) != value:  # known already when generated/ was edited
        cache.put(NAMESPACE, key, value)

"""The one cache of codegen: results of pure, slow steps, remembered by their inputs.

Five steps use it: lint passes (``lint``: the metaschema, examples, names, patterns and
ref cycles, the catalog; ``lint_pass``), the catalog's parse (``catalog``, only when JSON
gives it back exactly), compatibility verdicts (``compat``), model sources (``models``)
and the digest of a whole render (``rendered``: see ``rendered.py``). A key is computed, never
bumped by hand: sha256 over the step's own inputs, the fingerprint of the codegen package
itself (every file under ``codegen/``) and the versions of the libraries that shape the
results. Tighten a lint rule, change a generator option or upgrade jsonschema, and the old
entries simply stop matching; a hit is always what the step would compute now.

Reading is pure. ``put`` only records an entry in memory; entries reach the disk when
the caller (the command line, after the command ran) calls ``flush``, which writes them,
one pack file per namespace, through ``write.py``. So ``pipeline.plan`` computes and
never writes, and the directory is passed explicitly (``Cache.for_root``), never held in
a global.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

# Libraries whose behaviour decides a cached result: validators and their regex engine
# (lint, verdicts), the model generator with what it builds on, and the template engine
# (the digest of a whole render).
DEPENDENCIES = (
    "datamodel-code-generator",
    "jinja2",
    "jsonschema",
    "jsonschema-specifications",
    "referencing",
    "pydantic",
    "pydantic-core",
)
_CODE = frozenset({".py", ".json", ".jinja"})  # what the package's fingerprint covers
ENV = "SCHEMABUS_CACHE_DIR"
T = TypeVar("T")


@cache
def fingerprint() -> bytes:
    """The code and dependency versions every key includes."""
    return package_fingerprint(Path(__file__).resolve().parent)


def package_fingerprint(package: Path) -> bytes:
    """sha256 of the package's code files (names and contents), the Python version and
    the versions of DEPENDENCIES."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in _CODE and "__pycache__" not in path.parts:
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(f"python={sys.version_info[0]}.{sys.version_info[1]};".encode())
    versions = installed_versions(DEPENDENCIES)
    for name in DEPENDENCIES:
        h.update(f"{name}={versions.get(name, '-')};".encode())
    return h.digest()


def installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions by distribution name, read from the `<name>-<version>.dist-info`
    folders on sys.path (the first one wins, as for imports). importlib.metadata says the
    same, but importing it costs about 50 ms of every command; it answers only for what
    is not installed that way (an egg, say)."""
    wanted = {_dist_key(n): n for n in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for item in listing:
            if not item.endswith(".dist-info"):
                continue
            dist, _, ver = item[: -len(".dist-info")].partition("-")
            name = wanted.get(_dist_key(dist))
            if name is not None and name not in found and ver:
                found[name] = ver
    missing = [n for n in names if n not in found]
    if missing:
        from importlib.metadata import PackageNotFoundError, version

        for name in missing:
            with contextlib.suppress(PackageNotFoundError):
                found[name] = version(name)
    return found


def _dist_key(name: str) -> str:
    # distribution names compare without case and with -, _ and . alike (PEP 503)
    return name.lower().replace("-", "_").replace(".", "_")


class Cache:
    """Entries by (namespace, key). ``directory`` None: memory only (nothing is read from
    or written to disk).

    On disk a namespace is a few pack files, ``<namespace>/pack-<hash>.json``, each a JSON
    object of key -> text: one file per run that computed something, not one per entry
    (a gate judging 1,100 new pairs wrote 1,100 files, which cost more than judging
    them). Packs are merged into one once there are more than ``MERGE_AT``. A pack that
    cannot be read is skipped: a miss only costs time.
    """

    MERGE_AT = 8

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._entries: dict[str, dict[str, str]] = {}  # namespace -> key -> text (read or put)
        self._packs: dict[str, list[str]] = {}  # namespace -> pack files read (relative)
        self._pending: dict[str, dict[str, str]] = {}  # put during this run, not on disk
        self._computed: dict[str, dict[str, str]] = {}  # put during this run (with a dir or not)

    @classmethod
    def for_root(cls, root: Path) -> Cache:
        """`<root>/.cache/codegen` (git-ignored), or $SCHEMABUS_CACHE_DIR when set."""
        override = os.environ.get(ENV)
        return cls(Path(override) if override else root / ".cache" / "codegen")

    @staticmethod
    def key(*parts: bytes) -> str:
        """The key of a step's inputs (the step names itself in the first part)."""
        h = hashlib.sha256(fingerprint())
        for part in parts:
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()

    def _namespace(self, namespace: str) -> dict[str, str]:
        found = self._entries.get(namespace)
        if found is None:
            found = self._entries[namespace] = {}
            self._packs[namespace] = []
            if self.directory is not None:
                for rel, pack in _read_packs(self.directory, namespace):
                    found.update(pack)
                    self._packs[namespace].append(rel)
        return found

    def get(self, namespace: str, key: str) -> str | None:
        return self._namespace(namespace).get(key)

    def put(self, namespace: str, key: str, text: str) -> None:
        self._namespace(namespace)[key] = text
        self._computed.setdefault(namespace, {})[key] = text
        if self.directory is not None:
            self._pending.setdefault(namespace, {})[key] = text

    def lint_pass(self, key: str, check: Callable[[], list[T]]) -> list[T]:
        """``check()``'s findings, unless it passed before under ``key`` (a lint pass
        depends only on the bytes in its key and on this code). Only passes are
        remembered: findings are computed again, with their locations."""
        if self.get("lint", key) is not None:
            return []
        found = check()
        if not found:
            self.put("lint", key, "")
        return found

    def computed(self) -> dict[str, str]:
        """Entries put during this run, on disk yet or not: "namespace/key" -> text (a
        forked worker hands its own to the process that forked it)."""
        return {
            f"{ns}/{k}": text for ns, found in self._computed.items() for k, text in found.items()
        }

    def pending(self) -> dict[str, str]:
        """Entries not on disk yet: "namespace/key" -> text."""
        return {
            f"{ns}/{k}": text for ns, found in self._pending.items() for k, text in found.items()
        }

    def flush(self) -> None:
        """Write the pending entries as one pack per namespace (an optimisation: a failure
        to write is ignored)."""
        if self.directory is None or not self._pending:
            return
        from codegen.write import remove_cache_files, write_cache

        for namespace, entries in sorted(self._pending.items()):
            packs = self._packs.get(namespace, [])
            merge = len(packs) + 1 > self.MERGE_AT
            body = self._entries[namespace] if merge else entries
            text = json.dumps(body, sort_keys=True, ensure_ascii=False)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
            rel = f"{namespace}/pack-{digest}.json"
            write_cache(self.directory, {rel: text})
            if merge:  # the merged pack is written first: a reader never misses an entry
                remove_cache_files(self.directory, [p for p in packs if p != rel])
                self._packs[namespace] = [rel]
            else:
                self._packs[namespace] = [*packs, rel]
        self._pending.clear()


def _read_packs(directory: Path, namespace: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for path in sorted((directory / namespace).glob("pack-*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            pack = {k: v for k, v in data.items() if isinstance(v, str)}
            out.append((f"{namespace}/{path.name}", pack))
    return out

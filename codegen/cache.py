"""The one cache of codegen: results of pure, slow steps, remembered by their inputs.

Three steps use it: metaschema and example lint passes (``lint``), compatibility verdicts
(``compat``) and the generator's model sources (``models``). A key is computed, never
bumped by hand: sha256 over the step's own inputs, the fingerprint of the codegen package
itself (every file under ``codegen/``) and the versions of the libraries that shape the
results. Tighten a lint rule, change a generator option or upgrade jsonschema, and the old
entries simply stop matching; a hit is always what the step would compute now.

Reading is pure. ``put`` only records an entry in memory; entries reach the disk when
the caller (the command line, after the command ran) calls ``flush``, which writes them
through ``write.py``. So ``pipeline.plan`` computes and never writes, and the directory is
passed explicitly (``Cache.for_root``), never held in a global.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Libraries whose behaviour decides a cached result: validators and their regex engine
# (lint, verdicts) and the model generator with what it builds on.
DEPENDENCIES = (
    "datamodel-code-generator",
    "jsonschema",
    "jsonschema-specifications",
    "referencing",
    "pydantic",
    "pydantic-core",
)
_SUFFIXES = {"models": ".py", "compat": ".json"}
_CODE = frozenset({".py", ".json", ".jinja"})  # what the package's fingerprint covers
ENV = "SCHEMABUS_CACHE_DIR"


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
    for name in DEPENDENCIES:
        try:
            h.update(f"{name}={version(name)};".encode())
        except PackageNotFoundError:
            h.update(f"{name}=-;".encode())
    return h.digest()


class Cache:
    """Entries by (namespace, key). ``directory`` None: memory only (nothing is read from
    or written to disk)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._entries: dict[str, str] = {}  # read or put during this run
        self._pending: dict[str, str] = {}  # put during this run, not on disk yet

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

    @staticmethod
    def _rel(namespace: str, key: str) -> str:
        return f"{namespace}/{key[:2]}/{key}{_SUFFIXES.get(namespace, '')}"

    def get(self, namespace: str, key: str) -> str | None:
        rel = self._rel(namespace, key)
        found = self._entries.get(rel)
        if found is None and self.directory is not None:
            try:
                found = (self.directory / rel).read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            self._entries[rel] = found
        return found

    def put(self, namespace: str, key: str, text: str) -> None:
        rel = self._rel(namespace, key)
        self._entries[rel] = text
        if self.directory is not None:
            self._pending[rel] = text

    def pending(self) -> dict[str, str]:
        """Entries not on disk yet: relative path -> text."""
        return dict(self._pending)

    def flush(self) -> None:
        """Write the pending entries (an optimisation: a failure to write is ignored)."""
        if self.directory is None or not self._pending:
            return
        from codegen.write import write_cache

        write_cache(self.directory, self._pending)
        self._pending.clear()

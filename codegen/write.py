"""Stage 5: the only module that writes files. Every write names its territory, the
folders (or files) its caller may change, and a path outside it is refused.

| territory | who writes there |
|---|---|
| ``GENERATED``: generated/ and schemas/schemas.lock | `gen` (made exactly equal to the plan) |
| ``SERVICES``: services/ | `gen`: handler stubs (once) and upcaster stubs |
| ``CONTRACTS``: schemas/ | `new`, `bump`, `unlock`, `repartition` |
| ``INSIDE``: anything inside the folder given | `docs --out`, the cache directory |
"""

from __future__ import annotations

import contextlib
import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from codegen.lock import LOCK_REL

GENERATED_DIR = "generated/"
# Files under generated/ that codegen owns; anything else there is left alone.
_OWNED_SUFFIXES = (".py", ".md", ".json", ".yaml", "py.typed")


@dataclass(frozen=True)
class Territory:
    """Where a caller may write: folder prefixes ending in "/" or exact files, relative
    to the base it writes into ("" = anywhere inside the base)."""

    roots: tuple[str, ...]
    what: str  # for the refusal: "codegen only writes under <what>"

    def check(self, rel: str) -> None:
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise ValueError(f"refusing to write {rel!r}: path escapes the repository")
        if not any(
            root == "" or rel == root or (root.endswith("/") and rel.startswith(root))
            for root in self.roots
        ):
            raise ValueError(f"refusing to write {rel!r}: codegen only writes under {self.what}")


GENERATED = Territory((GENERATED_DIR, LOCK_REL), "generated/")
SERVICES = Territory(("services/",), "services/")
CONTRACTS = Territory(("schemas/",), "schemas/")
INSIDE = Territory(("",), "the folder it was given")


def _write(path: Path, text: str) -> None:
    """Atomically: a reader (or a second codegen process) sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    tmp.replace(path)


def write_files(base: Path, files: dict[str, str], territory: Territory) -> list[str]:
    """Write ``files`` (paths relative to ``base``) that differ from what is on disk;
    returns the paths written. Nothing is written when one path is outside
    ``territory``."""
    for rel in files:
        territory.check(rel)
    changed = []
    for rel, text in sorted(files.items()):
        path = base / rel
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            continue
        _write(path, text)
        changed.append(rel)
    return changed


def _owned(root: Path) -> list[Path]:
    base = root / GENERATED_DIR
    if not base.is_dir():
        return []
    return [
        p
        for p in sorted(base.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.name.endswith(_OWNED_SUFFIXES)
    ]


def existing_generated(root: Path) -> dict[str, bytes]:
    """The files codegen owns under generated/, as bytes (the lock is not among them)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in _owned(root)}


def _existing(root: Path, *, generated: bool = True) -> dict[str, str]:
    out = {
        p.relative_to(root).as_posix(): p.read_text("utf-8", errors="replace")
        for p in (_owned(root) if generated else [])
    }
    lock = root / LOCK_REL
    if lock.is_file():
        out[LOCK_REL] = lock.read_text("utf-8", errors="replace")
    return out


def _pending(
    root: Path, files: dict[str, str], read_back: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """(what is on disk, what codegen would write) for the files that may differ. With
    ``read_back`` the plan's generated/ files are what it read from there a moment ago
    (``rendered.reuse``), so only the lock is left to compare."""
    if read_back:
        files = {rel: text for rel, text in files.items() if not rel.startswith(GENERATED_DIR)}
    return _existing(root, generated=not read_back), files


def diff_tree(root: Path, files: dict[str, str], *, read_back: bool = False) -> list[str]:
    """Unified diff from what is on disk to what codegen would write (empty when in sync)."""
    current, files = _pending(root, files, read_back)
    lines: list[str] = []
    for rel in sorted(set(current) | set(files)):
        old = current.get(rel)
        new = files.get(rel)
        if old == new:
            continue
        lines.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{rel}" if old is not None else "/dev/null",
                tofile=f"b/{rel}" if new is not None else "/dev/null",
            )
        )
    return [line if line.endswith("\n") else line + "\n" for line in lines]


def write_tree(root: Path, files: dict[str, str], *, read_back: bool = False) -> list[str]:
    """Make generated/ (and the lock) exactly `files`; returns the paths that changed."""
    for rel in files:
        GENERATED.check(rel)
    current, files = _pending(root, files, read_back)
    changed: list[str] = []
    for rel, text in sorted(files.items()):
        if current.get(rel) == text:
            continue
        _write(root / rel, text)
        changed.append(rel)
    for rel in sorted(set(current) - set(files)):
        if rel.startswith(GENERATED_DIR):
            (root / rel).unlink()
            changed.append(rel)
    _prune_empty_dirs(root / GENERATED_DIR)
    return changed


def _prune_empty_dirs(base: Path) -> None:
    if not base.is_dir():
        return
    for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if d.name == "__pycache__":
            continue
        if not any(d.iterdir()):
            d.rmdir()


def write_stubs(root: Path, stubs: dict[str, str]) -> list[str]:
    """Write hand-written starting points under services/ once; never overwrite."""
    for rel in stubs:
        SERVICES.check(rel)
    written = []
    for rel, text in sorted(stubs.items()):
        path = root / rel
        # A service package that exists is the user's code now, even if they renamed files.
        package = path.parent if path.name == "__init__.py" else path
        if package.exists():
            continue
        _write(path, text)
        written.append(rel)
    return written


def write_cache(directory: Path, entries: dict[str, str]) -> None:
    """Cache packs (codegen/cache.py): best effort, a read-only disk only costs speed."""
    with contextlib.suppress(OSError):
        write_files(directory, entries, INSIDE)


def remove_cache_files(directory: Path, rels: list[str]) -> None:
    """Cache packs merged into a newer one (best effort, like every cache write)."""
    for rel in rels:
        INSIDE.check(rel)
        with contextlib.suppress(OSError):
            (directory / rel).unlink()

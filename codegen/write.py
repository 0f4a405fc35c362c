"""Stage 5: the only module that writes files. It refuses paths outside its territory."""

from __future__ import annotations

import difflib
from pathlib import Path

from codegen.lock import LOCK_REL

GENERATED = "generated/"
# Files under generated/ that codegen owns; anything else there is left alone.
_OWNED_SUFFIXES = (".py", ".md", ".json", ".yaml", "py.typed")


def _check_territory(rel: str) -> None:
    if rel != LOCK_REL and not rel.startswith(GENERATED):
        raise ValueError(f"refusing to write {rel!r}: codegen only writes under generated/")
    if ".." in Path(rel).parts or Path(rel).is_absolute():
        raise ValueError(f"refusing to write {rel!r}: path escapes the repository")


def _existing(root: Path) -> dict[str, str]:
    base = root / GENERATED
    out: dict[str, str] = {}
    if base.is_dir():
        for p in sorted(base.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.name.endswith(_OWNED_SUFFIXES):
                out[p.relative_to(root).as_posix()] = p.read_text("utf-8", errors="replace")
    lock = root / LOCK_REL
    if lock.is_file():
        out[LOCK_REL] = lock.read_text("utf-8", errors="replace")
    return out


def diff_tree(root: Path, files: dict[str, str]) -> list[str]:
    """Unified diff from what is on disk to what codegen would write (empty when in sync)."""
    current = _existing(root)
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


def write_tree(root: Path, files: dict[str, str]) -> list[str]:
    """Make generated/ (and the lock) exactly `files`; returns the paths that changed."""
    for rel in files:
        _check_territory(rel)
    current = _existing(root)
    changed: list[str] = []
    for rel, text in sorted(files.items()):
        if current.get(rel) == text:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(text.encode("utf-8"))
        tmp.replace(path)
        changed.append(rel)
    for rel in sorted(set(current) - set(files)):
        if rel.startswith(GENERATED):
            (root / rel).unlink()
            changed.append(rel)
    _prune_empty_dirs(root / GENERATED)
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
    written = []
    for rel, text in sorted(stubs.items()):
        if not rel.startswith("services/") or ".." in Path(rel).parts:
            raise ValueError(f"refusing to write stub {rel!r} outside services/")
        path = root / rel
        # A service package that exists is the user's code now, even if they renamed files.
        package = path.parent if path.name == "__init__.py" else path
        if package.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(rel)
    return written

"""The contracts at a git ref (`codegen check --against REF`, `codegen rollout --against`):
checked out with `git archive` into a temporary folder, built like the working tree, and
compared: types or versions deleted, published versions edited."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from codegen.cache import Cache
from codegen.errors import BadInput, Finding
from codegen.ir import EventType, Project


def _git_tree(root: Path, ref: str, dest: Path) -> None:
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", ref, "schemas"],
            capture_output=True,
            check=True,
        )
    except FileNotFoundError:
        raise BadInput(
            [Finding("", 0, "git is not installed; --against needs it.", "GIT_ERROR")]
        ) from None
    except subprocess.CalledProcessError as exc:
        msg = exc.stderr.decode(errors="replace").strip().splitlines()
        detail = msg[-1] if msg else "unknown error"
        raise BadInput(
            [Finding("", 0, f"Cannot read schemas/ at {ref!r}: {detail}.", "GIT_ERROR")]
        ) from None
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


def project_at(root: Path, ref: str, cache: Cache | None = None) -> Project | None:
    """The contracts at a git ref; None when there are none there or they do not build.
    Raises BadInput when git cannot read the ref."""
    from codegen.build import build_project

    with tempfile.TemporaryDirectory(prefix="schemabus-against-") as tmp:
        base = Path(tmp)
        _git_tree(root, ref, base)
        if not (base / "schemas" / "catalog.yaml").exists():
            return None  # no contracts at that ref yet: everything is new
        try:
            old, old_findings = build_project(base, cache)
        except BadInput:
            return None
        return None if old_findings else old


def against_ref(
    root: Path, ref: str, current: Project, cache: Cache | None = None
) -> list[Finding]:
    """Deleted types or versions, and edited versions, relative to the contracts at `ref`."""
    old = project_at(root, ref, cache)
    if old is None:
        return []  # no (readable) contracts at that ref: the tree is judged on its own
    out: list[Finding] = []
    now = {t.name: t for t in current.types}
    for t in old.types:
        if t.name not in now:
            out.append(
                Finding(
                    "schemas/catalog.yaml",
                    0,
                    f"Event type {t.name} exists at {ref} but was deleted; consumers and stored "
                    "events still depend on it. Restore it, or deprecate it instead.",
                    "EVENT_TYPE_DELETED",
                )
            )
            continue
        out += _versions_changed(ref, t, now[t.name])
        out += _new_versions_breaking(t, now[t.name], cache)
    return out


def _versions_changed(ref: str, old: EventType, cur: EventType) -> list[Finding]:
    """Published versions deleted or edited since `ref`."""
    out: list[Finding] = []
    by_version = {v.version: v for v in cur.versions}
    for v in old.versions:
        mine = by_version.get(v.version)
        if mine is None:
            out.append(
                Finding(
                    v.path,
                    0,
                    f"{old.name} v{v.version} exists at {ref} but was deleted; published "
                    "versions are immutable.",
                    "VERSION_DELETED",
                )
            )
        elif mine.fingerprint != v.fingerprint:
            out.append(
                Finding(
                    mine.path,
                    1,
                    f"{old.name} v{v.version} differs from {ref}; published versions are "
                    f"immutable: revert it and run `codegen bump {old.name}`.",
                    "VERSION_CHANGED",
                )
            )
    return out


def _new_versions_breaking(old: EventType, cur: EventType, cache: Cache | None) -> list[Finding]:
    """New versions must also satisfy the mode against what was published at the ref."""
    from codegen.gate import needs, pair_findings

    directions = needs(cur.config.compatibility)
    if not directions:
        return []
    by_version = {v.version: v for v in cur.versions}
    old_latest = old.versions[-1]
    base = by_version.get(old_latest.version, old_latest)
    out: list[Finding] = []
    for new in cur.versions:
        if new.version > old_latest.version and new.version not in cur.config.breaking_versions:
            out += pair_findings(cur, base, new, directions, cache)
    return out

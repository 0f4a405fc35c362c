"""`schemas/schemas.lock`: fingerprints of published versions. Published means immutable.

The lock also records the partition count of every stream (`streams`): it cannot change in
place either (see `check_streams`), only through `codegen repartition` after a drain.
"""

from __future__ import annotations

import json
from pathlib import Path

from codegen import indented
from codegen.errors import BadInput, Finding
from codegen.ir import Project
from codegen.load import Bundler, fingerprint
from codegen.names import TYPE_NAME

LOCK_REL = "schemas/schemas.lock"


def read_lock(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, OSError) as exc:
        raise BadInput(
            [
                Finding(
                    LOCK_REL,
                    0,
                    f"The lock file is unreadable ({exc}); restore it from git.",
                    "LOCK_INVALID",
                )
            ]
        ) from None
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise BadInput(
            [
                Finding(
                    LOCK_REL,
                    0,
                    'The lock file needs a "versions" object; restore it from git.',
                    "LOCK_INVALID",
                )
            ]
        )
    return dict(versions)


def read_streams(path: Path) -> dict[str, int]:
    """The partition count each published stream was recorded with (`streams` section)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, OSError):
        return {}  # read_lock reports an unreadable lock
    streams = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(streams, dict):
        return {}
    return {
        k: int(v["partitions"])
        for k, v in streams.items()
        if isinstance(v, dict) and isinstance(v.get("partitions"), int)
    }


def render_lock(entries: dict[str, str], streams: dict[str, int] | None = None) -> str:
    body: dict[str, object] = {
        "comment": "Fingerprints of published schema versions. Managed by `codegen gen`.",
        "versions": dict(sorted(entries.items(), key=lambda kv: _sort_key(kv[0]))),
    }
    if streams:
        body["streams"] = {k: {"partitions": v} for k, v in sorted(streams.items())}
    return indented.dumps(body) + "\n"


def stream_partitions(project: Project) -> dict[str, int]:
    """stream -> partitions, as the catalog says now."""
    out: dict[str, int] = {}
    for t in project.types:
        if t.config.stream is not None:
            out.setdefault(t.config.stream, t.config.partitions)
    return out


def check_streams(project: Project, locked: dict[str, int]) -> list[Finding]:
    """STREAM_PARTITIONS_CHANGED: a published stream's partition count changed."""
    out = []
    lines = {t.config.stream: t.config.catalog_line for t in reversed(project.types)}
    for stream, partitions in sorted(stream_partitions(project).items()):
        old = locked.get(stream)
        if old is None or old == partitions:
            continue
        out.append(
            Finding(
                "schemas/catalog.yaml",
                lines.get(stream) or 1,
                f"Stream {stream} is published with {old} partition(s) and the catalog now says "
                f"{partitions}. Switching in place would spread an aggregate's events over old "
                "and new partitions and break their order. Migrate: stop its producers, let its "
                "consumers drain it (`schemabus status` shows lag 0 and pending 0), run "
                f"`codegen repartition {stream}` to record the new count, then deploy consumers "
                "and producers with it.",
                "STREAM_PARTITIONS_CHANGED",
            )
        )
    return out


def _sort_key(key: str) -> tuple[str, int]:
    name, _, version = key.rpartition("@")
    return (name, int(version) if version.isdigit() else 0)


def key_of(type_name: str, version: int) -> str:
    return f"{type_name}@{version}"


def version_rel(name: str, version: int | str) -> str:
    """Where a version's file sits, relative to the repository."""
    return f"schemas/events/{name}/v{version}.json"


def _changed(path: str, name: str, version: int, old: str, new: str) -> Finding:
    return Finding(
        path,
        1,
        f"{name} v{version} is published and must not change (lock has {old[:19]}…, file is "
        f"{new[:19]}…). Revert the edit and run `codegen bump {name}` to make "
        f"v{version + 1}; if v{version} was never released, run "
        f"`codegen unlock {name}@{version}`.",
        "LOCK_CHANGED",
    )


def check_lock(project: Project, locked: dict[str, str], *, deleted: bool = True) -> list[Finding]:
    """LOCK_CHANGED: a published version's fingerprint changed. LOCK_VERSION_DELETED
    (``deleted``) needs the whole project: a partial one lacks types that failed lint."""
    out = []
    for t in project.types:
        for v in t.versions:
            old = locked.get(key_of(t.name, v.version))
            if old is not None and old != v.fingerprint:
                out.append(_changed(v.path, t.name, v.version, old, v.fingerprint))
    if not deleted:
        return out
    present = {key_of(t.name, v.version) for t in project.types for v in t.versions}
    for key in sorted(set(locked) - present, key=_sort_key):
        name, _, version = key.rpartition("@")
        out.append(
            Finding(
                version_rel(name, version),
                0,
                f"{name} v{version} is published but its file is gone; restore it from git "
                f"(published versions are immutable) or, if it was never released, run "
                f"`codegen unlock {key}`.",
                "LOCK_VERSION_DELETED",
            )
        )
    return out


def check_unbuilt(root: Path, project: Project, locked: dict[str, str]) -> list[Finding]:
    """LOCK_CHANGED for published versions that did not build (they failed lint): their
    fingerprint is computed from the file as it bundles, when it still bundles, so an
    edit that breaks a published version says it is published in the same round."""
    built = {key_of(t.name, v.version) for t in project.types for v in t.versions}
    bundler = Bundler(root, root / "schemas")
    out = []
    for key in sorted(set(locked) - built, key=_sort_key):
        name, _, number = key.rpartition("@")
        rel = version_rel(name, number)
        # A lock entry is repo content: only a valid type name may become a path, so
        # nothing outside schemas/ is ever read.
        if not TYPE_NAME.match(name) or not number.isdigit() or not (root / rel).is_file():
            continue
        try:
            bundle = bundler.bundle(bundler.file(root / rel))
        except BadInput:  # unreadable JSON: already reported, nothing to compare
            continue
        if bundle.findings:
            continue
        new = fingerprint(bundle.schema)
        if new != locked[key]:
            out.append(_changed(rel, name, int(number), locked[key], new))
    return out


def updated_lock(project: Project, locked: dict[str, str]) -> dict[str, str]:
    """The lock after `gen`: every current version is recorded; removed types are kept out."""
    entries = dict(locked)
    for t in project.types:
        for v in t.versions:
            entries.setdefault(key_of(t.name, v.version), v.fingerprint)
    return entries

"""The deployed registry as the gate sees it: a snapshot file, or fetched from Redis.

`schemabus deployed --json` writes the snapshot (its document shape is described in
`runtime/deployed.py`). codegen never imports the runtime: a URL is read by running
`python -m runtime.cli deployed --json` in the project, so `--deployed URL` and
`--deployed FILE` (a snapshot taken from that URL) see byte-for-byte the same document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.background import Background
from codegen.errors import BadInput, Finding
from codegen.ir import Project

SNAPSHOT_FORMAT = "schemabus.deployed/1"
UpcasterKey = tuple[str, int, int]


@dataclass(frozen=True)
class Route:
    via: str  # direct | upcast
    upcasters: tuple[UpcasterKey, ...] = ()


@dataclass(frozen=True)
class Reader:
    """One consumed type of one replica."""

    type: str
    version: int
    delivery: str
    destination: str
    partitions: int
    known: Mapping[int, str]  # every version its registry has -> fingerprint
    reads: Mapping[int, Route]  # how it decodes each known version it can read
    upcasters: frozenset[UpcasterKey]  # the upcasters the process loaded


@dataclass(frozen=True)
class Writer:
    type: str
    version: int
    fingerprint: str
    delivery: str
    destination: str
    partitions: int


@dataclass(frozen=True)
class Replica:
    service: str
    replica: str
    host: str
    pid: int
    registry: str
    since_ms: int
    consumes: tuple[Reader, ...]
    produces: tuple[Writer, ...]

    def reader(self, type_name: str) -> Reader | None:
        return next((r for r in self.consumes if r.type == type_name), None)


@dataclass(frozen=True)
class Snapshot:
    source: str  # the file or (password-free) URL it came from, for messages
    taken_at_ms: int
    replicas: tuple[Replica, ...]


def project_fingerprint(project: Project) -> str:
    """The registry fingerprint a build of `project` advertises (same algorithm as
    `runtime.deployed.registry_fingerprint`: sha256 over sorted `type@version fp` lines)."""
    lines = sorted(
        f"{t.name}@{v.version} {v.fingerprint}" for t in project.types for v in t.versions
    )
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def is_url(where: str) -> bool:
    return "://" in where


def redact(url: str) -> str:
    """A URL without its password (it goes into messages and CI logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, _, host = rest.partition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user + ':***@' if user else '***@'}{host}"


def _fail(where: str, message: str) -> BadInput:
    return BadInput([Finding(where, 0, message, "DEPLOYED_UNREADABLE")])


class SnapshotJob:
    """The snapshot at `where`: a `redis://` / `rediss://` URL (read by
    `schemabus deployed --json` in the project, started at once) or a JSON file."""

    def __init__(self, root: Path, where: str) -> None:
        self.where = where
        self._job = (
            Background(
                "runtime.cli",
                ["deployed", "--json"],
                cwd=root,
                env={"SCHEMABUS_REDIS_URL": where},
            )
            if is_url(where)
            else None
        )
        self._snapshot: Snapshot | None = None

    def result(self) -> Snapshot:
        """The snapshot (waits for the broker); raises BadInput when it cannot be read."""
        if self._snapshot is None:
            self._snapshot = self._load()
        return self._snapshot

    def _load(self) -> Snapshot:
        if self._job is not None:
            source = redact(self.where)
            code, text, err = self._job.wait(120)
            if code != 0:
                lines = (err or text).strip().splitlines()
                detail = lines[-1] if lines else f"exit code {code}"
                raise _fail(
                    source,
                    f"Cannot read the deployed registry: {detail.removeprefix('schemabus: ')}",
                )
        else:
            source = self.where
            try:
                text = Path(self.where).read_text("utf-8")
            except OSError as exc:
                raise _fail(
                    source,
                    f"Cannot read the deployed snapshot ({exc.strerror or exc}); write one "
                    "with `schemabus deployed --json > deployed.json`.",
                ) from None
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise _fail(source, f"The deployed snapshot is not JSON ({exc}).") from None
        return parse_snapshot(doc, source)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()


def load_snapshot(root: Path, where: str) -> Snapshot:
    """The snapshot at `where`: a `redis://` / `rediss://` URL or a JSON file."""
    return SnapshotJob(root, where).result()


def parse_snapshot(doc: Any, source: str) -> Snapshot:
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise _fail(
            source,
            f'Not a deployed snapshot (expected "format": "{SNAPSHOT_FORMAT}"); write one with '
            "`schemabus deployed --json > deployed.json`.",
        )
    try:
        replicas = tuple(_replica(r) for r in doc["replicas"])
        return Snapshot(source, int(doc["taken_at_ms"]), replicas)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(
            source, f"The deployed snapshot is malformed ({type(exc).__name__}: {exc})."
        ) from None


def _key(raw: Any) -> UpcasterKey:
    t, a, b = raw
    return (str(t), int(a), int(b))


def _reader(d: Mapping[str, Any]) -> Reader:
    return Reader(
        type=str(d["type"]),
        version=int(d["version"]),
        delivery=str(d["delivery"]),
        destination=str(d["destination"]),
        partitions=int(d["partitions"]),
        known={int(v): str(fp) for v, fp in d["known"].items()},
        reads={
            int(v): Route(str(r["via"]), tuple(_key(k) for k in r["upcasters"]))
            for v, r in d["reads"].items()
        },
        upcasters=frozenset(_key(k) for k in d["upcasters"]),
    )


def _writer(d: Mapping[str, Any]) -> Writer:
    return Writer(
        type=str(d["type"]),
        version=int(d["version"]),
        fingerprint=str(d["fingerprint"]),
        delivery=str(d["delivery"]),
        destination=str(d["destination"]),
        partitions=int(d["partitions"]),
    )


def _replica(d: Mapping[str, Any]) -> Replica:
    return Replica(
        service=str(d["service"]),
        replica=str(d["replica"]),
        host=str(d.get("host", "")),
        pid=int(d.get("pid", 0)),
        registry=str(d["registry"]),
        since_ms=int(d.get("since_ms", 0)),
        consumes=tuple(_reader(r) for r in d["consumes"]),
        produces=tuple(_writer(w) for w in d["produces"]),
    )

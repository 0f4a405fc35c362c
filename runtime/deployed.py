"""The deployed registry: what each running replica reads and writes, as a JSON document.

Every `ServiceRunner` advertises one document (`advertisement`) with a heartbeat
(`runtime.advertiser`); `schemabus deployed --json` collects the live ones into a
snapshot, and `codegen check --deployed URL|FILE` judges a proposed change against it.
The document is the interface between the two sides, so its shape is written down here:

    {"service": "payment", "replica": "payment-1", "group": "payment",
     "host": "...", "pid": 4242, "registry": "sha256:...",
     "consumes": [{"type": "order.created", "version": 2,
                   "delivery": "durable", "destination": "orders", "partitions": 4,
                   "known": {"1": "sha256:...", "2": "sha256:..."},
                   "reads": {"1": {"via": "direct", "upcasters": []},
                             "2": {"via": "direct", "upcasters": []}},
                   "upcasters": []}],
     "produces": [{"type": "payment.processed", "version": 1, "fingerprint": "sha256:...",
                   "delivery": "durable", "destination": "payments", "partitions": 4}],
     "serves": [{"operation": "inventory.reserve", "request": "inventory.reserve.request@1",
                 "reply": "inventory.reserve.reply@1"}]}

`known` is every version of the type this build's registry has (with its fingerprint):
an event of any other version is dead-lettered as unknown by this replica, however
compatible it is. `reads` is how it decodes each known version (the read plans of its
registry); a known version missing there is dead-lettered as unreadable. `upcasters` are
the upcaster functions for the type the process actually loaded. `registry` fingerprints
the whole generated registry (`registry_fingerprint`), so two replicas with the same value
run the same contracts.

A snapshot adds, per replica, `since_ms` / `since` (broker time of its first heartbeat,
as ms and ISO-8601) and `expires_in_s`, and records when it was taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.spec import EventSpec, Registry, ServiceWiring

#: `format` of a snapshot document (`schemabus deployed --json`).
SNAPSHOT_FORMAT = "schemabus.deployed/1"

Doc = dict[str, Any]
UpcasterKey = tuple[str, int, int]


def registry_fingerprint(fingerprints: Iterable[tuple[str, int, str]]) -> str:
    """sha256 over the sorted `type@version fingerprint` lines of a registry. codegen
    computes the same value from the contracts (`codegen.deployed.project_fingerprint`)."""
    lines = sorted(f"{t}@{v} {fp}" for t, v, fp in fingerprints)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def fingerprint_of(registry: Registry) -> str:
    return registry_fingerprint(
        (s.type, s.version, s.fingerprint) for s in registry.events.values()
    )


def _destination(spec: EventSpec) -> Doc:
    durable = spec.delivery == "durable" and spec.stream is not None
    return {
        "delivery": spec.delivery,
        "destination": spec.stream if durable else spec.subject,
        "partitions": spec.partitions if durable else 1,
    }


def _reader(spec: EventSpec, registry: Registry, upcasters: Mapping[UpcasterKey, Any]) -> Doc:
    versions = registry.versions(spec.type) or [spec.version]
    reads: Doc = {}
    for written in versions:
        # The same decision the Dispatcher makes at start-up (runtime.dispatch.decoder_for).
        plan = registry.read_plan(spec.type, written, spec.version)
        if plan is None:
            continue
        if plan.via == "upcast" and not all(k in upcasters for k in plan.upcasters):
            continue  # the Dispatcher refuses to start without them; never advertised
        reads[str(written)] = {"via": plan.via, "upcasters": [list(k) for k in plan.upcasters]}
    return {
        "type": spec.type,
        "version": spec.version,
        **_destination(spec),
        "known": {
            str(v): registry.events[(spec.type, v)].fingerprint
            for v in versions
            if (spec.type, v) in registry.events
        },
        "reads": reads,
        "upcasters": sorted([list(k) for k in upcasters if k[0] == spec.type]),
    }


def advertisement(
    wiring: ServiceWiring,
    registry: Registry,
    upcasters: Mapping[UpcasterKey, Any],
    *,
    replica: str,
    group: str,
    host: str,
    pid: int,
) -> Doc:
    """The document one replica of `wiring` advertises (see the module docstring)."""
    consumes = [_reader(s.spec, registry, upcasters) for s in wiring.subscriptions]
    produces = [
        {"type": s.type, "version": s.version, "fingerprint": s.fingerprint, **_destination(s)}
        for s in wiring.produces
    ]
    serves = [
        {
            "operation": r.operation.name,
            "request": f"{r.operation.request.type}@{r.operation.request.version}",
            "reply": f"{r.operation.reply.type}@{r.operation.reply.version}",
        }
        for r in wiring.responders
    ]
    return {
        "service": wiring.name,
        "replica": replica,
        "group": group,
        "host": host,
        "pid": pid,
        "registry": fingerprint_of(registry),
        "consumes": sorted(consumes, key=lambda d: d["type"]),
        "produces": sorted(produces, key=lambda d: (d["type"], d["version"])),
        "serves": sorted(serves, key=lambda d: d["operation"]),
    }


def is_advertisement(doc: Any) -> bool:
    """The shape `advertisement` builds (a foreign or damaged entry is ignored, not shown)."""
    if not isinstance(doc, dict):
        return False
    names = all(isinstance(doc.get(k), str) for k in ("service", "replica", "registry"))
    lists = all(isinstance(doc.get(k), list) for k in ("consumes", "produces", "serves"))
    return names and lists


def member_id(doc: Mapping[str, Any]) -> str:
    """The replica's name in the registry: `<service>/<replica>`."""
    return f"{doc['service']}/{doc['replica']}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def snapshot(replicas: Iterable[Doc], *, taken_at_ms: int) -> Doc:
    """The `schemabus deployed --json` document (sorted, so equal states print equally).
    Times are the broker's, in ms, with an ISO-8601 copy for people."""
    listed = []
    for doc in sorted(replicas, key=lambda d: (d["service"], d["replica"])):
        if "since_ms" in doc:
            doc = {**doc, "since": _iso(int(doc["since_ms"]))}
        listed.append(doc)
    return {
        "format": SNAPSHOT_FORMAT,
        "taken_at_ms": taken_at_ms,
        "taken_at": _iso(taken_at_ms),
        "replicas": listed,
    }


# --- text -----------------------------------------------------------------------------


def _ago(ms: int) -> str:
    s = max(0, ms // 1000)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _reads_text(reader: Mapping[str, Any]) -> str:
    version = reader["version"]
    others = []
    for written, route in sorted(reader["reads"].items(), key=lambda kv: int(kv[0])):
        if int(written) == version:
            continue
        if route["via"] == "direct":
            others.append(f"v{written} as is")
        else:
            steps = ", ".join(f"{a}->{b}" for _, a, b in route["upcasters"])
            others.append(f"v{written} via upcasters {steps}")
    unreadable = sorted(
        int(v) for v in reader["known"] if v not in reader["reads"] and int(v) != version
    )
    text = f"{reader['type']} v{version}"
    if others:
        text += " (also " + "; ".join(others) + ")"
    if unreadable:
        text += " (cannot read " + ", ".join(f"v{v}" for v in unreadable) + ")"
    return text


def render_text(snap: Mapping[str, Any]) -> str:
    """`schemabus deployed`: one block per live replica, who reads and writes what."""
    replicas = snap["replicas"]
    if not replicas:
        return "no live services (nothing has heartbeated within its TTL)"
    now = int(snap["taken_at_ms"])
    blocks = []
    for r in replicas:
        head = (
            f"{r['service']}  {r['replica']}  (host {r['host']}, pid {r['pid']}, "
            f"up {_ago(now - int(r.get('since_ms', now)))}, registry {r['registry'][7:19]})"
        )
        lines = [head]
        for reader in r["consumes"]:
            lines.append(f"  reads   {_reads_text(reader)}  [{reader['destination']}]")
        for w in r["produces"]:
            lines.append(f"  writes  {w['type']} v{w['version']}  [{w['destination']}]")
        for s in r["serves"]:
            lines.append(f"  serves  {s['operation']} ({s['request']} -> {s['reply']})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

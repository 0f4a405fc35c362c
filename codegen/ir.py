"""Stage 2: the intermediate representation. Frozen data, no I/O, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Retry:
    """Redelivery policy of a durable event. No defaults here: the build fills every field
    from the catalog, whose schema (`catalog.schema.json`) holds the defaults."""

    max_deliveries: int
    backoff_ms: int
    backoff_max_ms: int


@dataclass(frozen=True)
class EventConfig:
    delivery: str  # durable | realtime | message (request/reply bodies)
    stream: str | None
    # The NATS subject, with the default filled in by the build: evt.<type> for events,
    # msg.<type> for request/reply bodies (what the registry records).
    subject: str
    aggregate_id: str | None
    maxlen: int | None = None
    max_age_ms: int | None = None
    compatibility: str = "FULL_TRANSITIVE"
    semantics: str = "runtime"
    retry: Retry = field(kw_only=True)
    jetstream: bool = False
    breaking_versions: tuple[int, ...] = ()
    partitions: int = 1
    # durable: "replicated" makes publishes and acks wait for a Redis replica (WAIT).
    durability: str = "default"
    # jetstream: copies of the subject's JetStream stream on a NATS cluster.
    replicas: int = 1
    # Where the event is declared in the catalog (for findings about its settings).
    catalog_line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Version:
    type: str
    version: int
    path: str  # repo-relative, posix
    raw: Any = field(repr=False, compare=False)
    bundled: Any = field(repr=False, compare=False)
    fingerprint: str = ""
    class_name: str = ""
    module: str = ""
    # The load-stage Bundle: maps pointers in `bundled` back to file:line for findings.
    source: Any = field(default=None, repr=False, compare=False)
    # Shared shapes in `bundled`: ($defs key, class in generated/models/defs.py).
    shared: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SharedDef:
    """One shape of a shared def (schemas/defs/), generated once in generated/models/defs.py."""

    name: str  # from the file name: money.json -> Money
    class_name: str  # `name` for the current shape, `<name>Shape<8 hex>` for an older one
    identity: str  # sha256 of the shape and the shapes it refers to
    schema: Any = field(repr=False, compare=False)  # refs to shapes as #/$defs/<class_name>
    sources: tuple[str, ...] = ()  # the files it was read from
    current: bool = True
    users: tuple[tuple[str, int], ...] = ()  # (type, version) that bundle it


@dataclass(frozen=True)
class EventType:
    name: str
    config: EventConfig
    versions: tuple[Version, ...]
    # The compatibility matrix: (writer, reader) version pairs, writer != reader, where the
    # generated reader model reads every event the generated writer emits (the gate's
    # verdicts; filled by pipeline.plan after the gate, before rendering).
    readable: tuple[tuple[int, int], ...] = ()

    @property
    def latest(self) -> Version:
        return self.versions[-1]


@dataclass(frozen=True)
class Operation:
    name: str
    subject: str  # default filled in by the build: rpc.<name>
    request: tuple[str, int]
    reply: tuple[str, int]
    timeout_ms: int


@dataclass(frozen=True)
class Service:
    name: str
    consumes: tuple[tuple[str, int], ...]
    produces: tuple[tuple[str, int], ...]
    serves: tuple[str, ...]
    calls: tuple[str, ...]


@dataclass(frozen=True)
class ReadPlan:
    type: str
    source: int
    target: int
    via: str  # direct | upcast
    upcasters: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True)
class Project:
    types: tuple[EventType, ...]
    operations: tuple[Operation, ...]
    services: tuple[Service, ...]
    read_plans: tuple[ReadPlan, ...] = ()
    defs: tuple[SharedDef, ...] = ()

    def type(self, name: str) -> EventType:
        for t in self.types:
            if t.name == name:
                return t
        raise KeyError(name)

    def version(self, name: str, version: int) -> Version:
        for v in self.type(name).versions:
            if v.version == version:
                return v
        raise KeyError((name, version))

"""What generated code hands to the runtime: event specs, read plans, service specs.

This module is the contract between `generated/` and `runtime/`. Generated files build
these frozen records; the runtime reads them and never imports `generated` itself.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from runtime.envelope import Envelope
from runtime.partitioning import partition_key, partition_keys, partition_of

Delivery = Literal["durable", "realtime", "message"]
Durability = Literal["default", "replicated"]
"""replicated: publishes and acks of the event's stream wait until a Redis replica
acknowledged them (WAIT), so a failover cannot lose them."""
"""durable = Redis Stream (+ NATS mirror); realtime = NATS only; message = request/reply body."""

JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_deliveries: int = 5
    backoff_ms: int = 100
    backoff_max_ms: int = 5000


@dataclass(frozen=True, slots=True)
class Retention:
    """Approximate stream trimming: keep about `maxlen` entries or `max_age_ms` of history."""

    maxlen: int | None = None
    max_age_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One published version of one message type."""

    type: str
    version: int
    model: builtins.type[BaseModel]
    schema_json: str
    fingerprint: str
    delivery: Delivery
    stream: str | None
    subject: str
    aggregate_field: str | None
    retention: Retention = Retention()
    retry: RetryPolicy = RetryPolicy()
    jetstream: bool = False
    partitions: int = 1
    durability: Durability = "default"
    #: JetStream: copies of the subject's stream kept by a NATS cluster (1, 3 or 5).
    replicas: int = 1

    @property
    def key(self) -> tuple[str, int]:
        return (self.type, self.version)

    def partition_keys(self) -> list[str]:
        """The Redis keys of this event's stream partitions (`orders`, or `orders:{p}`)."""
        if self.stream is None:
            return []
        return partition_keys(self.stream, self.partitions)

    def route(self, key: str) -> str:
        """The stream partition an event with aggregate (or event) id `key` goes to."""
        stream = self.stream or self.subject
        if self.partitions <= 1:
            return stream
        return partition_key(stream, partition_of(key, self.partitions), self.partitions)

    @property
    def dataschema(self) -> str:
        return f"schemas/events/{self.type}/v{self.version}.json"


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """How a consumer that declared `target_version` reads events written as `source_version`.

    `direct`: decode with the target model (the gate proved it safe).
    `upcast`: apply the named upcasters in order (`(type, from, to)` keys resolved at start-up
    from the service's upcaster module), then decode with the target model.
    """

    type: str
    source_version: int
    target_version: int
    via: Literal["direct", "upcast"]
    upcasters: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """A typed request/reply operation over NATS."""

    name: str
    subject: str
    request: EventSpec
    reply: EventSpec
    timeout_ms: int = 2000


@dataclass(frozen=True)
class Registry:
    """(type, version) -> spec, plus read plans and operations. Built by generated code."""

    events: Mapping[tuple[str, int], EventSpec]
    operations: Mapping[str, OperationSpec] = field(default_factory=dict)
    read_plans: Mapping[tuple[str, int, int], ReadPlan] = field(default_factory=dict)
    _by_model: dict[type[BaseModel], EventSpec] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for spec in self.events.values():
            self._by_model[spec.model] = spec

    @classmethod
    def build(
        cls,
        events: Iterable[EventSpec],
        operations: Iterable[OperationSpec] = (),
        read_plans: Iterable[ReadPlan] = (),
    ) -> Registry:
        return cls(
            events={e.key: e for e in events},
            operations={o.name: o for o in operations},
            read_plans={(p.type, p.source_version, p.target_version): p for p in read_plans},
        )

    def spec(self, type_: str, version: int) -> EventSpec:
        try:
            return self.events[(type_, version)]
        except KeyError:
            raise UnknownEventError(type_, version) from None

    def spec_for(self, model: type[BaseModel]) -> EventSpec:
        try:
            return self._by_model[model]
        except KeyError:
            raise TypeError(
                f"{model.__name__} is not a registered event model; "
                "publish an instance of a class from generated.models"
            ) from None

    def versions(self, type_: str) -> list[int]:
        return sorted(v for (t, v) in self.events if t == type_)

    def read_plan(self, type_: str, source: int, target: int) -> ReadPlan | None:
        if source == target:
            return ReadPlan(type_, source, target, "direct")
        return self.read_plans.get((type_, source, target))


class UnknownEventError(LookupError):
    def __init__(self, type_: str, version: int) -> None:
        super().__init__(f"no event {type_!r} version {version} in the registry; run `make gen`")
        self.type = type_
        self.version = version


class Context(Protocol):
    """What a handler gets beside the event: its envelope, its delivery, and a way to
    publish and request causally (`runtime.context.HandlerContext` implements it)."""

    @property
    def event_id(self) -> str: ...

    @property
    def correlation_id(self) -> str: ...

    @property
    def envelope(self) -> Envelope:
        """The CloudEvents envelope the event arrived in."""

    @property
    def attempts(self) -> int:
        """1 on first delivery; more when retried or redelivered."""

    async def publish(self, event: BaseModel) -> None: ...

    async def request(self, operation: OperationSpec, request: BaseModel, reply: type[M]) -> M: ...

    def stage(self, *command: Any) -> None:
        """Queue a Redis command to commit atomically with this event's ack (exactly-once
        effects); raises `NotSupportedError` on a transport that cannot."""


EventHandler = Callable[[Any, Context], Awaitable[None]]
RequestHandler = Callable[[Any, Context], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """A service's handler for one event type at the version it declared."""

    spec: EventSpec
    handler: EventHandler


@dataclass(frozen=True, slots=True)
class Responder:
    """A service's handler for one request/reply operation."""

    operation: OperationSpec
    handler: RequestHandler


@dataclass(frozen=True, slots=True)
class ServiceWiring:
    """Everything the runtime needs to run one service: its name and bound handlers."""

    name: str
    subscriptions: tuple[Subscription, ...]
    responders: tuple[Responder, ...] = ()
    produces: tuple[EventSpec, ...] = ()

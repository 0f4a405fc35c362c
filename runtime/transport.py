"""The transport protocol: all the service wiring ever sees of Redis or NATS.

A transport moves envelopes. It knows nothing of models, handlers or the registry:

* `publish(batch)` sends envelopes to destinations (a stream name for the durable log, a
  subject for live delivery) in as few round trips as the broker allows — one for Redis.
* `source(group, consumer, destinations, settings)` joins a consumer group (a Redis
  consumer group, a NATS queue group) and hands back a `Source` the consumer engine pulls
  batches from and settles them on: `done` (ack, remember the event as completed, and run
  the handler's staged effects, atomically where the broker can), `dead` (write to the
  dead-letter destination, then ack), or `redeliver` (count another attempt before a retry).
* `request` / `serve` carry request/reply for transports that can (`"request"` in
  `capabilities`); others raise `NotSupportedError`.

Implementations: `runtime.memory.MemoryTransport`, `runtime.redis_streams.RedisTransport`,
and `runtime.nats.NatsTransport`, which `Bus.connect` loads lazily as
`await runtime.nats.connect(settings, registry=registry)` when NATS is configured.

Retry timing, ordering, idempotency decisions and dispatch live above, in
`runtime.consumer`, so every transport behaves the same; the conformance suite in
`tests/runtime/conformance.py` proves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Protocol, SupportsIndex

from runtime.envelope import Envelope
from runtime.errors import NotSupportedError
from runtime.settings import ConsumerSettings
from runtime.spec import Retention

Capability = Literal["durable", "live", "request", "effects"]
"""durable: a log with acks, redelivery, delivery counts and a dead-letter destination.
live: fan-out to whoever is subscribed now. request: request/reply.
effects: staged effects run atomically with the ack."""

StagedEffect = tuple[str | bytes | int | float, ...]
"""A staged effect: a command for the store a transport with the "effects" capability
settles in, run in the same atomic step as the event's ack and idempotency mark (on
Redis, a Redis command such as `("HINCRBY", "ledger", event_id, 1)`)."""

RedisCommand = StagedEffect  # the former name


class NoEffects(list[StagedEffect]):
    """`Inbound.effects` of a transport without the "effects" capability: it stays empty,
    and staging raises `NotSupportedError` at the call instead of the effect being
    dropped at settle. One instance can be shared: nothing can be added to it."""

    __slots__ = ("transport",)

    def __init__(self, transport: str) -> None:
        super().__init__()
        self.transport = transport

    def _refuse(self) -> NoReturn:
        raise NotSupportedError(
            f"ctx.stage() needs a transport that commits staged effects atomically with "
            f"the ack (Redis Streams); this event came over {self.transport}, which cannot: "
            "make the side effect idempotent with ctx.event_id instead, or consume the "
            "event from Redis"
        )

    def append(self, effect: StagedEffect) -> NoReturn:
        self._refuse()

    def extend(self, effects: Iterable[StagedEffect]) -> NoReturn:
        self._refuse()

    def insert(self, index: SupportsIndex, effect: StagedEffect) -> NoReturn:
        self._refuse()

    def __iadd__(self, effects: Iterable[StagedEffect]) -> NoReturn:  # type: ignore[misc,override]
        self._refuse()

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        self._refuse()


@dataclass(slots=True)
class Outbound:
    """One envelope to publish. `retention` applies to durable destinations only."""

    destination: str
    envelope: Envelope
    retention: Retention | None = None


@dataclass(slots=True)
class Inbound:
    """One delivered message, as the consumer engine sees it.

    `destination` is where it was read from: a stream partition's key on Redis
    (`orders:{2}`), a subject on NATS. `envelope` is None when the message is not a valid
    envelope; `error` then says why and the engine dead-letters it (`oversized` set: the
    entry was over the size limit and `raw` holds only a bounded stand-in). `raw` keeps the
    original wire form (stream fields) so that the dead letter preserves it. `completed`:
    the group already completed this event (its idempotency mark was seen when it was
    read), so the engine acknowledges it without running the handler. `token` is the
    transport's own handle (the fencing token on Redis, a NATS message to ack).
    `effects` collects what the handler stages; a transport without the "effects"
    capability must pass a `NoEffects`, so that staging fails loudly there.
    """

    destination: str
    message_id: str
    attempts: int
    envelope: Envelope | None
    error: str | None = None
    raw: Mapping[bytes, bytes] | None = None
    token: Any = None
    effects: list[StagedEffect] = field(default_factory=list)
    completed: bool = False
    oversized: bool = False


@dataclass(slots=True)
class DeadLetter:
    inbound: Inbound
    reason: str  # a REASON_* constant
    error_type: str
    message: str


@dataclass(slots=True)
class Settled:
    """What `Source.settle` could not do. `fenced`: partitions whose entries were refused
    because this member no longer holds their lease (nothing of those was applied).
    `failed`: entries whose staged effects the broker rejected, with its error; they were
    not acknowledged and are not marked completed."""

    fenced: set[str] = field(default_factory=set)
    failed: list[tuple[Inbound, str]] = field(default_factory=list)


class Membership(Protocol):
    """Live members of one group and the leases on its partitions (see runtime.ownership).

    Times are the broker's, so members on different hosts need no synchronised clocks.
    A lease's fencing token (its epoch) grows with every acquisition and never shrinks;
    every read, ack and redelivery of a partition is checked against it by the broker.
    """

    async def heartbeat(
        self, member: str, ttl_ms: int, info: Mapping[str, str]
    ) -> dict[str, frozenset[str]]:
        """Refresh `member` (alive for `ttl_ms` more, advertising `info`) and return the
        live members with the streams each reads (its `streams` detail, comma-separated)."""

    async def leave(self, member: str) -> None: ...

    async def acquire(self, partition: str, member: str, ttl_ms: int) -> int | None:
        """Take the lease if it is free, expired or already `member`'s (a restart under
        the same name); returns the new fencing token, or None while another member holds
        it."""

    async def renew(self, leases: Mapping[str, int], member: str, ttl_ms: int) -> set[str]:
        """Extend the leases still held with these tokens; returns those partitions."""

    async def release(self, partition: str, member: str, token: int) -> None:
        """Give the lease up (only if still held with `token`), so the next owner need
        not wait for it to expire."""


class Deployments(Protocol):
    """The deployed registry (`runtime.deployed`): each running replica advertises what
    it reads and writes, with a heartbeat; an advertisement lapses `ttl_ms` after the last
    one. `boot` identifies one process, so a late `withdraw` of a stopped process never
    removes a newer one that took the same name."""

    async def advertise(self, member: str, ttl_ms: int, boot: str, document: str) -> None: ...

    async def withdraw(self, member: str, boot: str) -> None: ...

    async def live(self) -> tuple[int, list[dict[str, Any]]]:
        """(now in ms, the live advertisements with `since_ms` and `expires_in_s`)."""


class Source(Protocol):
    """One consumer's membership of one group over some destinations.

    A source whose `membership` is not None is *coordinated*: it reads only partitions
    assigned to it (`assign`, with the lease's fencing token), and the broker refuses its
    reads, acks and redeliveries of a partition once another member holds the lease.
    An uncoordinated source (NATS) reads all of `partitions`.
    """

    @property
    def partitions(self) -> tuple[str, ...]:
        """Every partition (stream key, subject) this source can read."""

    @property
    def membership(self) -> Membership | None:
        """The group's membership and leases; None for an uncoordinated source."""

    async def open(self) -> None:
        """Create the group / subscription if missing (idempotent)."""

    def assign(self, partition: str, token: int) -> None:
        """Start reading `partition` under fencing `token`: first its whole pending list
        (claimed from whoever held it, in id order), then new entries."""

    def unassign(self, partition: str) -> None:
        """Stop reading `partition` (its lease is being given up or was lost)."""

    def wake(self) -> None:
        """Cut a blocking `fetch` short (stop, a partition acquired, room freed); it
        returns what it has, nothing is lost."""

    async def fetch(
        self, max_count: int, block_ms: int, full: Set[str] = frozenset()
    ) -> list[Inbound]:
        """Next messages for this consumer from assigned partitions not in `full`: first
        own unacknowledged history (after a start, takeover or reconnect), then new ones.
        Waits at most `block_ms` when nothing is available, then returns an empty list."""

    async def settle(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> Settled:
        """Ack `done` (marking them completed and running their effects, atomically
        where supported) and dead-letter then ack `dead`, in as few round trips as
        possible. Returns what was refused (see `Settled`)."""

    def release(self, entries: Sequence[Inbound]) -> None:
        """Give up on `entries` for now (their settle failed for good): they stay
        unacknowledged and are delivered again, first thing, by a later fetch."""

    async def redeliver(self, inbound: Inbound) -> bool:
        """Record one more delivery attempt before the engine retries `inbound`, so a
        crash during retries does not reset the count; increments `inbound.attempts`.
        False: the partition's lease was lost (the new owner will retry it)."""

    async def close(self) -> None: ...


ReplyHandler = Callable[[Envelope], Awaitable[Envelope]]


class Closer(Protocol):
    async def close(self) -> None: ...


class Transport(Protocol):
    name: str
    capabilities: frozenset[Capability]

    async def publish(self, batch: Sequence[Outbound]) -> None:
        """Publish all of `batch`; returns once the broker has accepted every one."""

    def source(
        self,
        group: str,
        consumer: str,
        destinations: Sequence[str],
        settings: ConsumerSettings,
    ) -> Source: ...

    async def request(self, subject: str, envelope: Envelope, timeout_s: float) -> Envelope:
        """Send a request and wait for the reply envelope; raises `NoRespondersError`
        or `RequestTimeoutError`."""

    async def serve(self, subject: str, group: str, handler: ReplyHandler) -> Closer:
        """Answer requests on `subject`, load-balanced across the `group`."""

    def deployments(self) -> Deployments | None:
        """Where running services advertise themselves; None if this broker keeps no
        deployed registry (NATS)."""

    async def close(self) -> None: ...

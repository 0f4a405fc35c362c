"""An in-memory transport that behaves like the real ones, for fast handler tests.

It emulates what the consumer engine relies on from Redis Streams: an append-only log per
destination (stream partition), consumer groups created at the start of the log, a
pending-entries list with per-entry delivery counts, group membership and partition leases
with fencing tokens (a partition is read by its lease holder only; taking it over claims
its whole pending list; the consumer's own history is served first), idempotency markers,
oversized entries replaced by the same bounded stand-in, dead-letter destinations with the
original fields, and request/reply with no-responder and timeout errors. The conformance
suite runs against it and the real transports alike.

Entries are stored in their wire form (stream fields as bytes) so malformed entries can be
injected with `append_raw` exactly as they could be written to Redis by a foreign producer.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import orjson

from runtime import constants as C
from runtime.deadletter import dead_letter_entry
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.errors import NoRespondersError, RequestTimeoutError
from runtime.oversized import bounded_stand_in, oversized_error
from runtime.settings import ConsumerSettings
from runtime.transport import (
    Capability,
    Closer,
    DeadLetter,
    Inbound,
    Outbound,
    RedisCommand,
    ReplyHandler,
    Settled,
    Source,
)

Fields = dict[bytes, bytes]


@dataclass(slots=True)
class _Pending:
    consumer: str
    deliveries: int
    delivered_at: float


@dataclass(slots=True)
class _Group:
    next_index: int = 0
    pending: dict[str, _Pending] = field(default_factory=dict)


@dataclass(slots=True)
class _Log:
    ids: list[str] = field(default_factory=list)
    entries: dict[str, Fields] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)


def _encode(fields: Mapping[str, str | bytes]) -> Fields:
    return {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}


class MemoryTransport:
    """Shared by every bus of a test: publish on one, consume on another."""

    name = "memory"
    capabilities: frozenset[Capability] = frozenset({"durable", "live", "request", "effects"})

    def __init__(self) -> None:
        self.logs: dict[str, _Log] = {}
        self.dead_letters: dict[str, list[Fields]] = {}
        self.completed: dict[str, set[str]] = {}
        #: Staged effects committed with acks, in commit order (tests assert on them).
        self.effects: list[RedisCommand] = []
        self._responders: dict[str, list[ReplyHandler]] = {}
        self._rr = itertools.count()
        self._seq = itertools.count(1)
        self.arrived = asyncio.Condition()
        #: (partition, group) -> lease; group -> member -> expiry (monotonic); details
        self.leases: dict[tuple[str, str], _Lease] = {}
        self.members: dict[str, dict[str, float]] = {}
        self.member_info: dict[tuple[str, str], dict[str, str]] = {}
        self._deployments = MemoryDeployments()

    def log(self, destination: str) -> _Log:
        log = self.logs.get(destination)
        if log is None:
            log = self.logs[destination] = _Log()
        return log

    def _append(self, destination: str, fields: Fields) -> str:
        log = self.log(destination)
        entry_id = f"{int(time.time() * 1000)}-{next(self._seq)}"
        log.ids.append(entry_id)
        log.entries[entry_id] = fields
        return entry_id

    async def _notify(self) -> None:
        async with self.arrived:
            self.arrived.notify_all()

    def wake_readers(self) -> None:
        asyncio.get_running_loop().create_task(self._notify())

    async def publish(self, batch: Sequence[Outbound]) -> None:
        for out in batch:
            self._append(out.destination, _encode(out.envelope.to_fields()))
        await self._notify()

    async def append_raw(self, destination: str, fields: Mapping[str, str | bytes]) -> str:
        """Write arbitrary fields, as a foreign or broken producer could."""
        entry_id = self._append(destination, _encode(fields))
        await self._notify()
        return entry_id

    def pending_count(self, destination: str, group: str) -> int:
        g = self.log(destination).groups.get(group)
        return len(g.pending) if g else 0

    def source(
        self,
        group: str,
        consumer: str,
        destinations: Sequence[str],
        settings: ConsumerSettings,
    ) -> Source:
        return MemorySource(self, group, consumer, tuple(destinations), settings)

    async def request(self, subject: str, envelope: Envelope, timeout_s: float) -> Envelope:
        handlers = self._responders.get(subject)
        if not handlers:
            raise NoRespondersError(subject)
        handler = handlers[next(self._rr) % len(handlers)]
        try:
            return await asyncio.wait_for(handler(envelope), timeout_s)
        except TimeoutError:
            raise RequestTimeoutError(subject, timeout_s) from None

    async def serve(self, subject: str, group: str, handler: ReplyHandler) -> Closer:
        self._responders.setdefault(subject, []).append(handler)
        return _Unserve(self, subject, handler)

    def deployments(self) -> MemoryDeployments:
        return self._deployments

    async def close(self) -> None:
        return None


class MemoryDeployments:
    """The deployed registry with the same rules as `RedisDeployments` (host clock)."""

    def __init__(self) -> None:
        # member -> (expiry, boot, since, advertisement), times in ms
        self._live: dict[str, tuple[int, str, int, str]] = {}

    async def advertise(self, member: str, ttl_ms: int, boot: str, document: str) -> None:
        now = int(time.time() * 1000)
        old = self._live.get(member)
        since = old[2] if old is not None and old[1] == boot and old[0] > now else now
        self._live[member] = (now + ttl_ms, boot, since, document)

    async def withdraw(self, member: str, boot: str) -> None:
        old = self._live.get(member)
        if old is not None and old[1] == boot:
            del self._live[member]

    async def live(self) -> tuple[int, list[dict[str, Any]]]:
        now = int(time.time() * 1000)
        out = []
        for expiry, _boot, since, document in self._live.values():
            if expiry > now:
                doc = orjson.loads(document)
                doc["since_ms"] = since
                doc["expires_in_s"] = (expiry - now) / 1000
                out.append(doc)
        return now, out


class _Unserve:
    def __init__(self, transport: MemoryTransport, subject: str, handler: ReplyHandler) -> None:
        self._transport, self._subject, self._handler = transport, subject, handler

    async def close(self) -> None:
        handlers = self._transport._responders.get(self._subject, [])
        if self._handler in handlers:
            handlers.remove(self._handler)


@dataclass(slots=True)
class _Lease:
    owner: str = ""
    epoch: int = 0
    expires: float = 0.0


class MemoryMembership:
    """Members and partition leases, with the same rules as `RedisMembership`."""

    def __init__(self, transport: MemoryTransport, group: str) -> None:
        self._t = transport
        self.group = group

    def _lease(self, partition: str) -> _Lease:
        return self._t.leases.setdefault((partition, self.group), _Lease())

    async def heartbeat(
        self, member: str, ttl_ms: int, info: Mapping[str, str]
    ) -> dict[str, frozenset[str]]:
        now = time.monotonic()
        members = self._t.members.setdefault(self.group, {})
        members[member] = now + ttl_ms / 1000
        for name in [m for m, until in members.items() if until <= now]:
            del members[name]
            self._t.member_info.pop((self.group, name), None)
        self._t.member_info[(self.group, member)] = dict(info)
        out: dict[str, frozenset[str]] = {}
        for name in sorted(members):
            streams = self._t.member_info.get((self.group, name), {}).get("streams", "")
            out[name] = frozenset(s for s in streams.split(",") if s)
        return out

    async def leave(self, member: str) -> None:
        self._t.members.get(self.group, {}).pop(member, None)
        self._t.member_info.pop((self.group, member), None)

    async def acquire(self, partition: str, member: str, ttl_ms: int) -> int | None:
        lease, now = self._lease(partition), time.monotonic()
        if lease.owner and lease.owner != member and lease.expires > now:
            return None
        lease.owner, lease.epoch, lease.expires = member, lease.epoch + 1, now + ttl_ms / 1000
        return lease.epoch

    async def renew(self, leases: Mapping[str, int], member: str, ttl_ms: int) -> set[str]:
        held: set[str] = set()
        now = time.monotonic()
        for partition, token in leases.items():
            lease = self._lease(partition)
            if lease.owner == member and lease.epoch == token:
                lease.expires = now + ttl_ms / 1000
                held.add(partition)
        return held

    async def release(self, partition: str, member: str, token: int) -> None:
        lease = self._lease(partition)
        if lease.owner == member and lease.epoch == token:
            lease.owner, lease.expires = "", 0.0

    def holds(self, partition: str, member: str, token: Any) -> bool:
        lease = self._t.leases.get((partition, self.group))
        return lease is not None and lease.owner == member and lease.epoch == token


class MemorySource:
    """A coordinated source, like Redis: it reads only partitions assigned to it under a
    lease, takes a partition's whole pending list over when it gets it, reads its own
    history first, and every read, ack and redelivery checks the lease."""

    def __init__(
        self,
        transport: MemoryTransport,
        group: str,
        consumer: str,
        destinations: tuple[str, ...],
        settings: ConsumerSettings,
    ) -> None:
        self._t = transport
        self._group = group
        self._consumer = consumer
        self.partitions = destinations
        self._settings = settings
        self._m = MemoryMembership(transport, group)
        self.membership = self._m
        self._tokens: dict[str, int] = {}
        self._history: set[str] = set()  # assigned partitions whose own pending is unread
        self._held: set[tuple[str, str]] = set()
        self._woken = False

    async def open(self) -> None:
        for d in self.partitions:
            self._t.log(d).groups.setdefault(self._group, _Group())

    def assign(self, partition: str, token: int) -> None:
        self._tokens[partition] = token
        g = self._t.log(partition).groups.setdefault(self._group, _Group())
        for p in g.pending.values():  # the whole pending list is ours now
            p.consumer = self._consumer
        self._history.add(partition)

    def unassign(self, partition: str) -> None:
        self._tokens.pop(partition, None)
        self._history.discard(partition)
        self._held = {h for h in self._held if h[0] != partition}

    def release(self, entries: Sequence[Inbound]) -> None:
        for i in entries:
            self._held.discard((i.destination, i.message_id))
            if i.destination in self._tokens:
                self._history.add(i.destination)

    def wake(self) -> None:
        self._woken = True
        self._t.wake_readers()

    def _inbound(self, destination: str, entry_id: str, deliveries: int) -> Inbound:
        fields = self._t.logs[destination].entries[entry_id]
        self._held.add((destination, entry_id))
        size = sum(len(k) + len(v) for k, v in fields.items())
        if size > self._settings.max_entry_bytes:
            stub = bounded_stand_in(fields, size)
            item = Inbound(destination, entry_id, deliveries, None, oversized_error(size), stub)
            item.oversized = True
            item.token = self._tokens.get(destination)
            return item
        try:
            envelope: Envelope | None = Envelope.from_fields(fields)
            error = None
        except MalformedEnvelope as exc:
            envelope, error = None, str(exc)
        item = Inbound(destination, entry_id, deliveries, envelope, error, fields)
        item.token = self._tokens.get(destination)
        mode = self._settings.dedupe
        if envelope is not None and (
            mode == "always" or (mode == "redelivered" and deliveries > 1)
        ):
            item.completed = envelope.id in self._t.completed.get(self._group, set())
        return item

    def _take(self, max_count: int, full: Set[str]) -> list[Inbound]:
        out: list[Inbound] = []
        clock = time.monotonic()
        readable = [d for d in self._tokens if d not in full]
        for d in [p for p in readable if p in self._history]:
            if not self._m.holds(d, self._consumer, self._tokens[d]):
                continue
            self._history.discard(d)
            for entry_id, p in self._t.log(d).groups[self._group].pending.items():
                if p.consumer == self._consumer and (d, entry_id) not in self._held:
                    p.deliveries += 1
                    p.delivered_at = clock
                    out.append(self._inbound(d, entry_id, p.deliveries))
        if out:
            return out
        for d in readable:
            if not self._m.holds(d, self._consumer, self._tokens[d]):
                continue  # fenced: the next renewal reports it lost
            log = self._t.log(d)
            g = log.groups[self._group]
            while g.next_index < len(log.ids) and len(out) < max_count:
                entry_id = log.ids[g.next_index]
                g.next_index += 1
                if entry_id not in log.entries:  # trimmed / deleted
                    continue
                g.pending[entry_id] = _Pending(self._consumer, 1, clock)
                out.append(self._inbound(d, entry_id, 1))
        return out

    async def fetch(
        self, max_count: int, block_ms: int, full: Set[str] = frozenset()
    ) -> list[Inbound]:
        out = self._take(max_count, full)
        if out or block_ms <= 0:
            return out
        self._woken = False
        cond = self._t.arrived
        async with cond:
            try:
                await asyncio.wait_for(cond.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        return self._take(max_count, full)

    async def settle(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> Settled:
        fenced: set[str] = set()
        completed = self._t.completed.setdefault(self._group, set())
        for i in done:
            if not self._m.holds(i.destination, self._consumer, i.token):
                fenced.add(i.destination)
                continue
            self._held.discard((i.destination, i.message_id))
            g = self._t.log(i.destination).groups[self._group]
            if g.pending.pop(i.message_id, None) is None:
                continue  # already acked elsewhere: the effects ran there
            if i.envelope is not None:
                if i.envelope.id in completed:
                    continue
                completed.add(i.envelope.id)
            self._t.effects.extend(i.effects)
        for d in dead:
            i = d.inbound
            if not self._m.holds(i.destination, self._consumer, i.token):
                fenced.add(i.destination)
                continue
            self._held.discard((i.destination, i.message_id))
            fields = dead_letter_entry(d, self._group, max_bytes=self._settings.max_entry_bytes)
            self._t.dead_letters.setdefault(C.dead_letter_stream(i.destination), []).append(fields)
            self._t.log(i.destination).groups[self._group].pending.pop(i.message_id, None)
        for partition in fenced:
            if self._tokens.get(partition) is not None and not self._m.holds(
                partition, self._consumer, self._tokens[partition]
            ):
                self.unassign(partition)
        return Settled(fenced)

    async def redeliver(self, inbound: Inbound) -> bool:
        if not self._m.holds(inbound.destination, self._consumer, inbound.token):
            return False
        g = self._t.log(inbound.destination).groups[self._group]
        p = g.pending.get(inbound.message_id)
        if p is not None:
            p.deliveries += 1
            p.delivered_at = time.monotonic()
            p.consumer = self._consumer
            inbound.attempts = p.deliveries
        else:
            inbound.attempts += 1
        return True

    async def close(self) -> None:
        return None

"""An in-memory transport that behaves like the real ones, for fast handler tests.

It emulates what the consumer engine relies on from Redis Streams: an append-only log per
destination, consumer groups created at the start of the log, a pending-entries list with
per-entry delivery counts and idle times, the consumer's own history served first after a
"restart", reclaim of entries idle past the visibility timeout, idempotency markers,
dead-letter destinations with the original fields, and request/reply with no-responder and
timeout errors. The conformance suite runs against it and the real transports alike.

Entries are stored in their wire form (stream fields as bytes) so malformed entries can be
injected with `append_raw` exactly as they could be written to Redis by a foreign producer.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runtime import constants as C
from runtime.deadletter import dead_letter_fields
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.errors import NoRespondersError, RequestTimeoutError
from runtime.settings import ConsumerSettings
from runtime.transport import (
    Capability,
    Closer,
    DeadLetter,
    Inbound,
    Outbound,
    RedisCommand,
    ReplyHandler,
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
        self._arrived = asyncio.Condition()

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
        async with self._arrived:
            self._arrived.notify_all()

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

    async def close(self) -> None:
        return None


class _Unserve:
    def __init__(self, transport: MemoryTransport, subject: str, handler: ReplyHandler) -> None:
        self._transport, self._subject, self._handler = transport, subject, handler

    async def close(self) -> None:
        handlers = self._transport._responders.get(self._subject, [])
        if self._handler in handlers:
            handlers.remove(self._handler)


class MemorySource:
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
        self._destinations = destinations
        self._settings = settings
        self._history_read = False
        self._last_reclaim = 0.0

    async def open(self) -> None:
        for d in self._destinations:
            self._t.log(d).groups.setdefault(self._group, _Group())

    def _inbound(self, destination: str, entry_id: str, deliveries: int) -> Inbound:
        fields = self._t.logs[destination].entries[entry_id]
        try:
            envelope: Envelope | None = Envelope.from_fields(fields)
            error = None
        except MalformedEnvelope as exc:
            envelope, error = None, str(exc)
        return Inbound(destination, entry_id, deliveries, envelope, error, fields)

    def _take(self, max_count: int) -> list[Inbound]:
        out: list[Inbound] = []
        clock = time.monotonic()
        if not self._history_read:
            # After a restart a consumer first re-reads what it held but never acked.
            self._history_read = True
            for d in self._destinations:
                for entry_id, p in self._t.log(d).groups[self._group].pending.items():
                    if p.consumer == self._consumer:
                        p.deliveries += 1
                        p.delivered_at = clock
                        out.append(self._inbound(d, entry_id, p.deliveries))
            if out:
                return out
        if clock - self._last_reclaim >= self._settings.reclaim_interval_ms / 1000:
            self._last_reclaim = clock
            idle = self._settings.visibility_timeout_ms / 1000
            for d in self._destinations:
                for entry_id, p in self._t.log(d).groups[self._group].pending.items():
                    if p.consumer != self._consumer and clock - p.delivered_at >= idle:
                        p.consumer, p.deliveries, p.delivered_at = (
                            self._consumer,
                            p.deliveries + 1,
                            clock,
                        )
                        out.append(self._inbound(d, entry_id, p.deliveries))
                        if len(out) >= max_count:
                            return out
        for d in self._destinations:
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

    async def fetch(self, max_count: int, block_ms: int) -> list[Inbound]:
        out = self._take(max_count)
        if out or block_ms <= 0:
            return out
        cond = self._t._arrived
        async with cond:
            try:
                await asyncio.wait_for(cond.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        return self._take(max_count)

    async def completed(self, batch: Sequence[Inbound]) -> list[bool]:
        done = self._t.completed.get(self._group, set())
        return [i.envelope is not None and i.envelope.id in done for i in batch]

    async def settle(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> None:
        completed = self._t.completed.setdefault(self._group, set())
        for i in done:
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
            fields = dict(i.raw or {})
            fields.update(_encode(dead_letter_fields(d, self._group)))
            self._t.dead_letters.setdefault(C.dead_letter_stream(i.destination), []).append(fields)
            self._t.log(i.destination).groups[self._group].pending.pop(i.message_id, None)

    async def redeliver(self, inbound: Inbound) -> None:
        g = self._t.log(inbound.destination).groups[self._group]
        p = g.pending.get(inbound.message_id)
        if p is not None:
            p.deliveries += 1
            p.delivered_at = time.monotonic()
            inbound.attempts = p.deliveries
        else:
            inbound.attempts += 1

    async def close(self) -> None:
        return None

"""Consuming NATS subjects as one member of a service's group: the `Source` the engine pulls.

Core subjects are joined as a queue group named after the service, so instances share
the messages (at-most-once: core NATS has no acks or redelivery). JetStream subjects are
read through a durable pull consumer named after the service: messages are acked after
the handler, redelivered after the visibility timeout if the process dies, and counted
(`attempts` is the server's delivery count).

Both kinds land in one bounded local queue that `fetch` drains, so the engine sees one
stream of messages whatever mix of subjects a service reads. While a JetStream message is
held (fetched, being handled or parked for a retry) the source tells the server it is
still in progress, so a slow or retrying handler does not get its message redelivered to
another instance; only a dead process lets the visibility timeout expire.

Completed event ids are remembered in memory (bounded), so a redelivery to the same
process does not rerun a handler. Staged effects are not available on NATS: `ctx.stage()`
raises there (every inbound carries the shared `NO_EFFECTS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js import api as js_api

from runtime.backoff import Backoff
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.settings import ConsumerSettings
from runtime.transport import DeadLetter, Inbound, NoEffects, Settled

from .connection import flush_in_order
from .jetstream import JetStreamSubject, StreamKeeper, consumer_name

log = logging.getLogger("schemabus.nats")

#: Shared by every inbound: NATS cannot commit effects with its ack, so staging raises.
NO_EFFECTS = NoEffects("NATS")

#: How long one pull request waits on the server before the loop asks again.
PULL_WAIT_S = 1.0
#: Completed event ids remembered per source for deduplication.
REMEMBERED_EVENTS = 100_000
#: Unacked JetStream messages the server lets one durable consumer have out at once.
MIN_MAX_ACK_PENDING = 1000

#: A queued message and, for JetStream messages, the subject config it came through.
Queued = tuple[Msg | None, JetStreamSubject | None]
_WAKE: Queued = (None, None)


class _Recent:
    """A bounded set of recently completed event ids (oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids


@dataclass(frozen=True, slots=True)
class SourceLink:
    """The part of the transport a source uses: the connection, JetStream, which subjects
    JetStream keeps (and their streams), and where dead letters go."""

    nc: Client
    js: JetStreamContext
    streams: StreamKeeper
    jetstream: Mapping[str, JetStreamSubject]
    dead_letter: Callable[[DeadLetter, str], Awaitable[None]]


class NatsSource:
    def __init__(
        self,
        transport: SourceLink,
        group: str,
        consumer: str,
        destinations: tuple[str, ...],
        settings: ConsumerSettings,
    ) -> None:
        self._t = transport
        self._group = group
        self._consumer = consumer
        self._settings = settings
        # Uncoordinated: NATS queue groups and JetStream consumers share out the messages;
        # there are no partitions to lease.
        self.partitions = destinations
        self.membership = None
        self._core = [d for d in destinations if d not in transport.jetstream]
        self._js = [transport.jetstream[d] for d in destinations if d in transport.jetstream]
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(maxsize=max(2 * settings.batch, 64))
        self._subs: list[Subscription] = []
        self._pulls: list[JetStreamContext.PullSubscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        # JetStream messages fetched and not yet settled, by (subject, stream sequence);
        # the value is the latest delivery, whose reply subject the ack goes to.
        self._held: dict[tuple[str, str], Msg] = {}
        self._seq = itertools.count(1)
        self._recent = _Recent(REMEMBERED_EVENTS)
        self._opened = False
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def opened(self) -> bool:
        """True once the subscriptions are on the server (publishes now reach this source)."""
        return self._opened

    async def open(self) -> None:
        if self._opened:
            return
        nc = self._t.nc
        try:
            for subject in self._core:
                self._subs.append(await nc.subscribe(subject, queue=self._group, cb=self._on_core))
            pulls = [(await self._pull_subscribe(config), config) for config in self._js]
            # The server has the subscriptions once the PONG is back: a publish made
            # after open() returns is delivered to this source.
            await flush_in_order(nc)
        except BaseException:
            # The engine retries open() on connection errors: leave nothing half-made
            # behind, or the retry would subscribe twice.
            await self._unsubscribe()
            raise
        for pull, config in pulls:
            self._tasks.append(
                asyncio.create_task(
                    self._pull_loop(pull, config), name=f"nats-pull-{config.stream}"
                )
            )
        if self._js:
            self._tasks.append(asyncio.create_task(self._keep_alive(), name="nats-in-progress"))
        self._opened = True

    async def _unsubscribe(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        for pull in self._pulls:
            with contextlib.suppress(Exception):
                await pull.unsubscribe()
        self._subs.clear()
        self._pulls.clear()

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._unsubscribe()
        # Give back what this process will not handle (queued, parked): the server
        # redelivers it now to another instance instead of after the visibility timeout.
        for msg in list(self._held.values()):
            with contextlib.suppress(Exception):
                await msg.nak()
        self._held.clear()
        with contextlib.suppress(Exception):
            await self._t.nc.flush(timeout=2)

    # --- delivery -----------------------------------------------------------------------

    async def _on_core(self, msg: Msg) -> None:
        # Awaiting a full queue holds nats-py's per-subscription buffer, which drops
        # beyond its limits and reports a slow consumer: core NATS semantics.
        await self._queue.put((msg, None))

    async def _pull_subscribe(self, config: JetStreamSubject) -> JetStreamContext.PullSubscription:
        await self._t.streams.ensure(config)
        ack_wait_s = self._settings.visibility_timeout_ms / 1000
        pull = await self._t.js.pull_subscribe(
            config.subject,
            durable=consumer_name(self._group),
            stream=config.stream,
            config=js_api.ConsumerConfig(
                ack_policy=js_api.AckPolicy.EXPLICIT,
                deliver_policy=js_api.DeliverPolicy.ALL,
                ack_wait=ack_wait_s,
                # The engine dead-letters after the catalog's max deliveries; the server
                # must not silently stop redelivering first.
                max_deliver=-1,
                max_ack_pending=max(MIN_MAX_ACK_PENDING, 10 * self._settings.batch),
            ),
        )
        self._pulls.append(pull)
        return pull

    async def _pull_loop(
        self, pull: JetStreamContext.PullSubscription, config: JetStreamSubject
    ) -> None:
        backoff = Backoff()
        while not self._closing:
            room = self._queue.maxsize - self._queue.qsize()
            want = max(1, min(self._settings.batch, room))
            try:
                msgs = await pull.fetch(want, timeout=PULL_WAIT_S)
            except TimeoutError:  # nats.errors.TimeoutError included: nothing new yet
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing or self._t.nc.is_closed:
                    return  # a closed connection never comes back
                # The consumer or stream vanished (deleted, server lost its store) or
                # the connection is down: back off, then recreate and carry on.
                delay = backoff.next()
                log.warning(
                    "pull from %s failed (%s); retrying in %.2fs", config.stream, exc, delay
                )
                await asyncio.sleep(delay)
                self._t.streams.forget(config)
                with contextlib.suppress(Exception):
                    fresh = await self._pull_subscribe(config)
                    with contextlib.suppress(Exception):
                        await pull.unsubscribe()
                    self._pulls.remove(pull)
                    pull = fresh
                continue
            backoff.reset()
            for msg in msgs:
                key = (msg.subject, str(msg.metadata.sequence.stream))
                if key in self._held:
                    # Redelivered while still held here (after a server restart, say):
                    # keep the newest delivery for the ack, do not hand it out twice.
                    self._held[key] = msg
                    continue
                self._held[key] = msg
                await self._queue.put((msg, config))

    async def _keep_alive(self) -> None:
        interval = max(0.05, self._settings.visibility_timeout_ms / 3000)
        while True:
            await asyncio.sleep(interval)
            for msg in list(self._held.values()):
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    def _inbound(self, msg: Msg, config: JetStreamSubject | None) -> Inbound:
        if config is not None:
            meta = msg.metadata
            message_id = str(meta.sequence.stream)
            attempts = meta.num_delivered
        else:
            message_id = str(next(self._seq))
            attempts = 1
        try:
            envelope: Envelope | None = Envelope.from_headers(msg.headers, msg.data)
            error = None
        except MalformedEnvelope as exc:
            envelope, error = None, str(exc)
        return Inbound(msg.subject, message_id, attempts, envelope, error, None, msg, NO_EFFECTS)

    def assign(self, partition: str, token: int) -> None:
        return None

    def unassign(self, partition: str) -> None:
        return None

    def release(self, entries: Sequence[Inbound]) -> None:
        # No longer kept in progress: the server redelivers them after the ack wait.
        for i in entries:
            self._held.pop((i.destination, i.message_id), None)

    def wake(self) -> None:
        # An empty placeholder ends a blocking fetch at once (stop, more room).
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_WAKE)

    async def fetch(
        self, max_count: int, block_ms: int, full: Set[str] = frozenset()
    ) -> list[Inbound]:
        queue = self._queue
        items: list[Queued] = []
        if queue.empty():
            if block_ms <= 0:
                return []
            try:
                items.append(await asyncio.wait_for(queue.get(), block_ms / 1000))
            except TimeoutError:
                return []
        while len(items) < max_count and not queue.empty():
            items.append(queue.get_nowait())
        out = [self._inbound(msg, config) for msg, config in items if msg is not None]
        mode = self._settings.dedupe
        if mode != "off":
            recent = self._recent
            for i in out:
                if i.envelope is not None and (mode == "always" or i.attempts > 1):
                    i.completed = i.envelope.id in recent
        return out

    # --- settling -----------------------------------------------------------------------

    async def settle(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> Settled:
        try:
            for inbound in done:
                if inbound.envelope is not None:
                    self._recent.add(inbound.envelope.id)
                await self._ack(inbound)
            for letter in dead:
                await self._t.dead_letter(letter, self._group)
                await self._ack(letter.inbound)
        except (nats.errors.ConnectionClosedError, nats.errors.OutboundBufferLimitError) as exc:
            # A ConnectionError makes the engine retry the settle once NATS is back.
            raise ConnectionError(f"NATS unavailable while settling: {exc}") from exc
        return Settled()

    async def _ack(self, inbound: Inbound) -> None:
        msg = self._held.pop((inbound.destination, inbound.message_id), None)
        if msg is None:
            return  # core NATS message, or already settled
        with contextlib.suppress(nats.errors.MsgAlreadyAckdError):
            await msg.ack()

    async def redeliver(self, inbound: Inbound) -> bool:
        # The engine retries locally; the server's count only grows on real redelivery,
        # so count here (a crash during retries restarts from the server's count).
        inbound.attempts += 1
        msg = self._held.get((inbound.destination, inbound.message_id))
        if msg is not None:
            with contextlib.suppress(Exception):
                await msg.in_progress()
        return True

"""The consumer engine: reads a `Source`, runs handlers in per-aggregate lanes, settles.

Transport-neutral, so the in-memory bus and every real transport share the semantics.
It assembles one small part per concern:

* `runtime.ownership`  which partitions this member owns (coordinated sources only);
* the read loop here   reads owned partitions that have room, hands entries to lanes;
* `runtime.lanes`      per-aggregate order, keys in parallel, no batch barrier;
* `runtime.parking`    a failed entry parks its aggregate until its backoff is due;
* `runtime.deadlines`  a hanging handler is cancelled after `handler_timeout_ms`;
* `runtime.settler`    acks, marks, effects and dead letters, batched, one call in flight.

Undeliverable entries (malformed, oversized, unknown, unreadable) are dead-lettered at once
with their reason: retrying cannot help them. Entries the group already completed (seen
when they were read, or completed lately by this consumer) are acked without running the
handler again. Per partition at most `max_inflight` entries are read and not yet settled,
which bounds what one hanging aggregate can hold back.

`stop()` stops reading; running handlers finish and are settled, entries still queued
behind them stay pending (the partition's next owner, or this consumer after a restart,
reads them first). Partitions are handed off before the member leaves its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from runtime import constants as C
from runtime.backoff import Backoff, delay_s
from runtime.deadlines import Deadlines
from runtime.errors import Undeliverable
from runtime.lanes import Lanes
from runtime.logs import event_fields
from runtime.ownership import Ownership
from runtime.parking import Parking
from runtime.settings import ConsumerSettings
from runtime.settler import TRANSIENT, Settler
from runtime.spec import RetryPolicy
from runtime.transport import DeadLetter, Inbound, Settled, Source

log = logging.getLogger("schemabus.consumer")

#: How many completed event ids a consumer remembers locally, in reads.
RECENT_BATCHES = 20

LaneKey = tuple[str, str]  # (partition, aggregate id or entry id)


class EffectFailed(Exception):
    """Redis refused a staged effect of the event (a wrong command or key); its entry is
    dead-lettered as `effect_failed`."""


class Processor(Protocol):
    """What the engine needs from dispatch."""

    def ordering_key(self, inbound: Inbound) -> str | None: ...

    def retry_policy(self, inbound: Inbound) -> RetryPolicy: ...

    def process(self, inbound: Inbound) -> Awaitable[None]:
        """The handling of one entry, to await. Raise `Undeliverable` (from the call or
        the await) to dead-letter it now; any other exception is a handler failure and is
        retried."""


class Consumer:
    """Run with `await consumer.run()` or `consumer.start()`; stop with `stop()`.

    Counters (`handled`, `skipped`, `dead_lettered`, `retries`) are plain ints so a
    benchmark can read them without overhead.
    """

    def __init__(
        self,
        source: Source,
        processor: Processor,
        settings: ConsumerSettings,
        *,
        name: str = "consumer",
        member: str = "consumer",
        info: dict[str, str] | None = None,
    ) -> None:
        self.source = source
        self.processor = processor
        self.settings = settings
        self.name = name
        self.handled = 0
        self.skipped = 0
        self.dead_lettered = 0
        self.retries = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._opened = False
        self.deadlines = Deadlines(settings.handler_timeout_ms)
        self.lanes: Lanes[LaneKey, Inbound] = Lanes(
            self._run_lane, settings.concurrency, on_suspend=self.deadlines.on_suspend
        )
        self.parking: Parking[LaneKey, Inbound] = Parking(self._retry_due)
        self.settler = Settler(source, self._settled, self._stopping)
        self._retrying: set[asyncio.Task[None]] = set()
        #: entries read and not yet settled or dropped, per partition
        self.inflight: dict[str, int] = {}
        self._room = asyncio.Event()
        # Ids of events this consumer completed lately (acked or not yet), oldest first,
        # with the fencing token they completed under (None for uncoordinated sources) and
        # their staged effects. A redelivery is skipped only under the same token (one
        # completed under a lease since lost was refused (fenced) with its effects, and
        # must run again), and is settled with the same effects.
        self._recent: dict[str, tuple[Any, list[Any]]] = {}
        self._leased = source.membership is not None
        self.ownership: Ownership | None = None
        if source.membership is not None:
            self.ownership = Ownership(
                source.membership, member, source.partitions, settings, self, info=info
            )
        self._assigned: set[str] = set() if self.ownership else set(source.partitions)

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"schemabus-{self.name}")
        return self._task

    def stop(self) -> None:
        self._stopping.set()
        self.source.wake()

    async def wait_closed(self) -> None:
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        """Stop, finish the handlers in flight, settle, hand partitions off, close."""
        self.stop()
        await self.wait_closed()

    @property
    def parked(self) -> int:
        return len(self.parking)

    async def open(self) -> None:
        if self._opened:
            return
        backoff = Backoff()
        while True:
            try:
                await self.source.open()
                break
            except TRANSIENT as exc:
                if self._stopping.is_set():
                    raise
                log.warning("%s: broker unavailable (%s); retrying", self.name, exc)
                await backoff.sleep()
        self._opened = True

    async def run(self) -> None:
        keeper: asyncio.Task[None] | None = None
        # The lease keeper outlives the read loop: it renews the leases (and the
        # heartbeat) until the last running handlers are settled.
        keeper_done = asyncio.Event()
        try:
            await self.open()
            if self.ownership is not None:
                keeper = asyncio.create_task(self.ownership.run(keeper_done))
            backoff = Backoff()
            while not self._stopping.is_set():
                try:
                    await self.read_once(self.settings.block_ms)
                    backoff.reset()
                except TRANSIENT as exc:
                    log.warning("%s: read failed (%s); retrying", self.name, exc)
                    await backoff.sleep()
            if self.ownership is not None:
                self.ownership.begin_leaving()
            await self._finish()
            if keeper is not None:
                keeper_done.set()
                await keeper
                keeper = None
            if self.ownership is not None:
                await self.ownership.leave()
        finally:
            # Only left behind when run() itself was cancelled or failed: what they hold
            # stays pending and is redelivered.
            if keeper is not None:
                keeper.cancel()
            self.lanes.cancel()
            self.settler.cancel()
            for task in self._retrying:
                task.cancel()
            self.parking.clear()
            await self.source.close()

    async def _finish(self) -> None:
        """Graceful end: drop what waits (it stays pending), let running handlers end."""
        for inbound in [*self.lanes.drop(_every), *self.parking.drop(_every)]:
            self._forget(inbound)
        await self.lanes.join()
        await self.settler.join()

    # --- reading --------------------------------------------------------------------

    def _readable(self) -> set[str]:
        owned = self.ownership.readable() if self.ownership else self._assigned
        limit = self.settings.max_inflight
        inflight = self.inflight
        return {p for p in owned if inflight.get(p, 0) < limit}

    async def read_once(self, block_ms: int) -> int:
        """Read what the owned partitions with room have (waiting up to `block_ms`) and
        hand it to the lanes. Returns the entries read."""
        readable = self._readable()
        if not readable:
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), block_ms / 1000)
            return 0
        full = self._assigned - readable
        batch = await self.source.fetch(self.settings.batch, block_ms, full)
        if not batch:
            return 0
        inflight = self.inflight
        ordering_key = self.processor.ordering_key
        lanes, parking = self.lanes, self.parking
        recent = self._recent
        leased = self._leased
        mode = self.settings.dedupe
        for inbound in batch:
            partition = inbound.destination
            if partition not in self._assigned:
                continue  # read just before the partition was handed off: it stays pending
            inflight[partition] = inflight.get(partition, 0) + 1
            env = inbound.envelope
            if inbound.completed:  # the server holds its mark, so its effects too
                self.skipped += 1
                self.settler.done(inbound)
                continue
            seen = recent.get(env.id) if env is not None else None
            if (
                seen is not None
                and seen[0] == (inbound.token if leased else None)
                and (mode == "always" or (mode == "redelivered" and inbound.attempts > 1))
            ):
                # Completed lately here, so the handler is not run again; but that settle
                # may not have stuck (a failover that lost the primary's last writes takes
                # the ack, the mark and the effects, not the lease). The effects go again:
                # the mark applies them once whichever settle lands.
                if seen[1]:
                    inbound.effects.extend(seen[1])
                self.skipped += 1
                self.settler.done(inbound)
                continue
            key = (partition, ordering_key(inbound) or inbound.message_id)
            if parking.push(key, inbound) or lanes.push(key, inbound):
                continue
            queue = deque((inbound,))
            if not lanes.try_start(key, queue):
                await lanes.start(key, queue)  # every slot busy: wait for one
        return len(batch)

    # --- handling -------------------------------------------------------------------

    async def _run_lane(self, key: LaneKey, queue: deque[Inbound]) -> None:
        process = self.processor.process
        settler = self.settler
        recent, recent_cap = self._recent, RECENT_BATCHES * self.settings.batch
        leased = self._leased
        deadlines = self.deadlines
        while queue:
            inbound = queue[0]
            try:
                await process(inbound)
            except Undeliverable as exc:
                queue.popleft()
                self._dead_letter(inbound, exc.reason, exc)
                continue
            except asyncio.CancelledError:
                timeout = deadlines.expired()
                if timeout is None:
                    raise  # a real cancellation (shutdown): the entries stay pending
                if self._fail(key, queue, timeout):
                    continue
                return
            except Exception as exc:
                if self._fail(key, queue, exc):
                    continue
                return
            queue.popleft()
            if deadlines.armed:
                deadlines.rearm()
            self.handled += 1
            settler.done(inbound)
            env = inbound.envelope
            if env is not None:
                recent[env.id] = (inbound.token if leased else None, inbound.effects)
                if len(recent) > recent_cap:
                    del recent[next(iter(recent))]

    def _fail(self, key: LaneKey, queue: deque[Inbound], exc: Exception) -> bool:
        """The head of `queue` failed: dead-letter it (True: the lane goes on) or park the
        queue for a retry (False: the lane stops here)."""
        inbound = queue[0]
        inbound.effects.clear()
        policy = self.processor.retry_policy(inbound)
        if inbound.attempts >= policy.max_deliveries:
            log.error(
                "%s: giving up on %s %s after %d attempts: %r",
                self.name,
                inbound.destination,
                inbound.message_id,
                inbound.attempts,
                exc,
                extra=event_fields(inbound),
            )
            queue.popleft()
            self._dead_letter(inbound, C.REASON_HANDLER_FAILED, exc)
            return True
        self.parking.park(key, deque(queue), delay_s(policy, inbound.attempts))
        queue.clear()
        log.warning(
            "%s: handler failed for %s %s (attempt %d), will retry: %r",
            self.name,
            inbound.destination,
            inbound.message_id,
            inbound.attempts,
            exc,
            extra=event_fields(inbound),
        )
        return False

    def _retry_due(self, key: LaneKey, queue: deque[Inbound]) -> None:
        task = asyncio.get_running_loop().create_task(self._retry(key, queue))
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    async def _retry(self, key: LaneKey, queue: deque[Inbound]) -> None:
        try:
            still_owned = await self.source.redeliver(queue[0])
        except TRANSIENT:
            self.parking.delay(key, 0.5)
            return
        resumed = self.parking.resume(key)
        if resumed is None:
            return  # dropped meanwhile (the partition was handed off or lost)
        if not still_owned:
            for inbound in resumed:
                self._forget(inbound)
            return
        self.retries += 1
        # Still no await between unparking and registering the lane: an entry read now
        # for this key joins the queue instead of overtaking it.
        await self.lanes.start(key, resumed)

    def _dead_letter(self, inbound: Inbound, reason: str, exc: BaseException) -> None:
        self.dead_lettered += 1
        log.error(
            "%s: dead-lettered %s %s (%s): %s: %s",
            self.name,
            inbound.destination,
            inbound.message_id,
            reason,
            type(exc).__name__,
            exc,
            extra={**event_fields(inbound), "reason": reason},
        )
        self.settler.dead(DeadLetter(inbound, reason, type(exc).__name__, str(exc)))

    # --- settling and in-flight accounting ---------------------------------------------

    def _settled(
        self, done: Sequence[Inbound], dead: Sequence[DeadLetter], result: Settled | None
    ) -> None:
        if result is None:  # nothing was settled: they stay pending, to be read again
            self.source.release([*done, *(d.inbound for d in dead)])
            for inbound in done:
                self._unremember(inbound)
            result = Settled()
        failed = {id(i): error for i, error in result.failed}
        for inbound in done:
            error = failed.get(id(inbound))
            if error is None:
                self._forget(inbound)
            else:
                # Its effects were refused by Redis (a wrong command): retrying cannot
                # help, so it is dead-lettered now (it stays in flight until then).
                self._unremember(inbound)
                self.handled -= 1
                self._dead_letter(inbound, C.REASON_EFFECT_FAILED, EffectFailed(error))
        for letter in dead:
            self._forget(letter.inbound)
        for partition in result.fenced:
            if partition in self._assigned and self.ownership is not None:
                log.warning("%s: %s was fenced (another member owns it)", self.name, partition)
                self.ownership.lose(partition)

    def _unremember(self, inbound: Inbound) -> None:
        """`inbound` was not completed after all: a redelivery must run its handler."""
        env = inbound.envelope
        if env is not None:
            self._recent.pop(env.id, None)

    def _forget(self, inbound: Inbound) -> None:
        """`inbound` is settled or dropped: it no longer counts against its partition."""
        partition = inbound.destination
        left = self.inflight.get(partition, 0) - 1
        if left > 0:
            self.inflight[partition] = left
        else:
            self.inflight.pop(partition, None)
        self._room.set()  # wakes the reader (room) and hand-offs waiting for zero

    # --- ownership events (runtime.ownership.Engine) ------------------------------------

    def acquired(self, partition: str, token: int) -> None:
        self._assigned.add(partition)
        self.source.assign(partition, token)
        self._room.set()
        self.source.wake()

    async def revoke(self, partition: str) -> None:
        self.source.unassign(partition)
        self._drop(partition)
        while self.inflight.get(partition, 0) > 0:
            self._room.clear()
            await self._room.wait()
        self._assigned.discard(partition)

    def lost(self, partition: str) -> None:
        self.source.unassign(partition)
        self._assigned.discard(partition)
        self._drop(partition)

    def _drop(self, partition: str) -> None:
        def mine(key: LaneKey) -> bool:
            return key[0] == partition

        for inbound in [*self.lanes.drop(mine), *self.parking.drop(mine)]:
            self._forget(inbound)


def _every(key: Any) -> bool:
    return True


async def drain(consumer: Consumer, *, idle_reads: int = 2) -> None:
    """Handle everything available (retries included), then return: for tests of handlers
    on the in-memory bus. Acquires the partitions first when the source is coordinated."""
    await consumer.open()
    if consumer.ownership is not None:
        consumer.ownership.rejoin()
        for _ in range(3):
            await consumer.ownership.tick()
            if consumer.ownership.settled:
                break
    idle = 0
    loop = asyncio.get_running_loop()
    while True:
        seen = await consumer.read_once(0)
        await consumer.lanes.join()
        await consumer.settler.join()
        due = consumer.parking.next_due()
        if seen or due is not None or consumer._retrying:
            idle = 0
            if not seen and due is not None:
                await asyncio.sleep(max(0.0, due - loop.time()))
            if consumer._retrying:
                await asyncio.gather(*consumer._retrying, return_exceptions=True)
            continue
        idle += 1
        if idle >= idle_reads:
            break
    await consumer.settler.join()

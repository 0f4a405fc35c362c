"""The consumer engine: pulls batches from a `Source`, runs handlers, settles outcomes.

Transport-neutral, so the in-memory bus and every real transport share the semantics:

* Per-aggregate ordering with bounded concurrency: a batch is split into lanes by ordering
  key (the aggregate id); lanes run in parallel on at most `concurrency` workers, entries
  of one lane strictly in order.
* Retry without head-of-line blocking: a failed entry *parks* its aggregate. Later entries
  of that aggregate queue behind it (still unacked), other aggregates keep flowing. When
  its backoff (exponential, with jitter) is due, the source records another delivery and
  the lane resumes. After `max_deliveries` the entry is dead-lettered and the lane moves on.
* Undeliverable entries (malformed, oversized, unknown, unreadable) are dead-lettered at
  once with their reason: retrying cannot help them.
* Acks, idempotency marks, staged effects and dead letters of a batch are settled in one
  call (one round trip on Redis), in the background while the next batch runs. Entries
  this group already completed (looked up before handling, and remembered locally for
  the last batches) are acked without running the handler.
* `stop()` stops reading; the batch in flight finishes and is settled before `run` returns.
  Parked entries stay unacked and are redelivered after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from runtime import constants as C
from runtime.errors import Undeliverable
from runtime.lanes import run_lanes
from runtime.logs import event_fields
from runtime.settings import ConsumerSettings
from runtime.spec import RetryPolicy
from runtime.transport import DeadLetter, Inbound, Source

log = logging.getLogger("schemabus.consumer")

#: Broker failures the engine waits out (transports raise `BrokerUnavailable`, a
#: ConnectionError, for these).
TRANSIENT = (ConnectionError, OSError, TimeoutError)

#: How many completed event ids a consumer remembers locally, in batches.
RECENT_BATCHES = 20


class HandlerTimeout(Exception):
    """A handler ran longer than `ConsumerSettings.handler_timeout_ms`; it was cancelled
    and counts as a failed attempt."""


class Processor(Protocol):
    """What the engine needs from dispatch."""

    def ordering_key(self, inbound: Inbound) -> str | None: ...

    def retry_policy(self, inbound: Inbound) -> RetryPolicy: ...

    async def process(self, inbound: Inbound) -> None:
        """Handle one entry. Raise `Undeliverable` to dead-letter it now; any other
        exception is a handler failure and is retried."""


def backoff_s(policy: RetryPolicy, attempts: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries of
    many entries that failed together do not hammer a recovering dependency in step."""
    exponent = min(max(attempts - 1, 0), 30)
    full: float = min(policy.backoff_max_ms, policy.backoff_ms * (1 << exponent)) / 1000.0
    return full / 2 + random.random() * full / 2


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
        # aggregate key -> entries waiting (head = the one to retry), and the head's due time
        self._parked: dict[str, deque[Inbound]] = {}
        self._due: dict[str, float] = {}
        self._done: list[Inbound] = []
        self._dead: list[DeadLetter] = []
        self._opened = False
        #: Read the next batch while handling this one (off in `drain`, for determinism).
        self.prefetch = True
        self._prefetch: asyncio.Task[list[Inbound]] | None = None
        self._settling: asyncio.Task[None] | None = None
        # Ids of events this consumer completed lately (acked or not yet), oldest first.
        self._recent: dict[str, None] = {}
        self._timers: dict[asyncio.Task[Any], asyncio.TimerHandle] = {}
        self._expired: set[asyncio.Task[Any]] = set()

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"schemabus-{self.name}")
        return self._task

    def stop(self) -> None:
        self._stopping.set()

    async def wait_closed(self) -> None:
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        """Stop, finish the batch in flight, settle it, close the source."""
        self.stop()
        await self.wait_closed()

    @property
    def parked(self) -> int:
        return sum(len(q) for q in self._parked.values())

    async def run(self) -> None:
        try:
            await self._with_retry(self.source.open)
            self._opened = True
            while not self._stopping.is_set():
                await self.step()
            while self._prefetch is not None:  # finish what was already read
                await self.step()
            await self._settle()
        finally:
            # Only left behind when run() itself was cancelled or failed: what they hold
            # stays pending and is redelivered.
            for task in (self._prefetch, self._settling):
                if task is not None and not task.done():
                    task.cancel()
            self._prefetch = self._settling = None
            await self.source.close()

    async def _with_retry(self, op: Callable[[], Awaitable[None]]) -> None:
        delay = 0.05
        while True:
            try:
                await op()
                return
            except TRANSIENT as exc:
                if self._stopping.is_set():
                    raise
                log.warning("%s: broker unavailable (%s); retrying in %.2fs", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # --- one iteration --------------------------------------------------------------

    async def step(self) -> int:
        """Fetch one batch (plus due retries), handle it, and settle the previous one.

        Per batch: the next read is already in flight (prefetch), the idempotency lookup
        is one MGET, and the previous batch's settle (ack + marks + effects) runs in the
        background while this batch is handled. Returns entries seen.
        """
        fetch = self._prefetch
        self._prefetch = None
        if fetch is None:
            hurry = bool(self._done or self._dead)  # do not hold acks back while idle
            batch = await self._fetch(0 if hurry else self._block_ms())
        else:
            if (self._done or self._dead) and not fetch.done():
                await self._settle_later()  # the read blocks: ack now, not after it returns
            batch = await fetch
        if self.prefetch and not self._stopping.is_set():
            # Read the next batch while this one is checked, handled and settled.
            self._prefetch = asyncio.create_task(self._fetch(self._block_ms()))
        seen = await self._settle_and_check(batch)
        lanes = await self._lanes(batch, seen)
        if lanes:
            await run_lanes(
                lanes, self._run_lane, self.settings.concurrency, on_suspend=self._on_suspend
            )
        return len(batch)

    def _block_ms(self) -> int:
        if not self._due:
            return self.settings.block_ms
        wait = min(self._due.values()) - time.monotonic()
        return max(0, min(self.settings.block_ms, int(wait * 1000)))

    async def _fetch(self, block_ms: int) -> list[Inbound]:
        try:
            return await self.source.fetch(self.settings.batch, block_ms)
        except TRANSIENT as exc:
            log.warning("%s: fetch failed (%s); retrying", self.name, exc)
            await asyncio.sleep(0.2)
            return []

    async def _settle_and_check(self, batch: list[Inbound]) -> set[int]:
        """Start settling what is done; return `id()`s of `batch` entries already completed."""
        mode = self.settings.dedupe
        if mode == "always":
            check = batch
        elif mode == "redelivered":
            check = [i for i in batch if i.attempts > 1]
        else:
            check = []
        if not check:
            await self._settle_later()
            return set()
        # Events this consumer completed lately are caught locally (their marks may still
        # be on their way to Redis); only the rest are looked up. The previous batch is
        # settled after that lookup, in the background, so its Lua call (the SET NX marks)
        # runs on the server while this batch is handled instead of before it.
        recent = self._recent
        seen = {id(i) for i in check if i.envelope is not None and i.envelope.id in recent}
        if seen:
            check = [i for i in check if id(i) not in seen]
        if check:
            flags = await self._completed(check)
            seen.update(id(i) for i, f in zip(check, flags, strict=True) if f)
        await self._settle_later()
        return seen

    async def _completed(self, check: list[Inbound]) -> Sequence[bool]:
        try:
            return await self.source.completed(check)
        except TRANSIENT:
            return [False] * len(check)  # staged effects stay exactly-once regardless

    async def _lanes(self, batch: list[Inbound], seen: set[int]) -> list[list[Inbound]]:
        if seen:
            fresh = []
            for inbound in batch:
                if id(inbound) in seen:
                    self.skipped += 1
                    self._done.append(inbound)
                else:
                    fresh.append(inbound)
            batch = fresh
        lanes: dict[str, list[Inbound]] = {}
        # Due retries go first, in their parked order, ahead of new entries of the same key.
        if self._due:
            clock = time.monotonic()
            for key in [k for k, due in self._due.items() if due <= clock]:
                del self._due[key]
                queue = self._parked.pop(key)
                head = queue[0]
                try:
                    await self.source.redeliver(head)
                except TRANSIENT:
                    self._parked[key] = queue
                    self._due[key] = clock + 0.5
                    continue
                self.retries += 1
                lanes[key] = list(queue)
        ordering_key = self.processor.ordering_key
        parked = self._parked
        for inbound in batch:
            key = ordering_key(inbound) or inbound.message_id
            if key in parked:
                parked[key].append(inbound)
                continue
            lane = lanes.get(key)
            if lane is None:
                lanes[key] = [inbound]
            else:
                lane.append(inbound)
        return list(lanes.values())

    async def _run_lane(self, lane: list[Inbound]) -> None:
        process = self.processor.process
        done = self._done
        recent, recent_cap = self._recent, RECENT_BATCHES * self.settings.batch
        timers = self._timers
        for index, inbound in enumerate(lane):
            try:
                await process(inbound)
            except Undeliverable as exc:
                self._dead_letter(inbound, exc.reason, exc)
                continue
            except asyncio.CancelledError:
                timeout = self._expired_timeout()
                if timeout is None:
                    raise  # a real cancellation (shutdown): the entries stay pending
                failure = HandlerTimeout(f"handler did not finish within {timeout:g}s")
                if self._fail(lane, index, inbound, failure):
                    continue
                return
            except Exception as exc:
                if self._fail(lane, index, inbound, exc):
                    continue
                return
            if timers:
                self._rearm()
            self.handled += 1
            done.append(inbound)
            env = inbound.envelope
            if env is not None:
                recent[env.id] = None
                if len(recent) > recent_cap:
                    del recent[next(iter(recent))]

    def _fail(self, lane: list[Inbound], index: int, inbound: Inbound, exc: Exception) -> bool:
        """A handler failed: dead-letter it (True: the lane goes on) or park the rest of
        the lane for a retry (False: the lane stops here)."""
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
            self._dead_letter(inbound, C.REASON_HANDLER_FAILED, exc)
            return True
        key = self.processor.ordering_key(inbound) or inbound.message_id
        self._parked[key] = deque(lane[index:])
        self._due[key] = time.monotonic() + backoff_s(policy, inbound.attempts)
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

    # --- handler timeouts: only lanes that actually wait get a timer ---------------------

    def _on_suspend(self, task: asyncio.Task[Any]) -> None:
        timeout = self.settings.handler_timeout_ms / 1000
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._timers[task] = loop.call_later(timeout, self._expire, task)
            task.add_done_callback(self._disarm)

    def _rearm(self) -> None:
        """Each entry of a waiting lane gets the full timeout."""
        task = asyncio.current_task()
        handle = self._timers.get(task) if task is not None else None
        if task is not None and handle is not None:
            handle.cancel()
            loop = asyncio.get_running_loop()
            timeout = self.settings.handler_timeout_ms / 1000
            self._timers[task] = loop.call_later(timeout, self._expire, task)

    def _disarm(self, task: asyncio.Task[Any]) -> None:
        handle = self._timers.pop(task, None)
        if handle is not None:
            handle.cancel()
        self._expired.discard(task)

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._expired.add(task)
        task.cancel()

    def _expired_timeout(self) -> float | None:
        """The timeout, if it is what cancelled the current task (which is un-cancelled)."""
        task = asyncio.current_task()
        if task is None or task not in self._expired:
            return None
        self._expired.discard(task)
        task.uncancel()
        self._rearm()
        return self.settings.handler_timeout_ms / 1000

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
        self._dead.append(DeadLetter(inbound, reason, type(exc).__name__, str(exc)))

    async def _join_settling(self) -> None:
        task, self._settling = self._settling, None
        if task is not None:
            await task

    async def _settle_later(self) -> None:
        """Settle in the background while the next batch is handled (one in flight)."""
        await self._join_settling()
        if self._done or self._dead:
            done, dead = self._done, self._dead
            self._done, self._dead = [], []
            self._settling = asyncio.create_task(self._settle_now(done, dead))

    async def _settle(self) -> None:
        await self._join_settling()
        done, dead = self._done, self._dead
        if not done and not dead:
            return
        self._done, self._dead = [], []
        await self._settle_now(done, dead)

    async def _settle_now(self, done: list[Inbound], dead: list[DeadLetter]) -> None:
        delay = 0.05
        while True:
            try:
                await self.source.settle(done, dead)
                return
            except TRANSIENT as exc:
                # The handlers ran; keep trying to ack. If we gave up, the entries would be
                # redelivered and (effects being atomic with the ack) simply run again.
                if self._stopping.is_set() and delay >= 2.0:
                    log.error("%s: could not settle %d entries: %s", self.name, len(done), exc)
                    return
                log.warning("%s: settle failed (%s); retrying in %.2fs", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


async def drain(consumer: Consumer, *, idle_steps: int = 2) -> None:
    """Run `consumer` step by step until it saw nothing for `idle_steps` fetches and holds
    no parked entries: handy in tests of handlers on the in-memory bus."""
    if not consumer._opened:
        await consumer.source.open()
        consumer._opened = True
    consumer.prefetch = False
    idle = 0
    while idle < idle_steps or consumer._parked or consumer._prefetch is not None:
        seen = await consumer.step()
        idle = 0 if seen or consumer._parked else idle + 1
    await consumer._settle()


def summary(consumers: Sequence[Consumer]) -> dict[str, int]:
    return {
        "handled": sum(c.handled for c in consumers),
        "skipped": sum(c.skipped for c in consumers),
        "dead_lettered": sum(c.dead_lettered for c in consumers),
        "retries": sum(c.retries for c in consumers),
    }

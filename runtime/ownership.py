"""Partition ownership: each partition of a group is owned by exactly one live member.

Every `heartbeat_ms` a member refreshes its heartbeat (which returns the live members),
computes the assignment (`runtime.assignment`, the same on every member), renews the
leases it holds and then moves towards its target:

* a partition it holds but should not (a member joined, or this one is leaving) is handed
  off: the engine stops reading it, finishes the entries of it in flight and settles them,
  and only then is the lease released, so the next owner starts where this one stopped.
  Until then the lease is renewed as usual, however long the last handlers take (a
  leaving member keeps its heartbeat and leases alive until its work is settled);
* a partition it should hold is acquired as soon as its lease is free: released by the
  previous owner, or expired (the owner died). Acquiring bumps the lease's fencing token;
  the engine then claims the partition's whole pending list and handles it first;
* a lease found taken by someone else (this member was paused or cut off for longer than
  the TTL) is lost: the engine drops the partition's queued work at once, and whatever
  was still running is refused by the broker when it tries to settle.

A member also stops reading a partition on its own once its last successful renewal is
older than 90 % of the TTL (the broker would fence it anyway; stopping early keeps a cut-
off member from starting work that someone else is about to redo).

Timing: with the defaults (heartbeat 1 s, TTL 3 s) a killed member's partitions are taken
over after 3-4 s; a graceful leave or a join hands off within about a heartbeat plus the
time the in-flight handlers need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from runtime.assignment import owned_by
from runtime.partitioning import split_partition
from runtime.settings import ConsumerSettings
from runtime.transport import Membership

log = logging.getLogger("schemabus.ownership")

#: While a wanted partition is still held by its previous owner (it is finishing its
#: in-flight work), ask again this often instead of waiting a whole heartbeat.
EAGER_RETRY_S = 0.1


class Engine(Protocol):
    """What ownership needs from the consumer engine."""

    def acquired(self, partition: str, token: int) -> None: ...

    async def revoke(self, partition: str) -> None:
        """Stop reading `partition` and return once its in-flight entries are settled."""

    def lost(self, partition: str) -> None: ...


class Ownership:
    def __init__(
        self,
        membership: Membership,
        member: str,
        partitions: Sequence[str],
        settings: ConsumerSettings,
        engine: Engine,
        *,
        info: Mapping[str, str] | None = None,
    ) -> None:
        self._m = membership
        self.member = member
        self.partitions = tuple(sorted(partitions))
        self._ttl_ms = settings.lease_ttl_ms
        self._heartbeat_s = settings.heartbeat_ms / 1000
        self._engine = engine
        self._by_stream: dict[str, list[str]] = {}
        for p in self.partitions:
            self._by_stream.setdefault(split_partition(p)[0], []).append(p)
        # Members advertise the streams they read, so a partition only ever goes to a
        # member that reads its stream (replicas of different versions may read more).
        # A leaving member advertises none (see begin_leaving).
        self._info = dict(info or {})
        self._streams = ",".join(sorted(self._by_stream))
        #: partition -> fencing token, for the leases this member holds
        self.tokens: dict[str, int] = {}
        self._valid_until: dict[str, float] = {}
        self._handoffs: dict[str, asyncio.Task[None]] = {}
        self.members: list[str] = []
        self.target: set[str] = set()
        self.changes = 0  # acquisitions + releases + losses (a metric)
        self.takeover_s: list[float] = []  # lease wait of partitions taken from a dead owner
        self._wanted_since: dict[str, float] = {}
        self._leaving = False

    # --- what the engine asks -----------------------------------------------------------

    def readable(self) -> set[str]:
        """Held partitions this member may read right now (lease recently renewed, not
        being handed off)."""
        now = time.monotonic()
        return {
            p for p, until in self._valid_until.items() if until > now and p not in self._handoffs
        }

    @property
    def settled(self) -> bool:
        """True when this member holds exactly its target and no hand-off is running.
        Never before the first heartbeat: until then the target is unknown, not empty."""
        return bool(self.members) and set(self.tokens) == self.target and not self._handoffs

    # --- the loop -----------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Tick until `stopping` is set (then `leave()` is up to the caller)."""
        while not stopping.is_set():
            try:
                await self.tick()
            except (ConnectionError, OSError, TimeoutError) as exc:
                log.warning("%s: heartbeat failed (%s); retrying", self.member, exc)
            except Exception:
                # Never let the lease keeper die silently: the partitions would be lost
                # without the engine knowing. Log and try again next heartbeat.
                log.exception("%s: heartbeat failed unexpectedly; retrying", self.member)
            wait = self._heartbeat_s
            if self.target - set(self.tokens) - set(self._handoffs):
                wait = min(wait, EAGER_RETRY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)

    async def tick(self) -> None:
        sent = time.monotonic()
        streams = "" if self._leaving else self._streams
        live = await self._m.heartbeat(
            self.member, self._ttl_ms, {**self._info, "streams": streams}
        )
        live[self.member] = frozenset(self._by_stream)  # our own heartbeat is always live
        self.members = sorted(live)
        self.target = set() if self._leaving else self._assignment(live)
        await self._renew(sent)
        for partition in sorted(set(self.tokens) - self.target):
            if partition not in self._handoffs:
                self._handoffs[partition] = asyncio.create_task(self._hand_off(partition))
        for partition in sorted(self.target - set(self.tokens)):
            await self._acquire(partition)

    def _assignment(self, live: Mapping[str, frozenset[str]]) -> set[str]:
        """The partitions this member should own: per stream, among the members that
        read it."""
        target: set[str] = set()
        for stream, partitions in self._by_stream.items():
            readers = [m for m, streams in live.items() if stream in streams]
            target.update(owned_by(self.member, partitions, readers))
        return target

    async def _renew(self, sent: float) -> None:
        if not self.tokens:
            return
        held = await self._m.renew(dict(self.tokens), self.member, self._ttl_ms)
        valid = sent + 0.9 * self._ttl_ms / 1000
        for partition in list(self.tokens):
            if partition in held:
                self._valid_until[partition] = valid
            else:
                self.lose(partition)

    async def _acquire(self, partition: str) -> None:
        sent = time.monotonic()
        self._wanted_since.setdefault(partition, sent)
        token = await self._m.acquire(partition, self.member, self._ttl_ms)
        if token is None:
            return
        waited = sent - self._wanted_since.pop(partition, sent)
        if waited > 0:
            self.takeover_s.append(waited)
        self.tokens[partition] = token
        self._valid_until[partition] = sent + 0.9 * self._ttl_ms / 1000
        self.changes += 1
        log.info("%s: owns %s (fencing token %d)", self.member, partition, token)
        self._engine.acquired(partition, token)

    def lose(self, partition: str) -> None:
        """The broker refused this member's token for `partition`."""
        if partition not in self.tokens:
            return
        self.tokens.pop(partition, None)
        self._valid_until.pop(partition, None)
        self.changes += 1
        log.warning("%s: lost %s to another member", self.member, partition)
        self._engine.lost(partition)

    async def _hand_off(self, partition: str) -> None:
        try:
            await self._engine.revoke(partition)
            token = self.tokens.pop(partition, None)
            self._valid_until.pop(partition, None)
            if token is not None:
                try:
                    await self._m.release(partition, self.member, token)
                except (ConnectionError, OSError, TimeoutError) as exc:
                    # The lease then simply expires; the next owner waits for that.
                    log.warning("%s: could not release %s (%s)", self.member, partition, exc)
                self.changes += 1
                log.info("%s: handed off %s", self.member, partition)
        finally:
            self._handoffs.pop(partition, None)

    def rejoin(self) -> None:
        """Take part again after `leave()` (a consumer driven step by step in tests)."""
        self._leaving = False

    def begin_leaving(self) -> None:
        """Take no more partitions and hand off the held ones as their in-flight work is
        settled. Keep calling `run()` (or call `leave()`) meanwhile: the leases and the
        heartbeat must stay alive while the last handlers finish, however long they take,
        or another member would take their entries over and run them a second time.

        The heartbeat now advertises no streams, so the other members count this one out
        at once and pick each partition up as soon as it is released."""
        self._leaving = True
        self.target = set()
        for partition in list(self.tokens):
            if partition not in self._handoffs:
                self._handoffs[partition] = asyncio.create_task(self._hand_off(partition))

    async def leave(self, timeout_s: float = 30.0) -> None:
        """Hand every partition off (finishing in-flight work) and leave the group."""
        self.begin_leaving()
        handoffs = list(self._handoffs.values())
        if handoffs:
            # Keep the leases alive while the hand-offs finish.
            keeper = asyncio.create_task(self._keep_renewing())
            try:
                await asyncio.wait(handoffs, timeout=timeout_s)
            finally:
                keeper.cancel()
        try:
            await self._m.leave(self.member)
        except (ConnectionError, OSError, TimeoutError) as exc:
            log.warning("%s: could not leave the group cleanly (%s)", self.member, exc)

    async def _keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                await self._renew(time.monotonic())

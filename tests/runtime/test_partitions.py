"""Partitions owned by one member each: the same cases on the in-memory bus and real Redis.

Members here are consumers in one process sharing a transport; the real multi-process
cases (SIGKILL, SIGSTOP, Redis restarts) are in test_scaleout_faults.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import orjson

from runtime.context import HandlerContext
from runtime.partitioning import colocated_key, partition_keys, partition_of
from runtime.service import ServiceRunner
from runtime.spec import Context
from runtime.transport import Inbound, Outbound, Settled
from tests.runtime.harness import FAST, Harness, lease_all
from tests.runtime.models import (
    ORDER_V2_P4,
    PAYMENT_P4,
    REGISTRY_P4,
    OrderCreatedV2,
    PaymentProcessedV1,
)
from tests.runtime.test_conformance import Recorder, eventually, wiring

KEYS = partition_keys("orders", 4)


async def _member(harness: Harness, name: str, handler: Any, **kw: Any) -> ServiceRunner:
    bus = harness.bus(REGISTRY_P4, "payment")
    runner = bus.service(wiring("payment", (ORDER_V2_P4, handler)), consumer_name=name, **kw)
    await runner.start()
    return runner


def _owned(runner: ServiceRunner) -> set[str]:
    ownership = runner.consumers[0].ownership
    assert ownership is not None
    return set(ownership.tokens)


async def _settled(*runners: ServiceRunner) -> None:
    """Wait until the members agree and each holds exactly its share."""

    def done() -> bool:
        owned = [_owned(r) for r in runners]
        every = [p for o in owned for p in o]
        return sorted(every) == KEYS and all(
            r.consumers[0].ownership is not None and r.consumers[0].ownership.settled
            for r in runners
        )

    await eventually(done, timeout=20)


class Tracker:
    """Records who handled what, and any aggregate handled by two members at once."""

    def __init__(self) -> None:
        self.active: dict[str, str] = {}
        self.overlaps: list[str] = []
        self.seen: dict[str, list[int]] = defaultdict(list)
        self.by: dict[str, set[str]] = defaultdict(set)

    def handler(self, member: str, delay: float = 0.0) -> Any:
        async def handle(event: OrderCreatedV2, ctx: Context) -> None:
            agg = event.order_id
            if agg in self.active and self.active[agg] != member:
                self.overlaps.append(f"{agg}: {self.active[agg]} and {member}")
            self.active[agg] = member
            try:
                if delay:
                    await asyncio.sleep(delay)
                self.seen[agg].append(event.total)
                self.by[agg].add(member)
            finally:
                if self.active.get(agg) == member:
                    del self.active[agg]

        return handle

    def assert_in_order(self, n: int) -> None:
        totals = [t for ts in self.seen.values() for t in ts]
        assert sorted(totals) == list(range(n)), "lost or duplicated"
        for agg, ts in self.seen.items():
            assert ts == sorted(ts), f"{agg} out of order: {ts}"
        assert self.overlaps == []


async def test_publish_many_routes_by_aggregate_in_one_call(
    partitioned_harness: Harness,
) -> None:
    harness = partitioned_harness
    calls: list[list[Outbound]] = []
    publish = harness.durable.publish

    async def counting(batch: Any) -> None:
        calls.append(list(batch))
        await publish(batch)

    harness.durable.publish = counting  # type: ignore[method-assign]
    bus = harness.bus(REGISTRY_P4, "producer")
    events = [OrderCreatedV2(order_id=f"o{i % 50}", total=i) for i in range(200)]
    await bus.publish_many(events)
    assert len(calls) == 1 and len(calls[0]) == 200  # every partition in one call
    for p, key in enumerate(KEYS):
        rows = await harness.entries(key)
        aggs = {orjson.loads(r[b"data"])["order_id"] for r in rows}
        assert aggs and all(partition_of(a, 4) == p for a in aggs), key
    assert sum([len(await harness.entries(k)) for k in KEYS]) == 200


async def test_members_split_the_partitions_and_each_aggregate_has_one_owner(
    partitioned_harness: Harness,
) -> None:
    harness = partitioned_harness
    track = Tracker()
    a = await _member(harness, "m1", track.handler("m1"))
    b = await _member(harness, "m2", track.handler("m2"))
    await _settled(a, b)
    assert len(_owned(a)) == len(_owned(b)) == 2
    bus = harness.bus(REGISTRY_P4, "producer")
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i % 40}", total=i) for i in range(400)])
    await eventually(lambda: a.handled + b.handled == 400)
    await a.stop()
    await b.stop()
    track.assert_in_order(400)
    assert all(len(members) == 1 for members in track.by.values())
    assert a.handled > 0 and b.handled > 0


async def test_join_and_leave_hand_off_without_overlap_or_reordering(
    partitioned_harness: Harness,
) -> None:
    harness = partitioned_harness
    track = Tracker()
    bus = harness.bus(REGISTRY_P4, "producer")
    a = await _member(harness, "m1", track.handler("m1", 0.002))
    await _settled(a)
    n = 0
    for _ in range(4):
        await bus.publish_many(
            [OrderCreatedV2(order_id=f"o{i % 30}", total=n + i) for i in range(50)]
        )
        n += 50
        await asyncio.sleep(0.05)
    b = await _member(harness, "m2", track.handler("m2", 0.002))  # joins mid-stream
    for _ in range(4):
        await bus.publish_many(
            [OrderCreatedV2(order_id=f"o{i % 30}", total=n + i) for i in range(50)]
        )
        n += 50
        await asyncio.sleep(0.05)
    await _settled(a, b)
    await b.stop()  # leaves gracefully: its partitions go back to m1
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i % 30}", total=n + i) for i in range(50)])
    n += 50
    await eventually(lambda: sum(len(t) for t in track.seen.values()) == n, timeout=30)
    await eventually(lambda: sorted(_owned(a)) == KEYS)
    await a.stop()
    track.assert_in_order(n)
    assert b.handled > 0  # m2 really took partitions over while it was there
    for key in KEYS:
        assert await harness.pending(key, "payment") == 0


async def test_graceful_leave_keeps_its_leases_until_slow_handlers_are_settled(
    partitioned_harness: Harness,
) -> None:
    """A member stopping while its handlers run longer than the lease TTL keeps its
    heartbeat and leases alive until they are settled: no other member picks those entries
    up meanwhile, so each is handled once, by one member at a time."""
    harness = partitioned_harness
    track = Tracker()
    a = await _member(harness, "m1", track.handler("m1"))
    slow = FAST.lease_ttl_ms * 1.5 / 1000  # longer than a lease lives unrenewed
    b = await _member(harness, "m2", track.handler("m2", slow))
    await _settled(a, b)
    theirs = {KEYS.index(k) for k in _owned(b)}
    aggs = [a_ for a_ in (f"o{i}" for i in range(200)) if partition_of(a_, 4) in theirs][:4]
    bus = harness.bus(REGISTRY_P4, "producer")
    await bus.publish_many([OrderCreatedV2(order_id=agg, total=i) for i, agg in enumerate(aggs)])
    await eventually(lambda: len(track.active) == len(aggs))  # all running on m2
    await b.stop()  # waits for them; m1 must not take them over meanwhile
    await eventually(lambda: sorted(_owned(a)) == KEYS)
    await a.stop()
    track.assert_in_order(len(aggs))
    assert all(track.by[agg] == {"m2"} for agg in aggs)
    for key in KEYS:
        assert await harness.pending(key, "payment") == 0


async def test_stale_owner_is_fenced(partitioned_harness: Harness) -> None:
    harness = partitioned_harness
    bus = harness.bus(REGISTRY_P4, "producer")
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(40)])
    settings = FAST
    stale = harness.durable.source("payment", "stale", KEYS, settings)
    await stale.open()
    await lease_all(stale, "stale", ttl_ms=100)
    got: list[Inbound] = []
    while len(got) < 40:
        got += await stale.fetch(100, 50)
    for inbound in got:
        ledger = colocated_key(inbound.destination, "ledger")
        inbound.effects.append(("HINCRBY", ledger, "stale", 1))
    await asyncio.sleep(0.15)  # its leases expire...
    fresh = harness.durable.source("payment", "fresh", KEYS, settings)
    await fresh.open()
    await lease_all(fresh, "fresh")  # ...and another member takes them (new tokens)
    # The stale member cannot acknowledge, stage, redeliver or read anything now.
    assert (await stale.settle(got, [])).fenced == set(KEYS)
    assert await stale.redeliver(got[0]) is False
    await bus.publish(OrderCreatedV2(order_id="late", total=99))
    assert await stale.fetch(100, 50) == []
    assert await harness.ledger("ledger") == {}
    assert sum([await harness.pending(k, "payment") for k in KEYS]) == 40
    # The new owner takes the whole pending list over and finishes it.
    redone: list[Inbound] = []
    while len(redone) < 41:
        redone += await fresh.fetch(100, 50)
    assert Counter(i.attempts for i in redone) == Counter({2: 40, 1: 1})
    assert await fresh.settle(redone, []) == Settled()
    assert sum([await harness.pending(k, "payment") for k in KEYS]) == 0


async def test_takeover_handles_the_dead_owners_pending_first_in_order(
    partitioned_harness: Harness,
) -> None:
    harness = partitioned_harness
    bus = harness.bus(REGISTRY_P4, "producer")
    await bus.publish_many([OrderCreatedV2(order_id="A", total=i) for i in range(3)])
    ghost = harness.durable.source("payment", "ghost", KEYS, FAST)
    await ghost.open()
    await lease_all(ghost, "ghost", ttl_ms=200)
    held: list[Inbound] = []
    while len(held) < 3:
        held += await ghost.fetch(10, 50)
    await harness.kill(ghost)  # dies holding A's first three events
    await bus.publish_many([OrderCreatedV2(order_id="A", total=i) for i in range(3, 6)])
    order: list[tuple[int, int]] = []

    async def handle(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        order.append((event.total, ctx.attempts))

    runner = await _member(harness, "survivor", handle)
    await eventually(lambda: len(order) == 6)
    await runner.stop()
    assert order == [(0, 2), (1, 2), (2, 2), (3, 1), (4, 1), (5, 1)]


async def test_a_partition_only_goes_to_members_that_read_its_stream(
    partitioned_harness: Harness,
) -> None:
    """Replicas of two builds of one service (the newer one also reads `payments`): the
    older build must never be given a `payments` partition it would not read."""
    harness = partitioned_harness
    orders = Recorder()
    payments: list[Any] = []

    async def on_payment(event: Any, ctx: Context) -> None:
        payments.append(event)

    old_bus = harness.bus(REGISTRY_P4, "payment")
    old = old_bus.service(wiring("payment", (ORDER_V2_P4, orders)), consumer_name="old")
    new_bus = harness.bus(REGISTRY_P4, "payment")
    new = new_bus.service(
        wiring("payment", (ORDER_V2_P4, orders), (PAYMENT_P4, on_payment)),
        consumer_name="new",
    )
    await old.start()
    await new.start()
    payment_keys = partition_keys("payments", 4)

    def settled() -> bool:
        old_own = _owned(old)
        new_own = set().union(*(c.ownership.tokens for c in new.consumers if c.ownership))
        return (
            len(old_own) == 2
            and set(payment_keys) <= new_own
            and len(new_own - set(payment_keys)) == 2
        )

    await eventually(settled, timeout=20)
    bus = harness.bus(REGISTRY_P4, "producer")
    await bus.publish_many([PaymentProcessedV1(order_id=f"o{i}") for i in range(20)])
    await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(20)])
    await eventually(lambda: len(payments) == 20 and len(orders.events) == 20)
    await old.stop()
    await new.stop()

"""Fencing and partition semantics, in one process, on the in-memory bus and real Redis.

A member that lost a partition's lease (another member acquired it, bumping the fencing
token) can neither read, acknowledge, redeliver, claim nor stage anything in it, and the
new owner redoes its work with effects applied exactly once. A hanging handler holds back
only its own aggregate: the rest of its partition keeps being read and handled.
(tests/runtime/test_scaleout_faults.py does the same with real processes and signals.)
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from runtime.consumer import drain
from runtime.context import HandlerContext
from runtime.partitioning import colocated_key, partition_of
from runtime.spec import Context, ServiceWiring, Subscription
from runtime.transport import Inbound, Settled
from tests.runtime.harness import FAST, Harness, ledger_key
from tests.runtime.models import ORDER_V2_P4, PARTITIONED, PARTITIONS, OrderCreatedV2

PARTS = ORDER_V2_P4.partition_keys()


async def _fetch(source: Any, n: int) -> list[Inbound]:
    got: list[Inbound] = []
    for _ in range(100):
        got += await source.fetch(10, 100)
        if len(got) >= n:
            break
    return got


async def test_stale_source_is_refused_everything_after_a_takeover(
    leases_harness: Harness,
) -> None:
    h = leases_harness
    bus = h.bus(PARTITIONED, "p")
    partition = ORDER_V2_P4.route("a")
    stale = h.durable.source("s", "stale", PARTS, FAST)
    fresh = h.durable.source("s", "fresh", PARTS, FAST)
    await stale.open()
    await fresh.open()
    assert stale.membership is not None and fresh.membership is not None
    old = await stale.membership.acquire(partition, "stale", 100)
    assert old is not None
    stale.assign(partition, old)
    await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(3)])
    got = await _fetch(stale, 3)
    assert [i.attempts for i in got] == [1, 1, 1]

    assert await fresh.membership.acquire(partition, "fresh", 60_000) is None  # still held
    await asyncio.sleep(0.2)  # the stale member's lease expires unrenewed
    new = await fresh.membership.acquire(partition, "fresh", 60_000)
    assert new is not None and new > old
    await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in (3, 4)])

    # The stale member, still believing it owns the partition: every step is refused.
    assert await stale.fetch(10, 0) == []
    for i in got:
        assert i.envelope is not None
        i.effects.append(("HINCRBY", colocated_key(i.destination, "ledger"), i.envelope.id, 1))
    assert (await stale.settle(got, [])).fenced == {partition}
    assert await stale.redeliver(got[0]) is False
    stale.assign(partition, old)  # a confused member re-assigning its old token
    assert await stale.fetch(10, 0) == []
    assert await stale.membership.renew({partition: old}, "stale", 60_000) == set()
    assert await h.ledger("ledger") == {}

    # The new owner gets all of it: the stale member's entries first, then the new ones.
    fresh.assign(partition, new)
    seen = await _fetch(fresh, 5)
    totals = [_total(i) for i in seen]
    assert totals == [0, 1, 2, 3, 4]
    assert [i.attempts for i in seen] == [2, 2, 2, 1, 1]
    for i in seen:
        assert i.envelope is not None
        i.effects.append(("HINCRBY", colocated_key(i.destination, "ledger"), i.envelope.id, 1))
    assert await fresh.settle(seen, []) == Settled()
    assert sorted((await h.ledger("ledger")).values()) == [1] * 5
    await stale.close()
    await fresh.close()


def _total(inbound: Inbound) -> int:
    assert inbound.envelope is not None
    return int(OrderCreatedV2.model_validate_json(inbound.envelope.data).total)


async def test_work_done_under_a_lost_lease_is_redone_with_its_effects(
    leases_harness: Harness,
) -> None:
    """Regression: the consumer remembered an event whose ack was refused (fenced) as
    completed, and when it got the partition back it acked the redelivery unhandled, so
    the event's staged effects were never applied."""
    h = leases_harness
    ttl_ms = 300
    settings = replace(FAST, lease_ttl_ms=ttl_ms, heartbeat_ms=100)
    partition = ORDER_V2_P4.route("a")
    intruder = h.durable.source("s", "intruder", PARTS, settings)
    await intruder.open()
    assert intruder.membership is not None
    runs: list[int] = []
    stolen: list[int] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext) and intruder.membership is not None
        runs.append(ctx.attempts)
        if len(runs) == 1:
            # Paused past its lease, meanwhile another member took the partition over.
            await asyncio.sleep(1.5 * ttl_ms / 1000)
            token = await intruder.membership.acquire(partition, "intruder", 60_000)
            assert token is not None
            stolen.append(token)
        ctx.stage("HINCRBY", ledger_key(ctx), ctx.event_id, 1)

    bus = h.bus(PARTITIONED, "s", consumer=settings)
    wiring = ServiceWiring("s", (Subscription(ORDER_V2_P4, handler),))
    runner = bus.service(wiring, consumer_name="m", settings=settings)
    (consumer,) = runner.consumers
    event_id = await h.bus(PARTITIONED, "p").publish(OrderCreatedV2(order_id="a", total=1))
    await drain(consumer)
    assert runs == [1] and stolen
    assert await h.ledger("ledger") == {}  # its ack and effects were refused

    await intruder.membership.release(partition, "intruder", stolen[0])
    await drain(consumer)  # takes the partition back under a new token
    assert runs == [1, 2], "the refused work must be redone, not acked unhandled"
    assert await h.ledger("ledger") == {event_id: 1}
    await intruder.close()


async def test_hanging_handler_holds_back_only_its_own_aggregate(leases_harness: Harness) -> None:
    """One aggregate's handler hangs (no timeout). Every other aggregate of the same
    partition, including events published after the hang began (so read later), is
    handled while it hangs; its own later events wait, then follow in order."""
    h = leases_harness
    hang = "hang"
    p = partition_of(hang, PARTITIONS)
    names = (f"o{i}" for i in range(10_000))
    same = [a for a in names if partition_of(a, PARTITIONS) == p][:30]
    release = asyncio.Event()
    started = asyncio.Event()
    done: list[tuple[str, int]] = []
    handled_while_hung: list[bool] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        if event.order_id == hang and event.total == 0:
            started.set()
            await release.wait()
        elif event.order_id != hang:
            handled_while_hung.append(not release.is_set())
        done.append((event.order_id, event.total))

    settings = replace(FAST, handler_timeout_ms=0, max_inflight=1_000)
    bus = h.bus(PARTITIONED, "s", consumer=settings)
    runner = bus.service(
        ServiceWiring("s", (Subscription(ORDER_V2_P4, handler),)),
        consumer_name="m",
        settings=settings,
    )
    await runner.start()
    producer = h.bus(PARTITIONED, "p")
    await producer.publish_many(
        [OrderCreatedV2(order_id=hang, total=0)]
        + [OrderCreatedV2(order_id=a, total=0) for a in same[:15]]
    )
    await asyncio.wait_for(started.wait(), 30)
    # Published while it hangs: reading goes on, no batch waits for the hung lane.
    for k in range(1, 4):
        await producer.publish_many(
            [OrderCreatedV2(order_id=hang, total=k)]
            + [OrderCreatedV2(order_id=a, total=k) for a in same]
        )
    others = 15 + 3 * len(same)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while sum(1 for a, _ in done if a != hang) < others:
        assert loop.time() < deadline, "other aggregates stalled behind the hanging one"
        await asyncio.sleep(0.01)
    # The structure: all of them were handled while the hung handler was still waiting,
    # and nothing of the hung aggregate ran past it.
    assert [a for a, _ in done if a == hang] == []
    assert len(handled_while_hung) == others and all(handled_while_hung)
    assert all(ORDER_V2_P4.route(a) == ORDER_V2_P4.route(hang) for a, _ in done)
    release.set()
    while len([a for a, _ in done if a == hang]) < 4:
        assert loop.time() < deadline + 30, "the released aggregate did not resume"
        await asyncio.sleep(0.01)
    await runner.stop()
    assert [t for a, t in done if a == hang] == [0, 1, 2, 3]
    for a in same:
        assert [t for b, t in done if b == a] == sorted(t for b, t in done if b == a)

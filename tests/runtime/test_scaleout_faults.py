"""Scale-out under faults, on real servers: replica processes of one service (group
`ledger`) consume a 4-partition stream while they are SIGKILLed, restarted, joined, made
to leave, stopped with SIGSTOP, and while Redis itself is killed and restarted.

The replicas are `tests/runtime/replica.py` processes; the ledgers they keep are described
there. Checks are about correctness (nothing lost, nothing applied twice, order kept per
aggregate, no two replicas on one aggregate at once, a stale owner fenced); every wait is
a generous liveness bound, never a performance assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from runtime import constants as C
from runtime.bus import Bus
from runtime.redis_membership import RedisMembership
from runtime.redis_streams import RedisTransport
from runtime.settings import Settings
from runtime.testkit import RedisServer
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2_P4, PARTITIONED, OrderCreatedV2
from tests.runtime.replica import GROUP

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = ORDER_V2_P4.partition_keys()


class Replicas:
    """Replica processes by member name; each one's stderr goes to a file under `logs`."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, member: str, *options: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{member}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.replica", self.url, member, *options],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        self.procs[member] = proc
        return proc

    async def kill(self, member: str) -> None:
        """SIGKILL, and reap it at once (a zombie would still look alive to the probe)."""
        proc = self.procs.pop(member)
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 30)

    async def terminate(self, member: str) -> int:
        """SIGTERM (a graceful leave); its exit code."""
        proc = self.procs.pop(member)
        proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(proc.wait, 60)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)  # a stopped one cannot handle SIGTERM
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def log_text(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )


async def until(cond: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> None:
    """Wait for `cond` (a liveness bound, never a performance assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = cond()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not met within {timeout:g}s: {what}")
        await asyncio.sleep(0.05)


async def leases(r: aioredis.Redis) -> dict[str, tuple[str, int, int]]:
    """partition -> (owner, fencing epoch, ms until the lease expires)."""
    seconds, micros = await r.time()
    now = seconds * 1000 + micros // 1000
    out: dict[str, tuple[str, int, int]] = {}
    for p in PARTITIONS:
        owner, epoch, expires = await r.hmget(C.lease_key(p, GROUP), ["owner", "epoch", "expires"])  # type: ignore[misc]
        out[p] = (
            (owner or b"").decode(),
            int(epoch or 0),
            int(expires or 0) - now,
        )
    return out


async def owned_by(r: aioredis.Redis, members: set[str]) -> bool:
    """Every partition leased, unexpired, to one of `members`."""
    return all(o in members and left > 0 for o, _, left in (await leases(r)).values())


async def pending_total(r: aioredis.Redis) -> int:
    total = 0
    for p in PARTITIONS:
        with contextlib.suppress(aioredis.ResponseError):  # no group yet
            total += int((await r.xpending(p, GROUP))["pending"])
    return total


def producer(url: str) -> Bus:
    return Bus(
        PARTITIONED,
        source="producer",
        durable=RedisTransport.from_url(url),
        live=None,
        settings=Settings(redis=None, consumer=FAST),
    )


def orders(start: int, stop: int, aggregates: int) -> list[OrderCreatedV2]:
    """Event i goes to aggregate i % aggregates with sequence number i // aggregates (in
    `total`), so every aggregate's events are spread over the whole run."""
    return [
        OrderCreatedV2(order_id=f"a{i % aggregates:04d}", total=i // aggregates)
        for i in range(start, stop)
    ]


async def sequences(r: aioredis.Redis, aggregates: int) -> dict[str, list[int]]:
    pipe = r.pipeline(transaction=False)
    names = [f"a{k:04d}" for k in range(aggregates)]
    for name in names:
        pipe.lrange(f"seq:{name}", 0, -1)
    rows = await pipe.execute()
    return {name: [int(x) for x in row] for name, row in zip(names, rows, strict=True)}


def order_violations(seqs: dict[str, list[int]]) -> list[str]:
    """Aggregates whose committed sequence numbers are not strictly increasing."""
    return [a for a, s in seqs.items() if any(x >= y for x, y in itertools.pairwise(s))]


# --- replicas under kills -------------------------------------------------------------

EVENTS = 5000
AGGREGATES = 500
#: Handlers take 3 ms, one event in ten 100 ms: long enough that hand-offs and takeovers
#: find handlers running, which is what the mutual-exclusion probe needs to see.
HANDLER = ("--handler-ms", "3", "--long-every", "10", "--long-ms", "100")


async def test_replicas_under_kills_lose_nothing_double_nothing_and_keep_order(
    redis_server_fresh: RedisServer, tmp_path: Path
) -> None:
    """3 replicas; mid-stream one is SIGKILLed and restarted under the same name, one is
    SIGKILLed and restarted under a new name, a fourth joins, one leaves with SIGTERM."""
    url = redis_server_fresh.url
    r = aioredis.Redis.from_url(url)
    replicas = Replicas(url, tmp_path)
    bus = producer(url)
    published: list[str] = []

    async def publish() -> None:
        for start in range(0, EVENTS, 25):
            published.extend(await bus.publish_many(orders(start, start + 25, AGGREGATES)))
            await asyncio.sleep(0.1)

    def at(k: int) -> Callable[[], bool]:
        return lambda: len(published) >= k

    try:
        for member in ("r1", "r2", "r3"):
            replicas.spawn(member, *HANDLER)
        await until(lambda: owned_by(r, {"r1", "r2", "r3"}), 60, "3 replicas own all partitions")
        publishing = asyncio.create_task(publish())

        await until(at(1000), 120, "1000 published")
        await replicas.kill("r1")
        replicas.spawn("r1", *HANDLER)  # same name: takes its leases back at once
        await until(at(2000), 120, "2000 published")
        await replicas.kill("r2")
        replicas.spawn("r2b", *HANDLER)  # new name: r2's leases must expire first
        await until(at(3000), 120, "3000 published")
        replicas.spawn("r4", *HANDLER)
        await until(at(4000), 120, "4000 published")
        assert await replicas.terminate("r3") == 0, "a graceful leave exits cleanly"
        await publishing

        async def all_handled() -> bool:
            return int(await r.hlen("ledger")) >= EVENTS and await pending_total(r) == 0

        await until(all_handled, 180, "every event handled and acked")
        ledger = {k.decode(): int(v) for k, v in (await r.hgetall("ledger")).items()}
        seqs = await sequences(r, AGGREGATES)
        overlaps = [x.decode() for x in await r.lrange("overlaps", 0, -1)]  # type: ignore[misc]
        runs = {k.decode(): int(v) for k, v in (await r.hgetall("invocations")).items()}  # type: ignore[misc]
        final = await leases(r)
    except BaseException:
        print(replicas.log_text())
        raise
    finally:
        replicas.close()
        await bus.close()

    assert len(published) == EVENTS
    assert set(ledger) == set(published), "an event was lost (or one never published appeared)"
    assert [k for k, v in ledger.items() if v != 1] == [], "an event's effects applied twice"
    assert order_violations(seqs) == [], "an aggregate's events committed out of order"
    per_agg = EVENTS // AGGREGATES
    assert all(s == list(range(per_agg)) for s in seqs.values())
    assert overlaps == [], "two live replicas handled one aggregate at the same time"
    # The members that came later really took part: partitions moved to them.
    assert runs.get("r2b", 0) > 0 and runs.get("r4", 0) > 0, runs
    assert all(epoch >= 2 for _, epoch, _ in final.values())  # every partition changed hands
    await r.aclose()
    print(f"handler runs per member {runs}; total {sum(runs.values())} for {EVENTS} events")


# --- Redis restarts -------------------------------------------------------------------

RESTART_EVENTS = 3000
RESTART_AGGREGATES = 300
#: No event may wait longer than this (not counting time Redis was down) between being
#: acknowledged to its publisher and being handled. Without re-reading its own pending
#: entries after a reconnect, a consumer left them for the 30 s visibility timeout.
LIVENESS_S = 10.0


async def test_redis_restarts_under_load_lose_nothing_and_redeliver_promptly(
    redis_server_fresh: RedisServer, tmp_path: Path
) -> None:
    server = redis_server_fresh  # AOF with appendfsync always: an acked write survives
    url = server.url
    r = aioredis.Redis.from_url(url)
    replicas = Replicas(url, tmp_path)
    bus = producer(url)
    acked: dict[str, float] = {}  # event id -> when publish_many returned it
    outages: list[tuple[float, float]] = []

    async def publish() -> None:
        for start in range(0, RESTART_EVENTS, 20):
            ids = await bus.publish_many(orders(start, start + 20, RESTART_AGGREGATES))
            now = time.time()
            acked.update((i, now) for i in ids)
            await asyncio.sleep(0.02)

    try:
        for member in ("r1", "r2"):
            replicas.spawn(member, "--handler-ms", "1", "--no-probe")
        await until(lambda: owned_by(r, {"r1", "r2"}), 60, "2 replicas own all partitions")
        publishing = asyncio.create_task(publish())
        for k in (500, 1100, 1700, 2300):
            await until(lambda k=k: len(acked) >= k, 120, f"{k} published")  # type: ignore[misc]
            down = time.time()
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)
            outages.append((down, time.time()))
        await publishing

        async def all_handled() -> bool:
            with contextlib.suppress(aioredis.ConnectionError):  # the one after a restart
                return int(await r.hlen("ledger")) >= len(acked) and await pending_total(r) == 0
            return False

        await until(all_handled, 180, "every acknowledged event handled and acked")
        ledger = {k.decode(): int(v) for k, v in (await r.hgetall("ledger")).items()}
        handled_at = {
            k.decode(): float(v)
            for k, v in (await r.hgetall("handled_at")).items()  # type: ignore[misc]
        }
        seqs = await sequences(r, RESTART_AGGREGATES)
    except BaseException:
        print(replicas.log_text())
        raise
    finally:
        replicas.close()
        await bus.close()

    assert len(outages) == 4 and len(acked) == RESTART_EVENTS
    assert set(acked) <= set(ledger), "an acknowledged event was lost"
    assert [k for k, v in ledger.items() if v != 1] == [], "an event's effects applied twice"
    assert order_violations(seqs) == [], "an aggregate's events committed out of order"

    def waited(event_id: str) -> float:
        start, end = acked[event_id], handled_at[event_id]
        down = sum(max(0.0, min(end, b) - max(start, a)) for a, b in outages)
        return end - start - down

    delays = sorted(waited(e) for e in acked)
    assert delays[-1] < LIVENESS_S, f"an event waited {delays[-1]:.1f}s after Redis was back"
    await r.aclose()
    print(f"wait after ack (Redis downtime excluded): max {delays[-1]:.2f}s")


# --- a stale owner is fenced ----------------------------------------------------------


async def test_sigstopped_owner_resumed_after_takeover_cannot_ack_stage_or_read(
    redis_server_fresh: RedisServer, tmp_path: Path
) -> None:
    url = redis_server_fresh.url
    r = aioredis.Redis.from_url(url)
    replicas = Replicas(url, tmp_path)
    bus = producer(url)
    membership = RedisMembership(r, GROUP)
    partition = ORDER_V2_P4.route("slow")
    keeper: asyncio.Task[None] | None = None
    try:
        proc = replicas.spawn(
            "stale", "--slow", "slow", "--slow-ms", "3000", "--ttl-ms", "1000",
            "--heartbeat-ms", "250",
        )  # fmt: skip
        await until(lambda: owned_by(r, {"stale"}), 60, "the replica owns all partitions")
        (slow_id,) = await bus.publish_many([OrderCreatedV2(order_id="slow", total=0)])
        await until(lambda: r.exists(f"started:{slow_id}"), 60, "the slow handler started")
        proc.send_signal(signal.SIGSTOP)  # mid-handler, holding the lease
        _, epoch_before, _ = (await leases(r))[partition]

        # Its lease expires; another member takes the partition over (and keeps it).
        async def taken() -> bool:
            return await membership.acquire(partition, "intruder", 1000) is not None

        await until(taken, 30, "the stale owner's lease expired")
        owner, token, _ = (await leases(r))[partition]
        assert owner == "intruder" and token > epoch_before

        async def keep() -> None:
            while True:
                await asyncio.sleep(0.2)
                await membership.renew({partition: token}, "intruder", 1000)

        keeper = asyncio.create_task(keep())
        same = [f"s{i}" for i in range(200) if ORDER_V2_P4.route(f"s{i}") == partition][:5]
        new_ids = await bus.publish_many([OrderCreatedV2(order_id=a, total=0) for a in same])
        proc.send_signal(signal.SIGCONT)

        await until(lambda: r.exists(f"finished:{slow_id}"), 60, "the slow handler finished")

        async def refused() -> bool:
            notes = [x.decode() for x in await r.lrange("settles:stale", 0, -1)]  # type: ignore[misc]
            return any(n.split(" ")[1:] == [partition] for n in notes)

        await until(refused, 30, "the stale owner tried to ack and was refused")
        await asyncio.sleep(2.0)  # eight of its heartbeats: time to misbehave, if it would
        assert proc.poll() is None, "the stale member keeps running"

        # It could not ack: the entry is still pending, delivered once, to it.
        (row,) = await r.xpending_range(partition, GROUP, "-", "+", 10)
        assert row["consumer"] == b"stale" and row["times_delivered"] == 1
        # It could not stage: no effect, no idempotency mark.
        assert await r.hget("ledger", slow_id) is None
        assert await r.llen("seq:slow") == 0
        assert not await r.exists(C.idempotency_key(partition, GROUP, slow_id))
        # It could not read: the entries published meanwhile were delivered to nobody.
        (info,) = [g for g in await r.xinfo_groups(partition) if g["name"] == GROUP.encode()]
        assert info["last-delivered-id"] == row["message_id"]
        assert int(await r.hget("invocations", "stale")) == 1  # type: ignore[misc,arg-type]
        assert (await leases(r))[partition][:2] == ("intruder", token)

        # The intruder lets go: the stale member, the only live one, takes the partition
        # back under a new token and redoes the discarded work, effects exactly once.
        keeper.cancel()
        await membership.release(partition, "intruder", token)

        async def redone() -> bool:
            return int(await r.hlen("ledger")) == 1 + len(new_ids) and await pending_total(r) == 0

        await until(redone, 60, "the partition's work redone by its new owner")
        owner, final_token, _ = (await leases(r))[partition]
        ledger = {k.decode(): int(v) for k, v in (await r.hgetall("ledger")).items()}
    except BaseException:
        print(replicas.log_text())
        raise
    finally:
        if keeper is not None:
            keeper.cancel()
        replicas.close()
        await bus.close()
    assert owner == "stale" and final_token > token
    assert ledger == {i: 1 for i in [slow_id, *new_ids]}
    await r.aclose()

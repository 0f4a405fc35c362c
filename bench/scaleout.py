"""Scale-out: replicas (processes) sharing a 4-partition stream, and takeover after SIGKILL.

`replicas`: 1, 2 and 4 replica processes (`bench.replica_worker`) each consume their own
4-partition stream; all of them run for the whole suite, so rounds interleave (1 2 4 1 2
4 ...) on the same machine state. A round publishes N orders from this process with
`publish_many` by 100 while the replicas consume, and ends when every partition's group
has delivered and acknowledged everything (polled with XINFO). Reported: end-to-end
events/s and the replicas' CPU per event (utime + stime from /proc, summed over the
replicas of the round), each against 1 replica in the same run. On a machine with few
cores more processes cannot add CPU: the rate then shows what coordination costs, not
what it gains; the CPU per event is the figure to compare.

`takeover`: 3 replicas (lease TTL 3 s, heartbeat 1 s: the defaults) consume while this
process publishes about 400 orders/s. A replica that owns partitions is SIGKILLed; the
time until every partition it owned has an event handled and acknowledged by another
member (`--mark`: a staged `SET bench:by:<partition> <member>`) is one sample. A
replacement joins under a new name, ownership settles, and the next kill follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.common import BATCH, cached_orders, flush_redis
from bench.events import Stopwatch
from bench.replica_worker import (
    GROUP,
    MARK_PREFIX,
    PARTITIONS,
    scaleout_registry,
    scaleout_spec,
)
from bench.report import Workload
from bench.suite import STOP, Env, Interrupted
from runtime import constants as C
from runtime.assignment import assign
from runtime.bus import Bus
from runtime.settings import RedisSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
#: redis-py types replies as unions over RESP versions and sync/async that no caller can
#: narrow usefully; replies are decoded explicitly here instead (as in runtime/).
Client = Any
REPLICA_COUNTS = (1, 2, 4)
KILLS = 10
TICK = os.sysconf("SC_CLK_TCK")


class Workers:
    """Replica processes by member name."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, member: str, stream: str, *options: str) -> None:
        self.procs[member] = subprocess.Popen(
            [sys.executable, "-m", "bench.replica_worker", self.url, member, stream, *options],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
        )

    def cpu_s(self, members: list[str]) -> float:
        """User + system CPU seconds the members' processes used so far."""
        total = 0
        for m in members:
            with open(f"/proc/{self.procs[m].pid}/stat", encoding="ascii") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / TICK

    async def kill(self, member: str) -> None:
        proc = self.procs.pop(member)
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)

    def close(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


async def _server_ms(r: Client) -> int:
    seconds, micros = await r.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def settled(r: Client, partitions: list[str], members: set[str], group: str = GROUP) -> bool:
    """Exactly `members` are live in `group` and each holds, unexpired, the partitions the
    assignment gives it."""
    now = await _server_ms(r)
    live = {m.decode() for m in await r.zrangebyscore(C.members_key(group), now, "+inf")}
    if live != members:
        return False
    for member, owned in assign(partitions, live).items():
        for p in owned:
            owner, expires = await r.hmget(C.lease_key(p, group), ["owner", "expires"])
            if (owner or b"").decode() != member or int(expires or 0) <= now:
                return False
    return True


async def drained(r: Client, partitions: list[str], group: str) -> bool:
    """Every entry of every partition delivered to `group` and acknowledged."""
    pipe = r.pipeline(transaction=False)
    for p in partitions:
        pipe.xinfo_stream(p)
        pipe.xinfo_groups(p)
    replies = await pipe.execute()
    for stream, groups in zip(replies[::2], replies[1::2], strict=True):
        (info,) = [g for g in groups if g["name"] == group.encode()]
        if info["pending"] or info["last-delivered-id"] != stream["last-generated-id"]:
            return False
    return True


async def until(cond: Any, timeout: float, what: str, poll: float = 0.01) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await cond():
        if STOP.is_set():
            raise Interrupted
        if loop.time() > deadline:
            raise RuntimeError(f"scale-out bench: not within {timeout:g}s: {what}")
        await asyncio.sleep(poll)


def _bus(env: Env, stream: str, partitions: int = PARTITIONS) -> Bus:
    from runtime.redis_streams import RedisTransport

    settings = Settings(redis=RedisSettings.from_url(env.redis_url))
    return Bus(
        scaleout_registry(stream, partitions),
        source="bench",
        durable=RedisTransport.from_url(env.redis_url),
        live=None,
        settings=settings,
    )


# --- throughput by replica count ----------------------------------------------------------


async def _round(env: Env, r: Client, bus: Bus, workers: Workers, k: int) -> dict[str, float]:
    events = cached_orders(env.n)
    members, stream, group = _members(k), _stream(k), _group(k)
    partitions = scaleout_spec(stream).partition_keys()
    cpu_before = workers.cpu_s(members)
    watch = Stopwatch()
    for i in range(0, len(events), BATCH):
        await bus.publish_many(events[i : i + BATCH])
    await until(lambda: drained(r, partitions, group), 60 + env.n / 200, "every event handled")
    elapsed, publisher_cpu = watch.stop()
    consumer_cpu = workers.cpu_s(members) - cpu_before
    for p in partitions:  # all acknowledged: keep Redis small between rounds
        await r.xtrim(p, maxlen=0)
    n = len(events)
    return {
        "rate": n / elapsed,
        "cpu_us": consumer_cpu / n * 1e6,
        "publisher_cpu_us": publisher_cpu / n * 1e6,
    }


def _stream(k: int) -> str:
    return f"orders-x{k}"


def _group(k: int) -> str:
    # One group per replica count: the members of a group must read the same streams
    # (every member assigns the group's partitions over all live members).
    return f"bench-x{k}"


def _members(k: int) -> list[str]:
    return [f"x{k}-{j}" for j in range(k)]


async def replicas(env: Env, rounds: int) -> list[Workload]:
    await flush_redis(env.redis_url)
    r: Client = aioredis.Redis.from_url(env.redis_url)
    workers = Workers(env.redis_url)
    buses = {k: _bus(env, _stream(k)) for k in REPLICA_COUNTS}
    samples: dict[int, dict[str, list[float]]] = {k: {} for k in REPLICA_COUNTS}
    try:
        for k in REPLICA_COUNTS:
            for m in _members(k):
                workers.spawn(m, _stream(k), "--group", _group(k))
        for k in REPLICA_COUNTS:
            partitions = scaleout_spec(_stream(k)).partition_keys()

            async def ready(p: list[str] = partitions, k: int = k) -> bool:
                return await settled(r, p, set(_members(k)), _group(k))

            await until(ready, 60, "ownership settled", 0.1)
        for warmup in (True, *([False] * rounds)):
            for k in REPLICA_COUNTS:
                result = await _round(env, r, buses[k], workers, k)
                if not warmup:
                    for key, value in result.items():
                        samples[k].setdefault(key, []).append(value)
    finally:
        workers.close()
        for bus in buses.values():
            await bus.close()
        await r.aclose()
    return _replica_workloads(samples)


def _replica_workloads(samples: dict[int, dict[str, list[float]]]) -> list[Workload]:
    note = (
        "N orders published by 100 to a 4-partition stream, consumed by k replica processes "
        "(group members with leases; validation only). rate = end to end; CPU = the "
        "replicas' utime+stime per event. Baseline column: 1 replica in the same run. "
        f"{os.cpu_count()} cores: more processes cannot add CPU beyond them."
    )
    one = samples[1]
    out = [
        Workload("replicas=1, 4 partitions: events/s", "ev/s", True, one["rate"], note=note),
        Workload("replicas=1, 4 partitions: replica CPU per event", "us", False, one["cpu_us"]),
    ]
    for k in REPLICA_COUNTS[1:]:
        s = samples[k]
        out.append(
            Workload(
                f"replicas={k} vs 1, 4 partitions: events/s",
                "ev/s",
                True,
                s["rate"],
                one["rate"],
                note=note,
            )
        )
        out.append(
            Workload(
                f"replicas={k} vs 1, 4 partitions: replica CPU per event",
                "us",
                False,
                s["cpu_us"],
                one["cpu_us"],
            )
        )
    for w in out:
        k = int(w.name.split("=")[1].split(" ")[0].rstrip(","))
        w.extra = {"framework": {"publisher_cpu_us": samples[k]["publisher_cpu_us"]}}
    return out


# --- takeover after SIGKILL ----------------------------------------------------------------


async def takeover(env: Env, kills: int = KILLS) -> list[Workload]:
    await flush_redis(env.redis_url)
    r: Client = aioredis.Redis.from_url(env.redis_url)
    stream = "orders-takeover"
    partitions = scaleout_spec(stream).partition_keys()
    workers = Workers(env.redis_url)
    bus = _bus(env, stream)
    live = [f"t{j}" for j in range(3)]
    spawned = len(live)
    samples: list[float] = []
    publishing: asyncio.Task[None] | None = None

    async def publish() -> None:
        events = cached_orders(10_000)
        for i in itertools.count(0, 20):
            await bus.publish_many([events[(i + k) % len(events)] for k in range(20)])
            await asyncio.sleep(0.05)

    try:
        for m in live:
            workers.spawn(m, stream, "--mark")
        await until(lambda: settled(r, partitions, set(live)), 60, "ownership settled", 0.1)
        publishing = asyncio.create_task(publish())
        for n in range(kills):
            owners = {p: await r.hget(C.lease_key(p, GROUP), "owner") for p in partitions}
            # Round-robin over the members that own something (the assignment can leave
            # one of 3 members without a partition: 2 + 2 + 0 is within the cap of 2).
            owning = [m for m in live if m.encode() in owners.values()]
            victim = owning[n % len(owning)]
            lost = [p for p, o in owners.items() if o == victim.encode()]
            started = time.perf_counter()
            await workers.kill(victim)
            marks = [MARK_PREFIX + p for p in lost]
            await r.delete(*marks)  # the victim is dead: whoever writes them now took over

            async def taken(marks: list[str] = marks) -> bool:
                return all(await r.mget(marks))

            await until(taken, 60, "the killed member's partitions handled again", 0.005)
            samples.append(time.perf_counter() - started)
            live.remove(victim)
            replacement = f"t{spawned}"
            spawned += 1
            workers.spawn(replacement, stream, "--mark")
            live.append(replacement)
            await until(lambda: settled(r, partitions, set(live)), 60, "ownership settled", 0.1)
    finally:
        if publishing is not None:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publishing
        workers.close()
        await bus.close()
        await r.aclose()
    note = (
        f"{kills} SIGKILLs of one of 3 replicas (lease TTL 3 s, heartbeat 1 s) while ~400 "
        "orders/s are published; time from the kill until every partition the killed "
        "member owned has an event handled and acknowledged by another member."
    )
    median = Workload("takeover after SIGKILL: median", "s", False, [statistics.median(samples)])
    median.note = note
    median.extra = {"framework": {"samples": samples}}
    worst = Workload("takeover after SIGKILL: max", "s", False, [max(samples)])
    return [median, worst]

"""`make demo`: the example system end to end, as separate OS processes.

Starts redis-server and nats-server (unless REDIS_URL / NATS_URL point at reachable ones),
starts the order, payment and inventory services with `schemabus run`, places N orders
through the typed `order.place` request/reply (plus a few `order.created` v1 events from
an "old producer" straight onto the stream), shows progress, and prints a summary. Exit
code 0 only if every order reached a final state. Everything it started is stopped on the
way out, Ctrl-C included.

`--cluster` (`make demo CLUSTER=1`) runs it on a local 3-master + 3-replica Valkey Cluster
and a 3-node NATS cluster, with two replicas of every service (each connected first to a
different NATS node). Once a third of the orders are final it SIGKILLs one Redis master
(after pausing its writes until its replica has them all), one NATS node and one payment
replica, and still ends with every order final: the
cluster promotes the master's replica, clients reconnect to other NATS nodes, the other
payment replica takes the dead one's partitions over, and order requests that failed
mid-way are sent again with the same order id (the order service finishes them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from generated.models import (
    InventoryReserveReplyV1,
    InventoryReserveRequestV1,
    OrderCreatedV1,
    OrderPlaceReplyV1,
    OrderPlaceRequestV1,
)
from generated.registry import REGISTRY
from runtime import constants
from runtime.bus import Bus
from runtime.errors import NoRespondersError, SchemabusError
from runtime.redis_conn import RedisClient, make_client
from runtime.redis_errors import is_transient
from runtime.settings import NatsSettings, RedisSettings, Settings
from runtime.testkit import NatsCluster, NatsServer, RedisCluster, RedisServer, free_port
from services.inventory import STOCK
from services.order import COMPLETED, FAILED, REJECTED, order_key
from services.payment import LIMIT_MINOR

#: Processes the demo runs: (service, replica name). Two payment replicas share the
#: `orders` partitions (each partition is owned by one of them at a time).
REPLICAS = (
    ("inventory", "inventory"),
    ("payment", "payment-1"),
    ("payment", "payment-2"),
    ("order", "order"),
)
#: With --cluster: two replicas of every service.
CLUSTER_REPLICAS = tuple(
    (svc, f"{svc}-{i}") for svc in ("inventory", "payment", "order") for i in (1, 2)
)
#: With --cluster: the replica SIGKILLed mid-run (its partitions move to payment-2).
DOOMED_REPLICA = "payment-1"
SKUS = ("SKU-RED-MUG", "SKU-TEA-BOX", "SKU-KETTLE", "SKU-SPOON", "SKU-PLATE")
PLACE = REGISTRY.operations["order.place"]
RESERVE = REGISTRY.operations["inventory.reserve"]


class _Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class Run:
    redis_url: str = ""
    nats_url: str = ""
    servers: list[_Stoppable] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    logs: Path = Path(".demo")
    cluster: bool = False
    redis_cluster: RedisCluster | None = None
    nats_cluster: NatsCluster | None = None
    #: What the chaos step killed (service replicas are not expected to be alive).
    killed: list[str] = field(default_factory=list)

    @property
    def replicas(self) -> tuple[tuple[str, str], ...]:
        return CLUSTER_REPLICAS if self.cluster else REPLICAS

    @property
    def trace_file(self) -> Path:
        return self.logs / "traces.jsonl"


def _say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def _client(url: str) -> RedisClient:
    """A client (any URL kind) with `str` replies."""
    return make_client(RedisSettings.from_url(url), decode_responses=True)


async def _redis_ok(url: str) -> bool:
    settings = RedisSettings.from_url(url, connect_timeout_s=1, socket_timeout_s=1)
    client = make_client(settings)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


async def _nats_ok(url: str) -> bool:
    import nats

    try:
        nc = await nats.connect(
            url, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False
        )
    except Exception:
        return False
    await nc.close()
    return True


async def start_clusters(run: Run) -> None:
    cluster = RedisCluster()
    run.servers.append(_Closing(cluster))
    await asyncio.to_thread(cluster.start)
    run.redis_cluster, run.redis_url = cluster, cluster.url
    _say(
        f"started a Redis Cluster of {len(cluster.masters())} masters + "
        f"{len(cluster.replicas())} replicas on ports "
        f"{', '.join(str(p) for _, p in cluster.startup_nodes)} ({cluster.version})"
    )
    nats = NatsCluster(size=3)
    run.servers.append(_Closing(nats))
    await asyncio.to_thread(nats.start)
    run.nats_cluster, run.nats_url = nats, nats.url
    _say(f"started a NATS cluster on ports {', '.join(str(n.port) for n in nats.members)}")


@dataclass
class _Closing:
    """A server group, stopped like a server (every process it ever started)."""

    group: RedisCluster | NatsCluster

    def stop(self) -> None:
        self.group.close()


async def start_servers(run: Run) -> None:
    if run.cluster:
        await start_clusters(run)
        return
    wanted_redis = os.environ.get("REDIS_URL") or os.environ.get("SCHEMABUS_REDIS_URL")
    if wanted_redis and await _redis_ok(wanted_redis):
        run.redis_url = wanted_redis
        _say(f"using Redis at {RedisSettings.from_url(wanted_redis)!r}")
    else:
        server = RedisServer().start()
        run.servers.append(server)
        run.redis_url = server.url
        _say(f"started redis-server on port {server.port} ({server.version})")
    wanted_nats = os.environ.get("NATS_URL") or os.environ.get("SCHEMABUS_NATS_URL")
    if wanted_nats and await _nats_ok(wanted_nats):
        run.nats_url = wanted_nats
        _say("using NATS from NATS_URL")
    else:
        nats_server = NatsServer().start()
        run.servers.append(nats_server)
        run.nats_url = nats_server.url
        _say(f"started nats-server on port {nats_server.port}")


async def reset_state(client: RedisClient, stock: int) -> None:
    """Start from a clean slate: the demo's own keys and streams only."""
    doomed = [*_partitions(), *(constants.dead_letter_stream(p) for p in _partitions())]
    doomed += [COMPLETED, FAILED, REJECTED, STOCK, "inventory:applied"]
    for pattern in ("order:*", constants.KEY_PREFIX + "*"):
        doomed += [k async for k in client.scan_iter(match=pattern, count=1000)]
    for i in range(0, len(doomed), 500):
        await client.delete(*doomed[i : i + 500])  # split by slot on a cluster
    await client.hset(STOCK, mapping=dict.fromkeys(SKUS, stock))


def _partitions() -> list[str]:
    """Every stream partition key of the example system (`orders:{0}`, ...)."""
    keys = {k for spec in REGISTRY.events.values() for k in spec.partition_keys()}
    return sorted(keys)


def start_services(run: Run) -> None:
    run.logs.mkdir(exist_ok=True)
    run.trace_file.write_text("")
    env = {
        **os.environ,
        "SCHEMABUS_REDIS_URL": run.redis_url,
        "SCHEMABUS_NATS_URL": run.nats_url,
        "PYTHONUNBUFFERED": "1",
        "SCHEMABUS_TRACE_FILE": str(run.trace_file),
    }
    nats_urls = run.nats_url.split(",")
    for k, (service, name) in enumerate(run.replicas):
        log = (run.logs / f"{name}.log").open("wb")
        run.metrics_ports[name] = free_port()
        # Each replica tries the NATS servers from a different one first, so that the
        # replicas of a service are spread over the nodes (one node's death hits some).
        first = k % len(nats_urls)
        nats_url = ",".join(nats_urls[first:] + nats_urls[:first])
        run.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "run", service],
            env={
                **env,
                "SCHEMABUS_NATS_URL": nats_url,
                "SCHEMABUS_CONSUMER": f"demo-{name}",
                "SCHEMABUS_METRICS_PORT": str(run.metrics_ports[name]),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo; it stops them gracefully
        )
    _say(f"started {', '.join(name for _, name in run.replicas)} (logs in {run.logs}/)")
    # The live gate works against this Redis while the demo runs (README: the live gate).
    # A URL the user gave may hold a password: then name the variable instead.
    given = os.environ.get("REDIS_URL") or os.environ.get("SCHEMABUS_REDIS_URL")
    url = (
        run.redis_url
        if run.redis_url != given
        else ("$REDIS_URL" if "REDIS_URL" in os.environ else "$SCHEMABUS_REDIS_URL")
    )
    _say(f"  live gate: .venv/bin/codegen check --deployed {url} --samples {url}")
    for name, port in run.metrics_ports.items():
        _say(f"  {name:<9} metrics: http://127.0.0.1:{port}/metrics")


def stop_services(run: Run) -> None:
    for proc in run.procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for name, proc in run.procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop in time; killing it")
            proc.kill()
            proc.wait()


def _check_alive(run: Run) -> None:
    for name, proc in run.procs.items():
        if proc.poll() is not None and name not in run.killed:
            tail = (run.logs / f"{name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"service {name} exited with {proc.returncode}:\n{tail}")


def _order(i: int, order_id: str | None = None) -> OrderPlaceRequestV1:
    # Deterministic mix: every 20th order is over the payment limit and will fail.
    price = LIMIT_MINOR + 500 if i % 20 == 7 else 250 + (i % 9) * 125
    lines = [
        {
            "sku": SKUS[(i + k) % len(SKUS)],
            "quantity": 1 + (i + k) % 3,
            "unit_price": {"amount_minor": price, "currency": "EUR"},
        }
        for k in range(1 + i % 3)
    ]
    request: dict[str, Any] = {
        "customer_id": f"cust-{i % 97}",
        "items": lines,
        "channel": ("web", "mobile", "store")[i % 3],
    }
    if order_id is not None:
        request["order_id"] = order_id
    return OrderPlaceRequestV1.model_validate(request)


def _legacy_order(i: int) -> OrderCreatedV1:
    return OrderCreatedV1.model_validate(
        {
            "order_id": f"legacy-{i:04d}",
            "customer_id": "cust-legacy",
            "items": [
                {
                    "sku": SKUS[0],
                    "quantity": 1,
                    "unit_price": {"amount_minor": 999, "currency": "EUR"},
                }
            ],
            "total": {"amount_minor": 999, "currency": "EUR"},
        }
    )


async def wait_until_ready(bus: Bus, run: Run, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    # Mixed currencies: the order service refuses it before touching any state.
    line = {"sku": SKUS[0], "quantity": 1, "unit_price": {"amount_minor": 1, "currency": "EUR"}}
    other = {**line, "unit_price": {"amount_minor": 1, "currency": "USD"}}
    probe = OrderPlaceRequestV1.model_validate(
        {"order_id": "demo-probe", "customer_id": "probe", "items": [line, other]}
    )
    # The order service asks inventory for every order: both must answer before the first
    # one (a stock check only reads).
    check = InventoryReserveRequestV1.model_validate({"order_id": "demo-probe", "items": [line]})

    async def ask(name: str) -> None:
        if name == "order":
            await bus.request(PLACE, probe, OrderPlaceReplyV1, timeout_s=2)
        else:
            await bus.request(RESERVE, check, InventoryReserveReplyV1, timeout_s=2)

    for name in ("order", "inventory"):
        while True:
            _check_alive(run)
            try:
                await ask(name)
                break
            except (NoRespondersError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {name} service did not answer within 60 s") from None
                await asyncio.sleep(0.2)


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self.last_line = 0.0

    def show(self, done: int, placed: int) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last_line < 2 and done < self.total:
            return
        self.last_line = now
        width = 30
        filled = int(width * done / max(1, self.total))
        bar = "#" * filled + "." * (width - filled)
        text = f"[{bar}] {done}/{self.total} final, {placed} placed"
        if self.tty:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


async def _place(bus: Bus, i: int, retry: bool) -> OrderPlaceReplyV1:
    """Place order `i`. With `retry` (the cluster run), a request that failed because a
    server or a replica died mid-way is sent again with the same order id; the order
    service answers a repeat without placing the order twice."""
    if not retry:
        return await bus.request(PLACE, _order(i), OrderPlaceReplyV1, timeout_s=30)
    order_id = f"ord-{i:07d}"
    deadline = time.monotonic() + 120
    while True:
        try:
            return await bus.request(PLACE, _order(i, order_id), OrderPlaceReplyV1, timeout_s=5)
        except (SchemabusError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _report_stuck(client: RedisClient, ids: list[str]) -> None:
    """Name a few orders that never reached a final state (not in the completed or failed
    set, which is what the progress counts), with what Redis holds of them, and each
    stream's consumer groups (lag, pending): a stuck run is diagnosed from its output."""
    final = set(await client.smembers(COMPLETED)) | set(await client.smembers(FAILED))
    stuck = []
    for order_id in ids:
        if order_id not in final:
            stuck.append((order_id, await client.hget(order_key(order_id), "status")))
    for order_id, status in stuck[:5]:
        where = REGISTRY.spec("order.created", 2).route(order_id)
        _say(f"  stuck: {order_id} status={status!r} (orders partition {where})")
    if len(stuck) > 5:
        _say(f"  ... and {len(stuck) - 5} more")
    for key in _partitions():
        with contextlib.suppress(Exception):  # a diagnosis must not hide the failure
            for g in await client.xinfo_groups(key):
                _say(
                    f"  {key} group {g['name']}: pending={g['pending']} lag={g.get('lag')} "
                    f"last-delivered={g['last-delivered-id']} length={await client.xlen(key)}"
                )


async def _count(client: RedisClient, *keys: str) -> int:
    """SCARD summed; a failover in progress reads as 'no news yet' (-1)."""
    try:
        return sum([int(await client.scard(k)) for k in keys])
    except Exception as exc:
        if is_transient(exc):
            return -1
        raise


async def chaos(run: Run) -> None:
    """The cluster run's failures: one Redis master, one NATS node, one payment replica,
    a second apart, each SIGKILLed."""
    assert run.redis_cluster is not None and run.nats_cluster is not None
    redis_cluster, nats_cluster = run.redis_cluster, run.nats_cluster
    key = _partitions()[0]
    # Killed once its replica has every write it acknowledged: with asynchronous
    # replication a kill can otherwise lose the last ones (an order would then stay
    # unfinished by design; catalog `durability: replicated` is the remedy, measured in
    # tests/runtime/test_cluster_failover.py, not in this demo).
    master = await asyncio.to_thread(redis_cluster.kill_master_of, key, in_sync=True)
    run.killed.append(f"redis master :{master.port}")
    _say(f"chaos: SIGKILLed the Redis master on port {master.port} (serves {key})")
    await asyncio.sleep(1)
    node = nats_cluster.members[1]
    await asyncio.to_thread(nats_cluster.kill, node)
    run.killed.append(f"nats {node.server_name}")
    _say(f"chaos: SIGKILLed NATS node {node.server_name} (port {node.port})")
    await asyncio.sleep(1)
    proc = run.procs[DOOMED_REPLICA]
    proc.kill()
    run.killed.append(DOOMED_REPLICA)
    _say(f"chaos: SIGKILLed service replica {DOOMED_REPLICA} (pid {proc.pid})")
    new = await asyncio.to_thread(redis_cluster.wait_failover, master)
    _say(f"chaos: the Redis Cluster promoted port {new.port}; serving every slot again")


async def drive(run: Run, orders: int, concurrency: int) -> dict[str, object]:
    client = _client(run.redis_url)
    settings = Settings(redis=None, nats=NatsSettings.from_url(run.nats_url))
    settings_durable = Settings(redis=RedisSettings.from_url(run.redis_url), nats=None)
    client_bus = await Bus.connect(settings, REGISTRY, source="demo-client")
    old_producer = await Bus.connect(settings_durable, REGISTRY, source="legacy-order-service")
    try:
        await wait_until_ready(client_bus, run)
        legacy = max(5, orders // 100)
        placed_ids: list[str] = []
        accepted = 0
        started = time.monotonic()
        progress = Progress(orders)
        # The old producer writes v1 events straight onto the stream, as a service that was
        # not upgraded yet would; payment declares v2 and must still handle them.
        for i in range(legacy):
            event = _legacy_order(i)
            await client.hset(
                order_key(event.order_id),
                mapping={"status": "created", "placed_at_ms": str(int(time.time() * 1000))},
            )
            await old_producer.publish(event)
            placed_ids.append(event.order_id)
        accepted += legacy
        numbers = iter(range(orders - legacy))

        async def worker() -> None:
            # A fixed pool of workers (not one task per order): bounded memory, and Ctrl-C
            # has only `concurrency` tasks to cancel.
            nonlocal accepted
            for i in numbers:
                reply = await _place(client_bus, i, run.cluster)
                if reply.accepted:
                    accepted += 1
                    placed_ids.append(reply.order_id)

        pending = {asyncio.ensure_future(worker()) for _ in range(concurrency)}
        last_done, last_change = -1, time.monotonic()
        chaos_task: asyncio.Task[None] | None = None
        done = 0
        while True:
            done = max(done, await _count(client, COMPLETED, FAILED))
            progress.show(done, accepted)
            if run.cluster and chaos_task is None and done >= orders // 3:
                chaos_task = asyncio.create_task(chaos(run))
            if chaos_task is not None and chaos_task.done():
                chaos_task.result()  # a failed failover stops the demo with its error
            for task in [t for t in pending if t.done()]:
                pending.discard(task)
                task.result()  # a failed request stops the demo with its error
            if not pending and done >= accepted and (chaos_task is None or chaos_task.done()):
                break
            if done != last_done:
                last_done, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > 60:
                progress.close()
                _say("no progress for 60 s; giving up")
                await _report_stuck(client, placed_ids)
                break
            _check_alive(run)
            await asyncio.sleep(0.2)
        progress.close()
        elapsed = time.monotonic() - started
        summary = await summarize(client, placed_ids, accepted, elapsed, legacy)
        summary["handled"] = await asyncio.to_thread(_scrape_handled, run)
        return summary
    finally:
        await client_bus.close()
        await old_producer.close()
        await client.aclose()


def _scrape_handled(run: Run) -> dict[str, int]:
    """Events each service handled, read from its own /metrics endpoint."""
    import urllib.request

    out: dict[str, int] = {}
    for name, port in run.metrics_ports.items():
        if name in run.killed:
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            out[name] = -1
            continue
        total = 0.0
        for line in text.splitlines():
            if line.startswith("schemabus_handled_total{") and 'outcome="ok"' in line:
                total += float(line.rsplit(" ", 1)[1])
        out[name] = int(total)
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def summarize(
    client: RedisClient, ids: list[str], placed: int, elapsed: float, legacy: int
) -> dict[str, object]:
    latencies: list[float] = []
    legacy_final = 0
    async with client.pipeline(transaction=False) as pipe:
        for order_id in ids:
            pipe.hmget(order_key(order_id), "placed_at_ms", "done_at_ms", "status")
        rows = await pipe.execute()
    for order_id, (placed_at, done_at, status) in zip(ids, rows, strict=True):
        if placed_at and done_at:
            latencies.append(int(done_at) - int(placed_at))
        if order_id.startswith("legacy-") and status in ("payment_completed", "payment_failed"):
            legacy_final += 1
    completed = int(await client.scard(COMPLETED))
    failed = int(await client.scard(FAILED))
    dead = 0
    for partition in _partitions():
        dead += int(await client.xlen(constants.dead_letter_stream(partition)))
    return {
        "placed": placed,
        "completed": completed,
        "payment_failed": failed,
        "dead_lettered": dead,
        "legacy_v1": legacy,
        "legacy_v1_final": legacy_final,
        "elapsed_s": elapsed,
        "orders_per_min": (completed + failed) / elapsed * 60 if elapsed else 0.0,
        "p50": _pct(latencies, 0.50),
        "p95": _pct(latencies, 0.95),
        "p99": _pct(latencies, 0.99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "handled": {},
        "example_order": next((i for i in ids if not i.startswith("legacy-")), ""),
    }


def print_summary(s: dict[str, object], run: Run) -> None:
    handled = s["handled"]
    assert isinstance(handled, dict)
    rows = [
        (
            "orders placed",
            f"{s['placed']} (of which {s['legacy_v1']} v1 events from an old producer)",
        ),
        ("completed", str(s["completed"])),
        ("payment failed", str(s["payment_failed"])),
        ("dead-lettered", str(s["dead_lettered"])),
        ("v1 events handled", f"{s['legacy_v1_final']}/{s['legacy_v1']} reached a final state"),
        ("throughput", f"{s['orders_per_min']:,.0f} orders/min over {s['elapsed_s']:.1f} s"),
        (
            "end-to-end latency",
            f"p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms, p99 {s['p99']:.0f} ms",
        ),
        ("handled per service", ", ".join(f"{k} {v}" for k, v in handled.items())),
        ("metrics", "each service served /metrics (ports above) while it ran"),
        ("traces", f"{run.trace_file} (one JSON span per line; one order's trace below)"),
        ("service logs", f"{run.logs}/<service>.log (structured JSON)"),
        ("status", "schemabus status (with SCHEMABUS_REDIS_URL set) shows streams, lag, DLQ"),
    ]
    if run.killed:
        rows.insert(8, ("killed mid-run", ", ".join(run.killed)))
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
    print()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def amain(args: argparse.Namespace, run: Run) -> int:
    await start_servers(run)
    client = _client(run.redis_url)
    try:
        await reset_state(client, stock=10**9)
    finally:
        await client.aclose()
    start_services(run)
    summary = await drive(run, args.orders, args.concurrency)
    print_summary(summary, run)
    # Services flush their spans on shutdown: stop them, then show one order's trace.
    await asyncio.to_thread(stop_services, run)
    example = str(summary.get("example_order", ""))
    if example:
        from services.trace import load, render, trace_of

        trace = trace_of(load(run.trace_file), example)
        if trace:
            print(f"  one order's trace ({example}), from {run.trace_file}:")
            for line in render(trace):
                print(f"    {line}")
            print(f"  (any order: .venv/bin/python -m services.trace {run.trace_file} <order-id>)")
            print()
    healthy = (
        summary["completed"] + summary["payment_failed"] == summary["placed"]  # type: ignore[operator]
        and summary["legacy_v1_final"] == summary["legacy_v1"]
    )
    print(
        f"demo: placed={summary['placed']} completed={summary['completed']} "
        f"payment_failed={summary['payment_failed']} dead_lettered={summary['dead_lettered']}"
    )
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="a local Valkey Cluster and NATS cluster, 2 replicas per service; kills a "
        "Redis master, a NATS node and a payment replica mid-run",
    )
    args = parser.parse_args(argv)
    if args.orders < 10:
        parser.error("--orders must be at least 10")
    run = Run(cluster=args.cluster)
    code = 1
    with _sigterm_as_interrupt():
        try:
            code = asyncio.run(amain(args, run))
        except KeyboardInterrupt:
            _say("interrupted; shutting down")
            code = 130
        except Exception as exc:  # the demo reports, then still cleans up
            _say(f"failed: {exc}")
            code = 1
        finally:
            stop_services(run)
            for server in reversed(run.servers):
                server.stop()
            _say("stopped everything it started")
    return code


if __name__ == "__main__":
    sys.exit(main())

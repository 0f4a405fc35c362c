"""`python -m bench` (`make bench`): schemabus side by side with raw redis-py / nats-py.

Starts a fresh redis-server and nats-server through the test kit, runs every suite with
framework and baseline interleaved (A B A B ...), prints a table and writes
bench/results.json. `--only durable --only publish` runs a subset (names below).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from bench import clusters, codegen_bench, faststream_bench, gate_bench, scaleout
from bench.durable import DURABLE, PUBLISH
from bench.faststream_bench import FASTSTREAM_DURABLE, FASTSTREAM_REALTIME
from bench.latency import LATENCY_DURABLE, LATENCY_REALTIME
from bench.profile import profile
from bench.realtime import REALTIME, REQUEST
from bench.report import RESULTS, Workload, machine_info, print_table, write_results
from bench.suite import STOP, Env, Interrupted, Suite, run_suite
from runtime.testkit import NatsServer, RedisServer

T = TypeVar("T")

SUITES: dict[str, Suite] = {
    s.name: s for s in (DURABLE, PUBLISH, REALTIME, REQUEST, LATENCY_DURABLE, LATENCY_REALTIME)
}
if faststream_bench.AVAILABLE:  # the optional third column; skipped when not installed
    SUITES.update({s.name: s for s in (FASTSTREAM_DURABLE, FASTSTREAM_REALTIME)})
CODEGEN = "codegen"
#: Scale-out runs: replica processes, no raw baseline (compared with 1 replica instead).
REPLICAS = "replicas"
TAKEOVER = "takeover"
GATE = "gate"
# Deployments (a Redis Cluster, a replica, a NATS cluster) compared with one server; they
# start ~15 more processes, so they run with --only or --clusters, not by default.
SUITES.update(clusters.SUITES)
DEFAULT_NAMES = [n for n in SUITES if n not in clusters.SUITES] + [
    REPLICAS,
    TAKEOVER,
    CODEGEN,
    GATE,
]

#: `--ablation`: the framework with one feature changed, paired with the same raw
#: baseline again, to show what each feature costs (not part of the default run).
ABLATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("durable", "no tracing hooks", {"tracing": False}),
    ("durable", "dedupe=redelivered", {"dedupe": "redelivered"}),
    ("durable", "dedupe=off (no idempotency checks at read)", {"dedupe": "off"}),
    ("publish", "no tracing hooks", {"tracing": False}),
    ("realtime", "no tracing hooks", {"tracing": False}),
    ("latency-durable", "dedupe=redelivered", {"dedupe": "redelivered"}),
]
NAMES = [*SUITES, REPLICAS, TAKEOVER, CODEGEN, GATE]

#: Events per throughput round. 10,000 keeps the default run near two minutes on a
#: 2-core machine while each timed round still lasts around half a second or more.
DEFAULT_N = 10_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--n", type=int, default=DEFAULT_N, help="events per throughput round")
    p.add_argument("--rounds", type=int, default=5, help="rounds per side (median reported)")
    p.add_argument("--rate", type=int, default=1000, help="events/s of the latency runs")
    p.add_argument(
        "--seconds", type=float, default=1.0, help="length of one latency round per side"
    )
    p.add_argument("--only", action="append", choices=NAMES, metavar="NAME", help=f"one of {NAMES}")
    p.add_argument(
        "--kills", type=int, default=scaleout.KILLS, help="SIGKILLs measured by `takeover`"
    )
    p.add_argument("--output", type=Path, default=RESULTS, help="results JSON path")
    p.add_argument("--clusters", action="store_true", help="also run the cluster/replica suites")
    p.add_argument(
        "--ablation",
        action="store_true",
        help="also run framework variants with tracing off / dedupe=redelivered",
    )
    p.add_argument(
        "--profile",
        choices=list(SUITES),
        metavar="NAME",
        help="instead of benchmarking, run the framework side of one suite under cProfile",
    )
    args = p.parse_args(argv)
    if args.n < 100 or args.rounds < 1 or args.kills < 1:
        p.error("--n must be >= 100, --rounds and --kills >= 1")
    return args


def server_version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


async def interruptible(work: Awaitable[T]) -> T:
    """Run `work`; the first Ctrl-C cancels it and sets `STOP` (checked between sides),
    a second one raises KeyboardInterrupt as usual."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)

    def on_sigint() -> None:
        STOP.set()
        loop.remove_signal_handler(signal.SIGINT)
        task.cancel()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await task
    except asyncio.CancelledError:
        raise Interrupted from None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def run_suites(
    names: list[str], env: Env, rounds: int, info: dict[str, Any]
) -> list[Workload]:
    workloads: list[Workload] = []
    loads = info.setdefault("loadavg_per_suite", {})
    for name in names:
        started = time.perf_counter()
        loads[name] = os.getloadavg()
        print(f"... {name}", file=sys.stderr, flush=True)
        workloads += await run_suite(SUITES[name], env, rounds)
        print(f"    {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return workloads


async def run_scaleout(
    names: list[str], env: Env, args: argparse.Namespace, info: dict[str, Any]
) -> list[Workload]:
    workloads: list[Workload] = []
    loads = info.setdefault("loadavg_per_suite", {})
    for name in (REPLICAS, TAKEOVER):
        if name not in names:
            continue
        started = time.perf_counter()
        loads[name] = os.getloadavg()
        print(f"... {name}", file=sys.stderr, flush=True)
        if name == REPLICAS:
            workloads += await scaleout.replicas(env, args.rounds)
        else:
            workloads += await scaleout.takeover(env, args.kills)
        print(f"    {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return workloads


async def run_ablations(names: list[str], env: Env, rounds: int) -> list[Workload]:
    workloads: list[Workload] = []
    for name, label, changes in ABLATIONS:
        if name not in names:
            continue
        print(f"... {name} [{label}]", file=sys.stderr, flush=True)
        suite = dataclasses.replace(SUITES[name], name=f"{name} [{label}]")
        workloads += await run_suite(suite, dataclasses.replace(env, **changes), rounds)
    return workloads


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names: list[str] = args.only or DEFAULT_NAMES
    if args.clusters:
        names = [*names, *(n for n in clusters.SUITES if n not in names)]
    # The runtime logs NATS disconnects at close as warnings; they would drown the table.
    logging.basicConfig(level=logging.ERROR)
    redis = RedisServer()
    nats = NatsServer(jetstream=False)
    extra: dict[str, Any] = {
        "redis_server": server_version(redis.binary),
        "nats_server": server_version(nats.binary),
        "n": args.n,
        "rounds": args.rounds,
        "latency_rate": args.rate,
        "latency_seconds_per_side": args.seconds * args.rounds,
        "suites": names,
        "ablation": args.ablation,
        "faststream": _faststream_version(),
    }
    info = machine_info(extra)
    workloads: list[Workload] = []
    started = time.perf_counter()
    try:
        redis.start()
        nats.start()
        env = Env(redis.url, nats.url, args.n, rate=args.rate, seconds=args.seconds)
        if args.profile:
            print(asyncio.run(interruptible(profile(SUITES[args.profile], env))))
            return 0
        suites = [n for n in names if n in SUITES]
        workloads = asyncio.run(interruptible(run_suites(suites, env, args.rounds, info)))
        if args.ablation:
            workloads += asyncio.run(interruptible(run_ablations(suites, env, args.rounds)))
        workloads += asyncio.run(interruptible(run_scaleout(names, env, args, info)))
        if CODEGEN in names:
            print(f"... {CODEGEN}", file=sys.stderr, flush=True)
            workloads += codegen_bench.run(args.rounds)
        if GATE in names:
            print(f"... {GATE}", file=sys.stderr, flush=True)
            workloads += gate_bench.run(args.rounds, redis.url)
    except (KeyboardInterrupt, Interrupted):
        print("interrupted; servers stopped, nothing written", file=sys.stderr)
        return 130
    finally:
        clusters.close()
        nats.close()
        redis.close()
    info["loadavg_at_end"] = os.getloadavg()
    info["deployments"] = clusters.describe()
    info["wall_s"] = round(time.perf_counter() - started, 1)
    print()
    print_table(workloads)
    print(
        f"\nload average (1/5/15 min) before {_load(info['loadavg_at_start'])}, after "
        f"{_load(info['loadavg_at_end'])} on {info['cores']} cores; the benchmark itself adds "
        f"about 1.5, more means other processes competed. Run took {info['wall_s']}s."
    )
    write_results(workloads, info, args.output)
    print(f"wrote {args.output}")
    return 0


def _faststream_version() -> str | None:
    if not faststream_bench.AVAILABLE:
        return None
    from importlib.metadata import version

    return version("faststream")


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    raise SystemExit(main())

"""`schemabus`: run a service, inspect streams and dead letters.

    schemabus run <service> [--wiring MOD:ATTR] [--registry MOD:ATTR] [--upcasters MOD:ATTR]
    schemabus status [--json]
    schemabus deployed [--json]
    schemabus sample --out FILE [--count K] [--stream S]
    schemabus dlq list [--stream S] [--count N] [--json]
    schemabus dlq show <id> [--stream S]
    schemabus dlq replay (<id>... | --all) [--stream S] [--to STREAM] [--validate]
    schemabus dlq purge (<id>... | --all) [--stream S]

Connections come from `--redis-url` / `--nats-url` or the environment (see
`Settings.from_env`). User errors print one line to stderr and exit 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from runtime import cli_dlq
from runtime.errors import ConfigError, SchemabusError, TransportError
from runtime.redis_conn import RedisClient, close_quietly, explain, open_checked
from runtime.settings import Settings
from runtime.spec import Registry, ServiceWiring
from runtime.terminal import json_text, printable, table

DEFAULT_WIRING = "services.{service}:wiring"
DEFAULT_REGISTRY = "generated.registry:REGISTRY"
DEFAULT_UPCASTERS = "services.upcasters:UPCASTERS"


UsageError = cli_dlq.UsageError


def load_object(path: str, what: str) -> Any:
    """Import `package.module:attribute`."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} must look like 'package.module:attribute', got {path!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `schemabus run` from a project checkout
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import {what} module {module_name!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{module_name} has no {attr!r} ({what})") from None


def _url_overrides(args: argparse.Namespace) -> dict[str, str]:
    """`--redis-url` / `--nats-url` as the environment variables they override, so that
    every other setting (TLS files, timeouts) applies to them as it does from the env."""
    overrides: dict[str, str] = {}
    if args.redis_url:
        overrides["SCHEMABUS_REDIS_URL"] = args.redis_url
    if args.nats_url:
        overrides["SCHEMABUS_NATS_URL"] = args.nats_url
    return overrides


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env({**os.environ, **_url_overrides(args)})


@contextlib.asynccontextmanager
async def _admin_client(settings: Settings) -> AsyncIterator[RedisClient]:
    """A client for one admin command: connected within the start-up deadline, and every
    command bounded by it too, so `status` and `dlq` never hang on a silent server."""
    if settings.redis is None:
        raise ConfigError("this command needs Redis: set SCHEMABUS_REDIS_URL or --redis-url")
    client = await open_checked(settings.redis, command_timeouts=True)
    try:
        yield client
    except RedisError as exc:
        raise TransportError(explain(exc, settings.redis)) from None
    finally:
        await close_quietly(client)


# --- run ------------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> int:
    from runtime.bus import run_service
    from runtime.logs import configure

    configure(args.log_format, args.log_level)
    settings = _settings(args)
    # The service's own code (its state store, for one) reads the same variables.
    os.environ.update(_url_overrides(args))
    if args.consumer:
        os.environ["SCHEMABUS_CONSUMER"] = args.consumer
    wiring_path = args.wiring or os.environ.get("SCHEMABUS_WIRING") or DEFAULT_WIRING
    wiring_factory = load_object(wiring_path.format(service=args.service), "wiring")
    wiring = wiring_factory() if callable(wiring_factory) else wiring_factory
    if not isinstance(wiring, ServiceWiring):
        raise ConfigError(f"{wiring_path} did not give a ServiceWiring")
    registry = load_object(
        args.registry or os.environ.get("SCHEMABUS_REGISTRY") or DEFAULT_REGISTRY, "registry"
    )
    if not isinstance(registry, Registry):
        raise ConfigError("the registry object is not a runtime.spec.Registry")
    upcasters_path = args.upcasters or os.environ.get("SCHEMABUS_UPCASTERS") or DEFAULT_UPCASTERS
    try:
        upcasters = load_object(upcasters_path, "upcasters")
    except ConfigError:
        if args.upcasters:
            raise
        upcasters = {}  # the default module is optional
    from runtime.observe import observability

    port_text = args.metrics_port or os.environ.get("SCHEMABUS_METRICS_PORT")
    try:
        metrics_port = int(port_text) if port_text else None
    except ValueError:
        raise ConfigError(f"metrics port must be a number, got {port_text!r}") from None
    trace_file = args.trace_file or os.environ.get("SCHEMABUS_TRACE_FILE") or None
    async with observability(
        wiring.name, registry, settings, metrics_port=metrics_port, trace_file=trace_file
    ) as (hooks, track):
        await run_service(
            wiring, registry, settings=settings, upcasters=upcasters, hooks=hooks, on_runner=track
        )
    return 0


# --- status ---------------------------------------------------------------------------


async def _status(args: argparse.Namespace) -> int:
    from runtime.status import status

    async with _admin_client(_settings(args)) as client:
        result = await status(client)
    if args.json:
        print(json_text(_status_json(result), indent=True))
        return 0
    if not result.streams:
        print("no streams")
        return 0
    rows: list[list[Any]] = []
    for st in result.streams:
        for p in st.partitions:
            where = "-" if p.partition is None else p.partition
            if not p.groups:
                rows.append([st.name, where, p.length, "-", "", "", "", "", "", p.dead_letters])
            for g in p.groups:
                lag = "?" if g.lag is None else (f">{g.lag}" if g.lag_capped else g.lag)
                age = "" if g.oldest_pending_age_s is None else f"{g.oldest_pending_age_s:.1f}s"
                owner = g.owner or ("(free)" if g.epoch else "")
                epoch = "" if g.epoch is None else g.epoch
                rows.append(
                    [
                        st.name,
                        where,
                        p.length,
                        g.name,
                        owner,
                        epoch,
                        lag,
                        g.pending,
                        age,
                        p.dead_letters,
                    ]
                )
    headers = ["STREAM", "PART", "LENGTH", "GROUP", "OWNER", "EPOCH", "LAG", "PENDING", "OLDEST"]
    print(table([*headers, "DEAD"], rows))
    members = [
        [group, m.name, m.info.get("host", ""), m.info.get("pid", ""), f"{m.expires_in_s:.1f}s"]
        for group, ms in result.members.items()
        for m in ms
    ]
    if members:
        print()
        print(table(["GROUP", "MEMBER", "HOST", "PID", "EXPIRES"], members))
    return 0


def _status_json(result: Any) -> dict[str, Any]:
    """The `status --json` document: streams with their partitions, groups with members."""
    return {
        "streams": [
            {
                "name": st.name,
                "length": st.length,
                "dead_letters": st.dead_letters,
                "partitions": [_asdict(p) for p in st.partitions],
            }
            for st in result.streams
        ],
        "groups": {group: [_asdict(m) for m in ms] for group, ms in result.members.items()},
    }


def _asdict(obj: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(obj)


# --- deployed -------------------------------------------------------------------------


async def _deployed(args: argparse.Namespace) -> int:
    from runtime.deployed import render_text, snapshot
    from runtime.redis_deployed import live_replicas

    async with _admin_client(_settings(args)) as client:
        now_ms, replicas = await live_replicas(client)
    snap = snapshot(replicas, taken_at_ms=now_ms)
    if args.json:
        print(json_text(snap, indent=True, sort_keys=True))
    else:
        print(render_text(snap))
    return 0


# --- sample ---------------------------------------------------------------------------


async def _sample(args: argparse.Namespace) -> int:
    from runtime.sampling import durable_streams, read_streams, write_jsonl

    registry = load_object(
        args.registry or os.environ.get("SCHEMABUS_REGISTRY") or DEFAULT_REGISTRY, "registry"
    )
    if not isinstance(registry, Registry):
        raise ConfigError("the registry object is not a runtime.spec.Registry")
    streams = durable_streams(list(registry.events.values()))
    if args.stream:
        wanted = set(args.stream)
        unknown = sorted(wanted - {s for s, _ in streams})
        if unknown:
            raise UsageError(f"no durable stream {unknown[0]!r} in the registry")
        streams = [s for s in streams if s[0] in wanted]
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    async with _admin_client(_settings(args)) as client:
        samples = await read_streams(client, streams, args.count)
    if args.out == "-":
        n = write_jsonl(samples, sys.stdout.buffer)
    else:
        with open(args.out, "wb") as out:
            n = write_jsonl(samples, out)
    names = ", ".join(s for s, _ in streams) or "no durable streams"
    print(f"schemabus: sampled {n} entries ({names}) to {args.out}", file=sys.stderr)
    return 0


# --- dlq ------------------------------------------------------------------------------


async def _dlq(args: argparse.Namespace) -> int:
    settings = _settings(args)

    def registry() -> Registry:
        path = args.registry or os.environ.get("SCHEMABUS_REGISTRY") or DEFAULT_REGISTRY
        return cli_dlq.load_registry(path, load_object)

    async with _admin_client(settings) as client:
        return await cli_dlq.run(
            client, args, max_bytes=settings.consumer.max_payload_bytes, registry=registry
        )


# --- entry point ----------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="schemabus", description="Run and operate schemabus services.")
    p.add_argument("--redis-url", help="default: $SCHEMABUS_REDIS_URL or redis://localhost:6379/0")
    p.add_argument("--nats-url", help="comma-separated servers; default: $SCHEMABUS_NATS_URL")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one service until SIGTERM/SIGINT")
    run.add_argument("service")
    run.add_argument("--wiring", help=f"default: {DEFAULT_WIRING} ($SCHEMABUS_WIRING)")
    run.add_argument("--registry", help=f"default: {DEFAULT_REGISTRY} ($SCHEMABUS_REGISTRY)")
    run.add_argument("--upcasters", help=f"default: {DEFAULT_UPCASTERS} ($SCHEMABUS_UPCASTERS)")
    run.add_argument("--consumer", help="consumer name (default: $SCHEMABUS_CONSUMER or host-pid)")
    run.add_argument("--log-format", choices=["json", "text"], default="json")
    run.add_argument(
        "--metrics-port", help="serve Prometheus /metrics on this port ($SCHEMABUS_METRICS_PORT)"
    )
    run.add_argument(
        "--trace-file",
        help="write OpenTelemetry spans as JSON lines here, '-' = stderr ($SCHEMABUS_TRACE_FILE)",
    )
    run.add_argument("--log-level", default="INFO")

    st = sub.add_parser("status", help="streams, groups, lag, pending, dead letters")
    st.add_argument("--json", action="store_true")

    dep = sub.add_parser(
        "deployed", help="running services: what each replica reads and writes, since when"
    )
    dep.add_argument(
        "--json", action="store_true", help="a snapshot for `codegen check --deployed FILE`"
    )

    smp = sub.add_parser(
        "sample", help="the last entries of every durable stream, as JSON lines (payloads!)"
    )
    smp.add_argument("--out", required=True, help="file to write ('-' = stdout)")
    smp.add_argument("--count", type=int, default=1000, help="entries per stream (default 1000)")
    smp.add_argument("--stream", action="append", help="only this stream (repeatable)")
    smp.add_argument("--registry", help=f"default: {DEFAULT_REGISTRY} ($SCHEMABUS_REGISTRY)")

    cli_dlq.add_parser(sub, DEFAULT_REGISTRY)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handlers = {
        "run": _run,
        "status": _status,
        "deployed": _deployed,
        "sample": _sample,
        "dlq": _dlq,
    }
    try:
        return asyncio.run(handlers[args.command](args))
    except KeyboardInterrupt:
        return 130
    except (SchemabusError, LookupError) as exc:
        print(f"schemabus: {printable(str(exc))}", file=sys.stderr)
        return 2
    except RedisError as exc:
        # Start-up and admin paths explain their Redis failures; this is what is left
        # (e.g. a running service losing Redis for good).
        print(
            f"schemabus: Redis failed: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr
        )
        return 2
    except OSError as exc:
        print(f"schemabus: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

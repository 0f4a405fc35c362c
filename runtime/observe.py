"""What `schemabus run` switches on for observability, from flags or the environment.

- metrics: `--metrics-port` / `SCHEMABUS_METRICS_PORT` serves Prometheus `/metrics` on
  `SCHEMABUS_METRICS_ADDR` (default 127.0.0.1); stream lag, pending and dead letters are
  sampled from Redis every `SCHEMABUS_METRICS_INTERVAL_S` seconds (default 5).
- tracing: `--trace-file` / `SCHEMABUS_TRACE_FILE` installs the OpenTelemetry SDK with an
  exporter writing one JSON span per line to that file (`-` for stderr). Without it no
  SDK is installed and tracing costs next to nothing (the hooks step aside).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from runtime.hooks import NO_HOOKS, Hooks
from runtime.settings import Settings
from runtime.spec import Registry

log = logging.getLogger("schemabus.observe")


def _span_line(span: Any) -> str:
    ctx = span.get_span_context()
    parent = span.parent
    record = {
        "name": span.name,
        "kind": str(span.kind).rsplit(".", 1)[-1],
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": str(span.status.status_code).rsplit(".", 1)[-1],
        "attributes": dict(span.attributes or {}),
        "service": span.resource.attributes.get("service.name"),
    }
    return json.dumps(record, sort_keys=True, default=str) + "\n"


def tracer_provider(service: str, trace_file: str) -> Any:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        from runtime.errors import ConfigError

        raise ConfigError(
            "tracing needs the OpenTelemetry SDK: pip install opentelemetry-sdk"
        ) from None
    try:
        out: IO[str] = sys.stderr if trace_file == "-" else open(trace_file, "a", buffering=1)  # noqa: SIM115
    except OSError as exc:
        from runtime.errors import ConfigError

        raise ConfigError(
            f"cannot write the trace file {trace_file!r}: {exc.strerror or exc}; choose "
            "another --trace-file (SCHEMABUS_TRACE_FILE), or '-' for stderr"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = ConsoleSpanExporter(out=out, formatter=_span_line)
    # Batched: writing spans never sits on the event path.
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


@contextlib.asynccontextmanager
async def observability(
    service: str,
    registry: Registry,
    settings: Settings,
    *,
    metrics_port: int | None,
    trace_file: str | None,
) -> AsyncIterator[tuple[Hooks, Callable[[Any], None]]]:
    """Yields the hooks for the bus and a `track(runner)` callback."""
    from runtime.tracing import tracing_hooks

    provider = tracer_provider(service, trace_file) if trace_file else None
    hooks = tracing_hooks(provider, service=service, registry=registry) if provider else NO_HOOKS
    if provider is None:
        # No SDK: keep propagating traceparent from what we handle into what we publish.
        hooks = tracing_hooks(service=service, registry=registry)
    sampler: asyncio.Task[None] | None = None
    track: Callable[[Any], None] = lambda runner: None  # noqa: E731
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from runtime.metrics import Metrics

        metrics = Metrics()
        hooks = Hooks.combine(hooks, metrics.hooks(service))
        addr = os.environ.get("SCHEMABUS_METRICS_ADDR", "127.0.0.1")
        try:
            start_http_server(metrics_port, addr=addr)
        except OSError as exc:
            from runtime.errors import ConfigError

            raise ConfigError(
                f"cannot serve metrics on {addr}:{metrics_port}: {exc.strerror or exc}; choose "
                "another --metrics-port (SCHEMABUS_METRICS_PORT) or SCHEMABUS_METRICS_ADDR"
            ) from None
        log.info("metrics on http://%s:%d/metrics", addr, metrics_port)
        track = metrics.track
        if settings.redis is not None:
            sampler = asyncio.create_task(_sample(metrics, settings))
    try:
        yield hooks, track
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        if provider is not None:
            provider.shutdown()


async def _sample(metrics: Any, settings: Settings) -> None:
    from runtime.redis_conn import explain, make_client

    if settings.redis is None:
        return
    interval = float(os.environ.get("SCHEMABUS_METRICS_INTERVAL_S", "5"))
    client = make_client(settings.redis)
    deadline = settings.redis.startup_timeout_s
    try:
        while True:
            try:
                # Bounded: a silent Redis must not freeze the gauges without a word.
                async with asyncio.timeout(deadline):
                    await metrics.refresh_streams(client)
            except Exception as exc:  # a sampling failure must never stop the service
                log.warning("could not sample stream metrics: %s", explain(exc, settings.redis))
            await asyncio.sleep(interval)
    finally:
        await client.aclose()

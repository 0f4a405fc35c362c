"""Prometheus metrics: throughput, handler latency, retries, dead letters, lag, pending.

    metrics = Metrics()                       # or Metrics(registry=CollectorRegistry())
    bus = await Bus.connect(..., hooks=metrics.hooks("payment"))
    runner = bus.service(wiring); metrics.track(runner)
    await metrics.refresh_streams(redis_client)   # e.g. every 15 s: lag, pending, DLQ size

Per-event cost is one histogram observation and one counter increment on label children
bound at start-up; retries and dead letters are read from the engine's own counters at
scrape time, so they cost nothing on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from runtime import admin
from runtime.envelope import Envelope
from runtime.hooks import Hooks
from runtime.spec import Context, EventHandler, EventSpec

if TYPE_CHECKING:
    from runtime.service import ServiceRunner


class _EngineCollector(Collector):
    def __init__(self) -> None:
        self.runners: list[ServiceRunner] = []

    def collect(self) -> Iterator[CounterMetricFamily]:
        retries = CounterMetricFamily(
            "schemabus_retries", "Handler retries scheduled.", labels=["consumer"]
        )
        dead = CounterMetricFamily(
            "schemabus_dead_lettered", "Entries sent to a dead-letter stream.", labels=["consumer"]
        )
        skipped = CounterMetricFamily(
            "schemabus_duplicates_skipped",
            "Deliveries of already completed events acknowledged without running the handler.",
            labels=["consumer"],
        )
        for runner in self.runners:
            for c in runner.consumers:
                retries.add_metric([c.name], c.retries)
                dead.add_metric([c.name], c.dead_lettered)
                skipped.add_metric([c.name], c.skipped)
        yield retries
        yield dead
        yield skipped


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or DEFAULT_REGISTRY
        self.registry = r
        self.published = Counter(
            "schemabus_published", "Events published.", ["source", "type"], registry=r
        )
        self.handled = Counter(
            "schemabus_handled",
            "Handler runs by outcome (error = will be retried or dead-lettered).",
            ["service", "type", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "schemabus_handler_seconds",
            "Handler latency.",
            ["service", "type"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.lag = Gauge(
            "schemabus_group_lag",
            "Entries not yet delivered to the group.",
            ["stream", "group"],
            registry=r,
        )
        self.pending = Gauge(
            "schemabus_group_pending",
            "Entries delivered and not yet acknowledged.",
            ["stream", "group"],
            registry=r,
        )
        self.oldest_pending = Gauge(
            "schemabus_group_oldest_pending_seconds",
            "Age of the oldest pending entry.",
            ["stream", "group"],
            registry=r,
        )
        self.dead_letter_entries = Gauge(
            "schemabus_dead_letter_entries",
            "Entries in the stream's dead-letter stream.",
            ["stream"],
            registry=r,
        )
        self.requests = Histogram(
            "schemabus_request_seconds",
            "Request/reply round trips (NATS) by operation and outcome.",
            ["operation", "outcome"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._engine = _EngineCollector()
        r.register(self._engine)

    def hooks(self, service: str) -> Hooks:
        published = self.published

        def on_publish(envelopes: Sequence[Envelope]) -> None:
            for env in envelopes:
                published.labels(env.source, env.type).inc()

        def middleware(spec: EventSpec, handler: EventHandler) -> EventHandler:
            ok = self.handled.labels(service, spec.type, "ok")
            error = self.handled.labels(service, spec.type, "error")
            observe = self.latency.labels(service, spec.type).observe
            clock = time.perf_counter

            async def measured(event: Any, ctx: Context) -> None:
                start = clock()
                try:
                    await handler(event, ctx)
                except Exception:
                    error.inc()
                    raise
                finally:
                    observe(clock() - start)
                ok.inc()

            return measured

        requests = self.requests

        def on_request(operation: str, seconds: float, outcome: str) -> None:
            requests.labels(operation, outcome).observe(seconds)

        return Hooks(middleware=(middleware,), on_publish=(on_publish,), on_request=(on_request,))

    def track(self, runner: ServiceRunner) -> None:
        """Export the runner's retry, dead-letter and duplicate counters."""
        self._engine.runners.append(runner)

    async def refresh_streams(self, client: Any) -> None:
        """Read lag, pending and dead-letter counts from Redis (`client`: redis.asyncio)."""
        for stream in await admin.status(client):
            self.dead_letter_entries.labels(stream.name).set(stream.dead_letters)
            for g in stream.groups:
                if g.lag is not None:
                    self.lag.labels(stream.name, g.name).set(g.lag)
                self.pending.labels(stream.name, g.name).set(g.pending)
                self.oldest_pending.labels(stream.name, g.name).set(g.oldest_pending_age_s or 0)

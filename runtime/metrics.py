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
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from runtime.envelope import Envelope
from runtime.hooks import Hooks
from runtime.spec import Context, EventHandler, EventSpec
from runtime.status import status

if TYPE_CHECKING:
    from runtime.service import ServiceRunner


class _EngineCollector(Collector):
    def __init__(self) -> None:
        self.runners: list[ServiceRunner] = []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
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
        changes = CounterMetricFamily(
            "schemabus_partition_ownership_changes",
            "Partitions this member acquired, handed off or lost.",
            labels=["consumer"],
        )
        takeovers = CounterMetricFamily(
            "schemabus_partition_takeovers",
            "Partitions acquired after waiting for their previous owner (handed off or dead).",
            labels=["consumer"],
        )
        takeover_s = CounterMetricFamily(
            "schemabus_partition_takeover_seconds",
            "Total time partitions were wanted by this member before it got their lease.",
            labels=["consumer"],
        )
        owned = GaugeMetricFamily(
            "schemabus_partitions_owned", "Partitions this member holds.", labels=["consumer"]
        )
        for runner in self.runners:
            for c in runner.consumers:
                retries.add_metric([c.name], c.retries)
                dead.add_metric([c.name], c.dead_lettered)
                skipped.add_metric([c.name], c.skipped)
                if c.ownership is not None:
                    changes.add_metric([c.name], c.ownership.changes)
                    takeovers.add_metric([c.name], len(c.ownership.takeover_s))
                    takeover_s.add_metric([c.name], sum(c.ownership.takeover_s))
                    owned.add_metric([c.name], len(c.ownership.tokens))
        yield retries
        yield dead
        yield skipped
        yield changes
        yield takeovers
        yield takeover_s
        yield owned


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
            ["stream", "partition", "group"],
            registry=r,
        )
        self.pending = Gauge(
            "schemabus_group_pending",
            "Entries delivered and not yet acknowledged.",
            ["stream", "partition", "group"],
            registry=r,
        )
        self.oldest_pending = Gauge(
            "schemabus_group_oldest_pending_seconds",
            "Age of the oldest pending entry.",
            ["stream", "partition", "group"],
            registry=r,
        )
        self.dead_letter_entries = Gauge(
            "schemabus_dead_letter_entries",
            "Entries in the partition's dead-letter stream.",
            ["stream", "partition"],
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
        """Read lag, pending and dead-letter counts per partition from Redis."""
        result = await status(client)
        for stream in result.streams:
            for p in stream.partitions:
                part = "" if p.partition is None else str(p.partition)
                self.dead_letter_entries.labels(stream.name, part).set(p.dead_letters)
                for g in p.groups:
                    if g.lag is not None:
                        self.lag.labels(stream.name, part, g.name).set(g.lag)
                    self.pending.labels(stream.name, part, g.name).set(g.pending)
                    age = g.oldest_pending_age_s or 0
                    self.oldest_pending.labels(stream.name, part, g.name).set(age)

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

from runtime.bus import Bus
from runtime.hooks import Hooks
from runtime.memory import MemoryTransport
from runtime.metrics import Metrics
from runtime.redis_streams import RedisTransport
from runtime.settings import Settings
from runtime.spec import Context, ServiceWiring, Subscription
from runtime.tracing import tracing_hooks
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2


async def _until(cond: Any) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_spans_link_publish_process_and_the_next_publish() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    hooks = tracing_hooks(provider)
    transport = MemoryTransport()
    settings = Settings(redis=None, consumer=FAST)
    producer = Bus.in_memory(REGISTRY, source="p", transport=transport, hooks=hooks)
    relay_bus = Bus.in_memory(
        REGISTRY, source="relay", transport=transport, hooks=hooks, settings=settings
    )
    seen: list[int] = []

    async def relay(event: OrderCreatedV2, ctx: Context) -> None:
        seen.append(event.total)
        if event.total == 0:
            await ctx.publish(OrderCreatedV2(order_id="a", total=1))
        if event.total == 1 and len(seen) == 2:
            raise ValueError("fails once")

    runner = relay_bus.service(ServiceWiring("relay", (Subscription(ORDER_V2, relay),)))
    await runner.start()
    await producer.publish(OrderCreatedV2(order_id="a", total=0))
    await _until(lambda: runner.handled == 2)
    await runner.stop()
    spans = exporter.get_finished_spans()
    publish = [s for s in spans if s.kind == SpanKind.PRODUCER]
    process = [s for s in spans if s.kind == SpanKind.CONSUMER]
    assert len(publish) == 2 and len(process) == 3  # one process span failed and retried
    trace_ids = {s.context.trace_id for s in spans}
    assert len(trace_ids) == 1  # one trace across both hops
    first_publish = next(s for s in publish if s.parent is None)
    first_process = next(
        s for s in process if s.parent and s.parent.span_id == first_publish.context.span_id
    )
    second_publish = next(s for s in publish if s is not first_publish)
    assert second_publish.parent is not None
    assert second_publish.parent.span_id == first_process.context.span_id
    assert any(s.status.status_code == StatusCode.ERROR for s in process)


async def test_metrics_count_publish_handle_latency_and_dead_letters() -> None:
    reg = CollectorRegistry()
    metrics = Metrics(registry=reg)
    transport = MemoryTransport()
    settings = Settings(redis=None, consumer=FAST)
    producer = Bus.in_memory(REGISTRY, source="p", transport=transport, hooks=metrics.hooks("p"))
    consumer_bus = Bus.in_memory(
        REGISTRY,
        source="s",
        transport=transport,
        hooks=Hooks.combine(metrics.hooks("s")),
        settings=settings,
    )

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        if event.total == 3:
            raise RuntimeError("poison")

    runner = consumer_bus.service(ServiceWiring("s", (Subscription(ORDER_V2, handler),)))
    metrics.track(runner)
    await runner.start()
    await producer.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(5)])
    await _until(lambda: runner.handled == 4 and runner.dead_lettered == 1)
    await runner.stop()

    def value(name: str, **labels: str) -> float:
        v = reg.get_sample_value(name, labels)
        return 0.0 if v is None else v

    assert value("schemabus_published_total", source="p", type="order.created") == 5
    assert value("schemabus_handled_total", service="s", type="order.created", outcome="ok") == 4
    errors = value("schemabus_handled_total", service="s", type="order.created", outcome="error")
    assert errors == ORDER_V2.retry.max_deliveries
    assert value("schemabus_handler_seconds_count", service="s", type="order.created") == 4 + errors
    assert value("schemabus_dead_lettered_total", consumer="s/durable") == 1
    assert (
        value("schemabus_retries_total", consumer="s/durable") == ORDER_V2.retry.max_deliveries - 1
    )


@pytest.mark.redis
async def test_metrics_refresh_streams_from_redis(redis_url: str) -> None:
    r = aioredis.Redis.from_url(redis_url)
    await r.flushall()
    bus = Bus(REGISTRY, source="p", durable=RedisTransport.from_url(redis_url), live=None)
    await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(7)])
    await r.xgroup_create("orders", "payment", id="0")
    await r.xreadgroup("payment", "c", {"orders": ">"}, count=2)
    reg = CollectorRegistry()
    metrics = Metrics(registry=reg)
    await metrics.refresh_streams(r)
    labels = {"stream": "orders", "partition": "", "group": "payment"}
    assert reg.get_sample_value("schemabus_group_lag", labels) == 5
    assert reg.get_sample_value("schemabus_group_pending", labels) == 2
    assert (
        reg.get_sample_value("schemabus_dead_letter_entries", {"stream": "orders", "partition": ""})
        == 0
    )
    await bus.close()
    await r.aclose()

"""Observability on real servers: one order is one trace across services, and a running
`schemabus run` process serves Prometheus metrics that move as it handles events."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from generated.models import OrderCreatedV2, OrderPlaceReplyV1, OrderPlaceRequestV1
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.hooks import Hooks
from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings
from runtime.state import RedisState
from runtime.testkit import NatsServer, RedisServer, free_port
from runtime.tracing import tracing_hooks
from services.inventory import STOCK
from tests.services.system import running_services

pytestmark = [pytest.mark.redis, pytest.mark.nats]
REPO = Path(__file__).resolve().parents[2]


async def test_one_order_is_one_trace(redis_server: RedisServer, nats_server: NatsServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    await client.hset(STOCK, mapping={"SKU-A": 100})
    settings = Settings(
        redis=RedisSettings.from_url(redis_server.url),
        nats=NatsSettings.from_url(nats_server.url),
        consumer=ConsumerSettings(block_ms=50),
    )
    state = RedisState.from_url(redis_server.url)

    def traced(name: str) -> Hooks:
        return tracing_hooks(provider, service=name, registry=REGISTRY)

    try:
        async with running_services(settings, state, prefix="trace", hooks_for=traced):
            front = await Bus.connect(settings, REGISTRY, source="client")
            try:
                line = {
                    "sku": "SKU-A",
                    "quantity": 2,
                    "unit_price": {"amount_minor": 10, "currency": "EUR"},
                }
                request = OrderPlaceRequestV1.model_validate({"customer_id": "c", "items": [line]})
                place = REGISTRY.operations["order.place"]
                reply = await front.request(place, request, OrderPlaceReplyV1)
                deadline = time.monotonic() + 15
                while not any(
                    s.name == "process inventory.update" for s in exporter.get_finished_spans()
                ):
                    assert time.monotonic() < deadline, [
                        s.name for s in exporter.get_finished_spans()
                    ]
                    await asyncio.sleep(0.05)
            finally:
                await front.close()
    finally:
        await state.close()
        await client.aclose()
    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1, "one order, one trace"
    by_id = {s.context.span_id: s for s in spans}
    leaf = next(s for s in spans if s.name == "process inventory.update")
    chain = []
    node = leaf
    while node is not None:
        chain.append((node.name, node.kind))
        node = by_id.get(node.parent.span_id) if node.parent is not None else None
    assert list(reversed(chain)) == [
        ("publish orders", SpanKind.PRODUCER),
        ("process orders", SpanKind.CONSUMER),
        ("publish payments", SpanKind.PRODUCER),
        ("process payments", SpanKind.CONSUMER),
        ("publish inventory.update", SpanKind.PRODUCER),
        ("process inventory.update", SpanKind.CONSUMER),
    ]
    process_orders = next(s for s in spans if s.name == "process orders")
    attrs = dict(process_orders.attributes or {})
    assert attrs["messaging.system"] == "redis"
    assert attrs["messaging.destination.name"] == "orders"
    assert attrs["messaging.consumer.group.name"] == "payment"
    assert attrs["cloudevents.event_subject"] == reply.order_id
    assert attrs["messaging.message.id"]
    inventory = dict(leaf.attributes or {})
    assert inventory["messaging.system"] == "nats"
    assert inventory["messaging.destination.name"] == "inventory.update"


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _value(text: str, prefix: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_running_service_serves_metrics(
    redis_server: RedisServer, nats_server: NatsServer, tmp_path: Path
) -> None:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    port = free_port()
    env = {
        **os.environ,
        "SCHEMABUS_REDIS_URL": redis_server.url,
        "SCHEMABUS_NATS_URL": nats_server.url,
        "SCHEMABUS_METRICS_PORT": str(port),
        "SCHEMABUS_METRICS_INTERVAL_S": "0.2",
        "SCHEMABUS_BLOCK_MS": "50",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "run", "payment"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    producer = await Bus.connect(
        Settings(redis=RedisSettings.from_url(redis_server.url), nats=None), REGISTRY, source="t"
    )
    try:
        deadline = time.monotonic() + 30
        text = ""
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                text = await asyncio.to_thread(_scrape, port)
                break
            except OSError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        assert "schemabus_handler_seconds" in text
        for i in range(3):
            await producer.publish(
                OrderCreatedV2.model_validate(
                    {
                        "order_id": f"o-{i}",
                        "customer_id": "c",
                        "items": [
                            {
                                "sku": "S",
                                "quantity": 1,
                                "unit_price": {"amount_minor": 5, "currency": "EUR"},
                            }
                        ],
                        "total": {"amount_minor": 5, "currency": "EUR"},
                    }
                )
            )
        handled = 'schemabus_handled_total{outcome="ok",service="payment",type="order.created"}'
        while (
            _value(text, handled) != 3.0
            or _value(
                text, 'schemabus_group_pending{group="payment",partition="0",stream="orders"}'
            )
            is None
        ):
            assert time.monotonic() < deadline, text
            await asyncio.sleep(0.1)
            text = await asyncio.to_thread(_scrape, port)
        assert (
            _value(text, 'schemabus_published_total{source="payment",type="payment.processed"}')
            == 3.0
        )
        assert (
            _value(text, 'schemabus_handler_seconds_count{service="payment",type="order.created"}')
            == 3.0
        )
        assert _value(text, 'schemabus_dead_letter_entries{partition="0",stream="orders"}') == 0.0
        # One replica owns all four partitions of `orders`.
        assert _value(text, 'schemabus_partitions_owned{consumer="payment/durable"}') == 4.0
    finally:
        await producer.close()
        await client.aclose()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0

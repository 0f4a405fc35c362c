"""A failing event leaves one structured log line per failure, located by event id, type,
version, aggregate id and trace ids, with the reason, and without the payload."""

from __future__ import annotations

import logging

import orjson
import pytest

from generated.models import PaymentFailedV1
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.logs import JsonFormatter
from runtime.memory import MemoryTransport
from runtime.settings import ConsumerSettings, Settings
from runtime.spec import Context, ServiceWiring, Subscription

FAST = Settings(redis=None, consumer=ConsumerSettings(block_ms=5))


async def test_failure_lines_are_located_and_carry_no_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(event: PaymentFailedV1, ctx: Context) -> None:
        raise RuntimeError("card service down")

    spec = REGISTRY.spec("payment.failed", 1)
    transport = MemoryTransport()
    bus = Bus.in_memory(REGISTRY, source="t", transport=transport, settings=FAST)
    runner = bus.service(ServiceWiring("svc", (Subscription(spec, broken),)))
    event = PaymentFailedV1(order_id="ord-77", reason="card_declined", detail="SECRET-DETAIL")
    event_id = await bus.publish(event)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    partition = spec.route(event.order_id)  # `payments` is partitioned
    log = transport.log(partition)
    log.entries[log.ids[0]][b"traceparent"] = traceparent.encode()
    with caplog.at_level(logging.WARNING, logger="schemabus"):
        for _ in range(spec.retry.max_deliveries + 2):
            await runner.drain()
    failures = [r for r in caplog.records if getattr(r, "event_id", None) == event_id]
    assert len(failures) >= spec.retry.max_deliveries  # retries + give up + dead letter
    dead = [r for r in failures if getattr(r, "reason", None) == "handler_failed"]
    assert len(dead) == 1
    line = orjson.loads(JsonFormatter().format(dead[0]))
    assert line["event_type"] == "payment.failed"
    assert line["event_version"] == 1
    assert line["aggregate_id"] == "ord-77"
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["span_id"] == "b7ad6b7169203331"
    assert "card service down" in line["msg"]
    for record in failures:
        assert "SECRET-DETAIL" not in JsonFormatter().format(record)
    assert runner.dead_lettered == 1

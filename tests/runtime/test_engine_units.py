"""Small pieces of the engine: backoff, JSON logs, settings knobs, drain() for handler tests."""

from __future__ import annotations

import logging

import orjson
import pytest

from runtime.backoff import delay_s as backoff_s
from runtime.bus import Bus
from runtime.errors import ConfigError
from runtime.logs import JsonFormatter
from runtime.memory import MemoryTransport
from runtime.settings import Settings
from runtime.spec import Context, RetryPolicy, ServiceWiring, Subscription
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_deliveries=10, backoff_ms=100, backoff_max_ms=1000)
    for attempts, full in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (60, 1.0)):
        samples = [backoff_s(policy, attempts) for _ in range(200)]
        assert all(full / 2 <= s <= full for s in samples)
        assert len({round(s, 6) for s in samples}) > 1  # jitter


def test_json_log_lines_carry_extras() -> None:
    record = logging.LogRecord(
        "schemabus.x", logging.WARNING, __file__, 1, "hello %s", ("w",), None
    )
    record.stream = "orders"
    doc = orjson.loads(JsonFormatter().format(record))
    assert doc["msg"] == "hello w" and doc["level"] == "warning" and doc["stream"] == "orders"


def test_dedupe_setting_from_env() -> None:
    assert Settings.from_env({}).consumer.dedupe == "always"
    assert Settings.from_env({"SCHEMABUS_DEDUPE": "redelivered"}).consumer.dedupe == "redelivered"
    with pytest.raises(ConfigError, match="SCHEMABUS_DEDUPE"):
        Settings.from_env({"SCHEMABUS_DEDUPE": "sometimes"})


async def test_handler_test_with_in_memory_bus_and_drain() -> None:
    """How a service's handler test looks: no servers, no sleeps."""
    transport = MemoryTransport()
    producer = Bus.in_memory(REGISTRY, source="order", transport=transport)
    consumer = Bus.in_memory(
        REGISTRY,
        source="payment",
        transport=transport,
        settings=Settings(redis=None, consumer=FAST),
    )
    totals: list[int] = []

    async def on_order_created(event: OrderCreatedV2, ctx: Context) -> None:
        totals.append(event.total)

    runner = consumer.service(ServiceWiring("payment", (Subscription(ORDER_V2, on_order_created),)))
    await producer.publish_many([OrderCreatedV2(order_id="o1", total=t) for t in (5, 7)])
    await runner.drain()
    assert totals == [5, 7]
    assert transport.pending_count("orders", "payment") == 0

"""The example system on real redis-server and nats-server (started by the test kit), the
services running in this process through the same `Bus.connect` path `schemabus run` uses."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from generated.models import OrderCreatedV1, OrderPlaceReplyV1, OrderPlaceRequestV1
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.partitioning import partition_keys
from runtime.service import ServiceRunner
from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings
from runtime.state import RedisState
from runtime.testkit import NatsServer, RedisServer
from services.inventory import STOCK
from services.order import COMPLETED, FAILED, order_key
from tests.services.system import running_services

pytestmark = [pytest.mark.redis, pytest.mark.nats]
PLACE = REGISTRY.operations["order.place"]
FAST = ConsumerSettings(block_ms=50)


@dataclass
class Live:
    redis: aioredis.Redis
    client: Bus
    runners: list[ServiceRunner]
    buses: list[Bus]

    async def place(self, **fields: Any) -> OrderPlaceReplyV1:
        return await self.client.request(
            PLACE, OrderPlaceRequestV1.model_validate(fields), OrderPlaceReplyV1
        )

    async def wait_final(self, order_id: str, timeout_s: float = 20) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            order: dict[str, str] = await self.redis.hgetall(order_key(order_id))
            if order.get("status") in ("payment_completed", "payment_failed"):
                return order
            await asyncio.sleep(0.05)
        raise AssertionError(f"order {order_id} did not reach a final state: {order}")


@pytest.fixture
async def live(redis_server: RedisServer, nats_server: NatsServer) -> AsyncIterator[Live]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    await client.hset(STOCK, mapping={"SKU-MUG": 10, "SKU-TEA": 5})
    settings = Settings(
        redis=RedisSettings.from_url(redis_server.url),
        nats=NatsSettings.from_url(nats_server.url),
        consumer=FAST,
    )
    state = RedisState.from_url(redis_server.url)
    async with running_services(settings, state, prefix="test") as (buses, runners):
        front = await Bus.connect(settings, REGISTRY, source="test-client")
        try:
            yield Live(client, front, runners, buses)
        finally:
            await front.close()
            await state.close()
            await client.aclose()


def _line(sku: str, qty: int, cents: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": qty, "unit_price": {"amount_minor": cents, "currency": "EUR"}}


async def _stream(redis: aioredis.Redis, name: str) -> list[dict[str, str]]:
    """Every entry of a stream, over all its partitions, in publish order."""
    n = next(s.partitions for s in REGISTRY.events.values() if s.stream == name)
    rows = []
    for key in partition_keys(name, n):
        rows += await redis.xrange(key)
    rows.sort(key=lambda row: tuple(int(x) for x in row[0].split("-")))
    return [fields for _, fields in rows]


async def test_one_order_through_the_whole_flow(live: Live) -> None:
    reply = await live.place(customer_id="c-1", items=[_line("SKU-MUG", 3, 1000)], channel="web")
    assert reply.accepted
    order = await live.wait_final(reply.order_id)
    assert order["status"] == "payment_completed"
    assert order["total_minor"] == "3000"
    orders = await _stream(live.redis, "orders")
    payments = await _stream(live.redis, "payments")
    assert [e["type"] for e in orders] == ["order.created"]
    assert json.loads(orders[0]["data"])["channel"] == "web"
    assert [e["type"] for e in payments] == ["payment.processed"]
    assert payments[0]["causationid"] == orders[0]["id"]
    # inventory.update is real-time (NATS): wait for the stock to move.
    deadline = time.monotonic() + 10
    while (await live.redis.hget(STOCK, "SKU-MUG")) != "7":
        assert time.monotonic() < deadline, await live.redis.hgetall(STOCK)
        await asyncio.sleep(0.05)
    assert await live.redis.smembers(COMPLETED) == {reply.order_id}


async def test_order_creation_emits_a_payment_event(live: Live) -> None:
    """The seed scenario of the reference architecture, on real servers."""
    reply = await live.place(customer_id="c-2", items=[_line("SKU-TEA", 1, 500)])
    await live.wait_final(reply.order_id)
    payments = await _stream(live.redis, "payments")
    assert len(payments) == 1
    assert json.loads(payments[0]["data"])["order_id"] == reply.order_id


async def test_v1_producer_and_v2_consumer(live: Live) -> None:
    legacy = await Bus.connect(
        Settings(redis=live.buses[0].settings.redis, nats=None), REGISTRY, source="legacy"
    )
    try:
        await live.redis.hset(order_key("legacy-1"), mapping={"status": "created"})
        await legacy.publish(
            OrderCreatedV1.model_validate(
                {
                    "order_id": "legacy-1",
                    "customer_id": "c-old",
                    "items": [_line("SKU-TEA", 1, 200_000)],
                    "total": {"amount_minor": 200_000, "currency": "EUR"},
                }
            )
        )
    finally:
        await legacy.close()
    order = await live.wait_final("legacy-1")
    assert order["status"] == "payment_failed"
    created = await _stream(live.redis, "orders")
    assert created[0]["dataversion"] == "1"
    assert await live.redis.smembers(FAILED) == {"legacy-1"}

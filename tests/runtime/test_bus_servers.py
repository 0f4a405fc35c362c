"""The Bus against real servers: connect from settings, durable vs realtime routing with
the NATS mirror, request/reply, Redis AUTH, and `schemabus run` as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from runtime.bus import Bus
from runtime.errors import TransportError
from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings
from runtime.spec import Context, Responder, ServiceWiring, Subscription
from runtime.testkit import RedisServer
from tests.runtime.harness import FAST
from tests.runtime.models import (
    ORDER_V2,
    REGISTRY,
    RESERVE,
    STOCK,
    OrderCreatedV2,
    ReserveReplyV1,
    ReserveRequestV1,
    StockChangedV1,
)

ROOT = Path(__file__).resolve().parents[2]


async def eventually(cond, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (await cond() if asyncio.iscoroutinefunction(cond) else cond()):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.mark.redis
@pytest.mark.nats
async def test_durable_goes_to_redis_and_nats_mirror_realtime_to_nats_only(
    redis_url: str, nats_url: str
) -> None:
    r = aioredis.Redis.from_url(redis_url)
    await r.flushall()
    settings = Settings(
        redis=RedisSettings.from_url(redis_url),
        nats=NatsSettings.from_url(nats_url),
        consumer=FAST,
    )
    producer = await Bus.connect(settings, REGISTRY, source="producer")
    watcher = await Bus.connect(settings, REGISTRY, source="watcher")
    live_orders: list[OrderCreatedV2] = []
    stock: list[StockChangedV1] = []

    async def on_order(event: OrderCreatedV2, ctx: Context) -> None:
        live_orders.append(event)

    async def on_stock(event: StockChangedV1, ctx: Context) -> None:
        stock.append(event)

    runner = watcher.service(
        ServiceWiring("watcher", (Subscription(ORDER_V2, on_order), Subscription(STOCK, on_stock))),
        live_only=True,
        consumer_name="w1",
    )
    await runner.start()
    await asyncio.sleep(0.2)  # live subscriptions only see what is published after them
    await producer.publish(OrderCreatedV2(order_id="a", total=1))
    await producer.publish(StockChangedV1(sku="x", delta=-1))
    await eventually(lambda: len(live_orders) == 1 and len(stock) == 1)
    assert await r.xlen("orders") == 1  # durable: in the log too
    assert await r.exists(STOCK.subject) == 0  # realtime: NATS only
    await runner.stop()
    await producer.close()
    await watcher.close()
    await r.aclose()


@pytest.mark.nats
async def test_request_reply_over_nats_via_bus_connect(nats_url: str) -> None:
    settings = Settings(redis=None, nats=NatsSettings.from_url(nats_url), consumer=FAST)
    server_bus = await Bus.connect(settings, REGISTRY, source="inventory")
    client_bus = await Bus.connect(settings, REGISTRY, source="order")

    async def reserve(req: ReserveRequestV1, ctx: Context) -> ReserveReplyV1:
        return ReserveReplyV1(sku=req.sku, reserved=True)

    runner = server_bus.service(
        ServiceWiring("inventory", (), responders=(Responder(RESERVE, reserve),))
    )
    await runner.start()
    reply = await client_bus.request(RESERVE, ReserveRequestV1(sku="s", qty=1), ReserveReplyV1)
    assert reply.reserved
    await runner.stop()
    await server_bus.close()
    await client_bus.close()


@pytest.mark.redis
async def test_redis_auth_password_and_acl_user(redis_server_factory) -> None:  # type: ignore[no-untyped-def]
    for options in ({"password": "pa55word"}, {"username": "svc", "password": "pa55word"}):
        server: RedisServer = redis_server_factory(**options)
        settings = Settings(redis=RedisSettings.from_url(server.url), consumer=FAST)
        bus = await Bus.connect(settings, REGISTRY, source="p")
        await bus.publish(OrderCreatedV2(order_id="a", total=1))
        await bus.close()
        wrong = server.url.replace("pa55word", "wrong")
        with pytest.raises(TransportError) as info:
            await Bus.connect(Settings(redis=RedisSettings.from_url(wrong)), REGISTRY, source="p")
        assert "wrong" not in str(info.value) and "pa55word" not in str(info.value)
        assert str(server.port) in str(info.value)


@pytest.mark.redis
async def test_schemabus_run_handles_events_and_stops_gracefully_on_sigterm(
    redis_url: str,
) -> None:
    r = aioredis.Redis.from_url(redis_url)
    await r.flushall()
    settings = Settings(redis=RedisSettings.from_url(redis_url), consumer=ConsumerSettings())
    bus = await Bus.connect(settings, REGISTRY, source="p")
    ids = await bus.publish_many([OrderCreatedV2(order_id=f"o{i}", total=i) for i in range(200)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.cli",
            "run",
            "ledger",
            "--wiring",
            "tests.runtime.service_app:wiring",
            "--registry",
            "tests.runtime.models:REGISTRY",
            "--upcasters",
            "tests.runtime.models:UPCASTERS",
            "--consumer",
            "run-test",
        ],
        cwd=ROOT,
        env={**os.environ, "SCHEMABUS_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        async def all_done() -> bool:
            return int(await r.hlen("ledger")) == len(ids)

        await eventually(all_done)
        more = await bus.publish_many([OrderCreatedV2(order_id="z", total=i) for i in range(50)])
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    _, err = proc.communicate()
    assert code == 0, err.decode()[-2000:]
    ledger = await r.hgetall("ledger")
    assert {v for v in ledger.values()} == {b"1"}
    pending = await r.xpending("orders", "ledger")
    # Whatever the process read before SIGTERM it finished and acked.
    assert pending["pending"] == 0
    assert set(ids) <= {k.decode() for k in ledger}
    assert len(ledger) <= len(ids) + len(more)
    assert b"Traceback" not in err
    await bus.close()
    await r.aclose()

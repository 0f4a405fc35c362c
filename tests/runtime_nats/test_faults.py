"""Fault tests: the NATS server dies under a running service and publisher."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from runtime.bus import Bus
from runtime.nats import NatsTransport
from runtime.settings import ConsumerSettings, NatsSettings
from runtime.spec import Context, EventSpec, Registry, ServiceWiring, Subscription
from runtime.testkit import NatsServer
from tests.runtime_nats.helpers import connect, eventually, unique

pytestmark = [pytest.mark.nats, pytest.mark.slow]

SETTINGS = ConsumerSettings(batch=100, block_ms=50, visibility_timeout_ms=2000)


class TickV1(BaseModel):
    n: int


def _spec() -> EventSpec:
    return EventSpec(
        type="tick",
        version=1,
        model=TickV1,
        schema_json="{}",
        fingerprint="fp-tick",
        delivery="realtime",
        stream=None,
        subject=unique("evt.tick"),
        aggregate_field=None,
        jetstream=True,
    )


@pytest.mark.parametrize("graceful", [True, False], ids=["restart", "kill"])
async def test_jetstream_service_loses_nothing_across_server_restart(
    nats_server_fresh: NatsServer, graceful: bool
) -> None:
    server = nats_server_fresh
    spec = _spec()
    registry = Registry.build([spec])
    total = 1000
    handled: dict[int, int] = {}

    async def handle(event: TickV1, ctx: Context) -> None:
        handled[event.n] = handled.get(event.n, 0) + 1

    consumer_transport = await NatsTransport.connect(
        NatsSettings.from_url(server.url), registry=registry
    )
    producer_transport = await connect(server.url, jetstream=[spec.subject])
    runner = Bus(registry, source="svc", durable=None, live=consumer_transport).service(
        ServiceWiring("svc", (Subscription(spec, handle),)), consumer_name="c1", settings=SETTINGS
    )
    producer = Bus(registry, source="ticker", durable=None, live=producer_transport)
    await runner.start()
    try:

        async def publish_all() -> None:
            for start in range(0, total, 50):
                await producer.publish_many([TickV1(n=n) for n in range(start, start + 50)])
                await asyncio.sleep(0)

        publishing = asyncio.create_task(publish_all())
        await eventually(lambda: len(handled) >= total // 4)
        server.restart(graceful=graceful)  # mid-stream: publishes retry, consumers resume
        await publishing
        await eventually(lambda: len(handled) == total, timeout=60)
        # At-least-once: every event handled; a redelivery across the crash may repeat one.
        assert sorted(handled) == list(range(total))
    finally:
        await runner.stop()
        await consumer_transport.close()
        await producer_transport.close()

"""The deployed registry: what a replica advertises, how it lapses, `schemabus deployed`."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from runtime import cli
from runtime.bus import Bus
from runtime.deployed import (
    SNAPSHOT_FORMAT,
    advertisement,
    fingerprint_of,
    registry_fingerprint,
    render_text,
    snapshot,
)
from runtime.redis_deployed import RedisDeployments, live_replicas
from runtime.redis_streams import RedisTransport
from runtime.service import ServiceRunner
from runtime.settings import Settings
from runtime.spec import Context, Registry, Responder, ServiceWiring, Subscription
from tests.runtime.harness import FAST
from tests.runtime.models import (
    ORDER_V2,
    ORDER_V3,
    PAYMENT,
    REGISTRY,
    RESERVE,
    STOCK,
    UPCASTERS,
)


async def _noop(event: Any, ctx: Context) -> None:
    return None


async def _reply(request: Any, ctx: Context) -> Any:
    raise NotImplementedError


def test_advertisement_states_reads_writes_upcasters_and_registry() -> None:
    wiring = ServiceWiring(
        "billing",
        (Subscription(ORDER_V3, _noop), Subscription(STOCK, _noop)),
        (Responder(RESERVE, _reply),),
        (PAYMENT,),
    )
    doc = advertisement(
        wiring, REGISTRY, UPCASTERS, replica="b-1", group="billing", host="h", pid=7
    )
    assert (doc["service"], doc["replica"], doc["group"], doc["pid"]) == (
        "billing",
        "b-1",
        "billing",
        7,
    )
    order = doc["consumes"][0]
    assert (order["type"], order["version"], order["destination"]) == ("order.created", 3, "orders")
    # Every version its registry knows, and how it reads each: v2 through the upcaster,
    # v3 as is; v1 has no read plan, so this replica would dead-letter it.
    assert order["known"] == {str(v): f"fp-order.created-{v}" for v in (1, 2, 3)}
    assert order["reads"] == {
        "2": {"via": "upcast", "upcasters": [["order.created", 2, 3]]},
        "3": {"via": "direct", "upcasters": []},
    }
    assert order["upcasters"] == [["order.created", 2, 3]]
    stock = doc["consumes"][1]
    assert (stock["delivery"], stock["destination"], stock["upcasters"]) == (
        "realtime",
        "stock.changed",
        [],
    )
    assert doc["produces"] == [
        {
            "type": "payment.processed",
            "version": 1,
            "fingerprint": "fp-payment.processed-1",
            "delivery": "durable",
            "destination": "payments",
            "partitions": 1,
        }
    ]
    assert doc["serves"] == [
        {
            "operation": "inventory.reserve",
            "request": "reserve.request@1",
            "reply": "reserve.reply@1",
        }
    ]
    assert doc["registry"] == fingerprint_of(REGISTRY)
    # A process without the upcaster never starts (the Dispatcher refuses), so the
    # advertisement never claims it can read v2.
    bare = advertisement(wiring, REGISTRY, {}, replica="b-1", group="billing", host="h", pid=7)
    assert bare["consumes"][0]["reads"] == {"3": {"via": "direct", "upcasters": []}}


def test_registry_fingerprint_is_deterministic_and_sensitive() -> None:
    rows = [(s.type, s.version, s.fingerprint) for s in REGISTRY.events.values()]
    assert registry_fingerprint(rows) == registry_fingerprint(reversed(rows))
    assert registry_fingerprint(rows).startswith("sha256:")
    changed = Registry.build(
        [
            dataclasses.replace(s, fingerprint="other") if s.key == ORDER_V2.key else s
            for s in REGISTRY.events.values()
        ]
    )
    assert fingerprint_of(changed) != fingerprint_of(REGISTRY)


def _producer_only() -> ServiceWiring:
    # No subscriptions, no consumer group, no partition heartbeat: the registry must still
    # see it (a service that only writes is exactly what a gate has to know about).
    return ServiceWiring("feeder", (), (), (ORDER_V2,))


async def _wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_producer_only_service_advertises_in_memory_and_leaves_on_stop() -> None:
    bus = Bus.in_memory(REGISTRY, source="feeder", settings=Settings(redis=None, consumer=FAST))
    runner = bus.service(_producer_only(), consumer_name="f-1")
    assert runner.consumers == []
    await runner.start()
    store = bus.durable.deployments() if bus.durable is not None else None
    assert store is not None

    async def listed() -> bool:
        _, docs = await store.live()
        return [(d["service"], d["replica"]) for d in docs] == [("feeder", "f-1")]

    await _wait_for(listed)
    await runner.stop()
    assert (await store.live())[1] == []


def _redis_bus(url: str, registry: Registry = REGISTRY) -> Bus:
    return Bus(
        registry,
        source="t",
        durable=RedisTransport.from_url(url),
        live=None,
        settings=Settings(redis=None, consumer=FAST),
        upcasters=UPCASTERS,
    )


@pytest.mark.redis
async def test_runners_advertise_in_redis_with_since_and_leave_on_stop(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    feeder_bus, payment_bus = _redis_bus(redis_url), _redis_bus(redis_url)
    runners: list[ServiceRunner] = [
        feeder_bus.service(_producer_only(), consumer_name="f-1"),
        payment_bus.service(
            ServiceWiring("payment", (Subscription(ORDER_V2, _noop),), (), (PAYMENT,)),
            consumer_name="p-1",
        ),
    ]
    try:
        for r in runners:
            await r.start()

        async def both() -> bool:
            return len((await live_replicas(redis_client))[1]) == 2

        await _wait_for(both)
        now, docs = await live_replicas(redis_client)
        by_name = {d["service"]: d for d in docs}
        assert by_name["feeder"]["produces"][0]["type"] == "order.created"
        assert by_name["feeder"]["consumes"] == []
        assert by_name["payment"]["consumes"][0]["version"] == 2
        for d in docs:
            assert 0 <= now - d["since_ms"] < 10_000
            assert 0 < d["expires_in_s"] <= FAST.lease_ttl_ms / 1000
        first_since = by_name["payment"]["since_ms"]
        await asyncio.sleep(0.3)  # more heartbeats: `since` stays, the expiry moves on
        _, again = await live_replicas(redis_client)
        assert {d["service"]: d["since_ms"] for d in again}["payment"] == first_since
        await runners[0].stop()
        _, left = await live_replicas(redis_client)
        assert [d["service"] for d in left] == ["payment"]
    finally:
        for r in runners:
            await r.stop()
        await feeder_bus.close()
        await payment_bus.close()
    assert (await live_replicas(redis_client))[1] == []


@pytest.mark.redis
async def test_a_silent_replica_lapses_after_its_ttl_and_a_restart_resets_since(
    redis_client: aioredis.Redis,
) -> None:
    store = RedisDeployments(redis_client)
    doc = orjson.dumps(
        {
            "service": "s",
            "replica": "r",
            "registry": "x",
            "consumes": [],
            "produces": [],
            "serves": [],
        }
    ).decode()
    await store.advertise("junk/1", 300, "boot-1", '{"not": "an advertisement"}')
    await store.advertise("s/r", 300, "boot-1", doc)
    _, docs = await store.live()
    since = docs[0]["since_ms"]
    await asyncio.sleep(0.05)
    await store.advertise("s/r", 300, "boot-1", doc)
    assert (await store.live())[1][0]["since_ms"] == since
    await asyncio.sleep(0.05)
    await store.advertise("s/r", 300, "boot-2", doc)  # a new process under the same name
    assert (await store.live())[1][0]["since_ms"] > since
    await store.withdraw("s/r", "boot-1")  # the old process stopping late removes nothing
    assert len((await store.live())[1]) == 1
    await asyncio.sleep(0.4)  # no heartbeat for longer than the TTL: gone (a SIGKILL)
    assert (await store.live())[1] == []


async def test_advertising_survives_a_broker_outage() -> None:
    from runtime.advertiser import Advertiser

    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        async def advertise(self, member: str, ttl_ms: int, boot: str, document: str) -> None:
            self.calls += 1
            if self.calls <= 2:
                raise ConnectionError("down")

        async def withdraw(self, member: str, boot: str) -> None:
            raise ConnectionError("still down")

        async def live(self) -> tuple[int, list[dict[str, Any]]]:
            return 0, []

    flaky = Flaky()
    adv = Advertiser(flaky, {"service": "s", "replica": "r"}, ttl_ms=300, heartbeat_ms=20)
    adv.start()
    for _ in range(200):
        if adv.beats >= 2:
            break
        await asyncio.sleep(0.01)
    await adv.stop()  # a failing withdraw is logged, not raised
    assert adv.beats >= 2 and flaky.calls >= 4


@pytest.mark.redis
def test_schemabus_deployed_text_and_json(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def run_one() -> tuple[Bus, ServiceRunner]:
        client = aioredis.Redis.from_url(redis_url)
        await client.flushall()
        await client.aclose()
        bus = _redis_bus(redis_url)
        runner = bus.service(
            ServiceWiring("billing", (Subscription(ORDER_V3, _noop),), (), (PAYMENT,)),
            consumer_name="b-1",
        )
        await runner.start()
        assert runner.advertiser is not None
        while runner.advertiser.beats == 0:
            await asyncio.sleep(0.01)
        return bus, runner

    loop = asyncio.new_event_loop()
    try:
        bus, runner = loop.run_until_complete(run_one())
        assert cli.main(["--redis-url", redis_url, "deployed"]) == 0
        text = capsys.readouterr().out
        assert text.startswith("billing  b-1  (host ")
        assert "  reads   order.created v3 (also v2 via upcasters 2->3) (cannot read v1)" in text
        assert "  writes  payment.processed v1  [payments]" in text
        assert cli.main(["--redis-url", redis_url, "deployed", "--json"]) == 0
        snap = orjson.loads(capsys.readouterr().out)
        assert snap["format"] == SNAPSHOT_FORMAT
        assert [(r["service"], r["replica"]) for r in snap["replicas"]] == [("billing", "b-1")]
        (replica,) = snap["replicas"]
        assert replica["since"].endswith("+00:00") and snap["taken_at"] >= replica["since"]
        loop.run_until_complete(runner.stop())
        loop.run_until_complete(bus.close())
    finally:
        loop.close()
    assert render_text(snapshot([], taken_at_ms=0)).startswith("no live services")

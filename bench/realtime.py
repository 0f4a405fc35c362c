"""NATS workloads: core pub/sub end to end, and request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg

from bench.common import (
    BATCH,
    PROBE,
    Counter,
    cached_orders,
    counting_wiring,
    nats_bus,
    raw_nats,
    timeout_for,
)
from bench.events import (
    RESERVE,
    Stopwatch,
    clock,
    raw_headers,
    realtime_registry,
    reserve_reply,
    reserve_request,
)
from bench.suite import P99_GOAL, P99_TARGET, Env, Metric, Suite, latency_stats
from generated.models import InventoryReserveReplyV1, InventoryReserveRequestV1, OrderCreatedV2
from generated.registry import REGISTRY
from runtime.errors import NoRespondersError
from runtime.spec import Context, Responder, ServiceWiring

RT_REGISTRY, RT_SPEC = realtime_registry()
SUBJECT = RT_SPEC.subject
QUEUE = "bench"


async def wait_listening(publish_probe: Callable[[], Awaitable[object]], counter: Counter) -> None:
    """Publish a probe until the subscriber sees it: the framework's consumer joins its
    queue group in a background task, and core NATS drops what nobody listens to."""
    for _ in range(500):
        await publish_probe()
        try:
            await asyncio.wait_for(counter.probe.wait(), 0.02)
            return
        except TimeoutError:
            continue
    raise RuntimeError("the subscriber never received the probe")


async def wait_answered(request: Callable[[], Awaitable[object]], missing: type[Exception]) -> None:
    """Send one request until it is answered, before the clock starts: right after the
    responder's connection flushed its subscription, nats-server still answered "no
    responders" to another connection's first request in about 1 run in 40 here."""
    for _ in range(500):
        try:
            await request()
            return
        except missing:
            await asyncio.sleep(0.01)
    raise RuntimeError("the responder never answered")


# --- core pub/sub end to end ------------------------------------------------------------


async def framework_realtime(env: Env) -> dict[str, float]:
    """publish_many (batches of 100, one PING/PONG each) to a ServiceRunner consuming
    order.created v2 routed as `realtime` (NATS only), tracing hooks on."""
    events = cached_orders(env.n)
    counter = Counter(env.n)
    probe = events[0].model_copy(update={"order_id": PROBE})
    bus = await nats_bus(env, RT_REGISTRY)
    runner = bus.service(counting_wiring(RT_SPEC, counter), consumer_name="bench-0")
    try:
        await runner.start()
        await wait_listening(lambda: bus.publish(probe), counter)
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            await bus.publish_many(events[i : i + BATCH])
        await counter.wait(timeout_for(env.n))
        elapsed, cpu = watch.stop()
    finally:
        await runner.stop()
        await bus.close()
    return {
        "rate": counter.count / elapsed,
        "cpu_us": cpu / max(counter.count, 1) * 1e6,
        "lost": env.n - counter.count,
    }


async def baseline_realtime(env: Env) -> dict[str, float]:
    """nats-py: publish with a minimal header envelope, flush per 100; a queue-group
    subscription callback validates each message with the same model."""
    events = cached_orders(env.n)
    counter = Counter(env.n)
    nc = await raw_nats(env.nats_url)

    async def on_msg(msg: Msg) -> None:
        counter.seen(OrderCreatedV2.model_validate_json(msg.data).order_id)

    try:
        await nc.subscribe(SUBJECT, queue=QUEUE, cb=on_msg)
        await nc.flush()
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            for event in events[i : i + BATCH]:
                data = event.model_dump_json(exclude_none=True).encode()
                await nc.publish(SUBJECT, data, headers=raw_headers())
            await nc.flush()
        await counter.wait(timeout_for(env.n))
        elapsed, cpu = watch.stop()
    finally:
        await nc.drain()
    return {
        "rate": counter.count / elapsed,
        "cpu_us": cpu / max(counter.count, 1) * 1e6,
        "lost": env.n - counter.count,
    }


REALTIME = Suite(
    "realtime",
    (
        Metric("rate", "NATS end-to-end events/s", "ev/s", True, ">= 0.9x", 0.9),
        Metric("cpu_us", "client CPU per event", "us", False, "<= 1.2x raw (ratio >= 0.83)", 0.83),
    ),
    framework_realtime,
    baseline_realtime,
    note=(
        "N orders over core NATS in the same process, batches of 100 each confirmed by "
        "one PING/PONG; framework: order.created v2 routed realtime (Bus with NATS only), "
        "CloudEvents ce-* headers, queue group, ServiceRunner; raw: nats-py publish with "
        "id/type/time headers and a queue-group callback. Both validate with OrderCreatedV2."
    ),
)


# --- request / reply -------------------------------------------------------------------


async def framework_request(env: Env) -> dict[str, float]:
    """Sequential `bus.request` (one in flight) to a responder served by a ServiceRunner
    on a second connection."""
    requests = [reserve_request(i) for i in range(env.n_requests)]

    async def answer(request: InventoryReserveRequestV1, ctx: Context) -> InventoryReserveReplyV1:
        return reserve_reply(request)

    server = await nats_bus(env, REGISTRY)
    client = await nats_bus(env, REGISTRY)
    wiring = ServiceWiring(
        name="inventory", subscriptions=(), responders=(Responder(RESERVE, answer),)
    )
    runner = server.service(wiring, consumer_name="bench-0")
    latencies: list[float] = []
    try:
        await runner.start()
        await wait_answered(
            lambda: client.request(RESERVE, requests[0], InventoryReserveReplyV1),
            NoRespondersError,
        )
        watch = Stopwatch()
        for request in requests:
            sent = clock()
            await client.request(RESERVE, request, InventoryReserveReplyV1)
            latencies.append(clock() - sent)
        elapsed, cpu = watch.stop()
    finally:
        await runner.stop()
        await client.close()
        await server.close()
    return {
        "rate": len(requests) / elapsed,
        "cpu_us": cpu / len(requests) * 1e6,
        **latency_stats(latencies),
    }


async def baseline_request(env: Env) -> dict[str, float]:
    """nats-py `request` and a queue-group responder that validates the request and the
    reply with the same models."""
    requests = [reserve_request(i) for i in range(env.n_requests)]
    server = await raw_nats(env.nats_url)
    client = await raw_nats(env.nats_url)

    async def on_request(msg: Msg) -> None:
        request = InventoryReserveRequestV1.model_validate_json(msg.data)
        await msg.respond(reserve_reply(request).model_dump_json(exclude_none=True).encode())

    latencies: list[float] = []
    try:
        await server.subscribe(RESERVE.subject, queue="inventory", cb=on_request)
        await server.flush()
        first = requests[0].model_dump_json(exclude_none=True).encode()
        await wait_answered(
            lambda: client.request(RESERVE.subject, first, timeout=RESERVE.timeout_ms / 1000),
            nats.errors.NoRespondersError,
        )
        watch = Stopwatch()
        for request in requests:
            sent = clock()
            data = request.model_dump_json(exclude_none=True).encode()
            msg = await client.request(RESERVE.subject, data, timeout=RESERVE.timeout_ms / 1000)
            InventoryReserveReplyV1.model_validate_json(msg.data)
            latencies.append(clock() - sent)
        elapsed, cpu = watch.stop()
    finally:
        await client.drain()
        await server.drain()
    return {
        "rate": len(requests) / elapsed,
        "cpu_us": cpu / len(requests) * 1e6,
        **latency_stats(latencies),
    }


REQUEST = Suite(
    "request",
    (
        Metric("rate", "requests/s (1 in flight)", "req/s", True, ">= 0.9x", 0.9),
        Metric("p50", "request p50", "ms", False),
        Metric("p99", "request p99", "ms", False, P99_TARGET, P99_GOAL),
        Metric(
            "cpu_us", "client CPU per request", "us", False, "<= 1.2x raw (ratio >= 0.83)", 0.83
        ),
    ),
    framework_request,
    baseline_request,
    note=(
        "N/5 sequential inventory.reserve requests (3 line items), responder on a second "
        "connection; framework: Bus.request + Responder (envelope headers, tracing hooks); "
        "raw: nats-py request/respond; both validate request and reply with the models."
    ),
)

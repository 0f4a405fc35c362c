"""End-to-end latency at a fixed rate (default 1,000 ev/s), durable and real-time.

The publisher sends one awaited publish per event on an open-loop schedule and notes the
moment of each send by order id; the consumer (same process, so one clock) records
`now - sent` when its handler sees the event, after validation. Percentiles are per
round; `seconds` per round x 5 rounds = 5 s per side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg

from bench.common import (
    BATCH,
    BLOCK_MS,
    PROBE,
    Counter,
    cached_orders,
    counting_wiring,
    flush_redis,
    nats_bus,
    paced,
    raw_nats,
    raw_redis,
    redis_bus,
)
from bench.durable import DURABLE_REGISTRY, GROUP, MAXLEN
from bench.events import ORDER_SPEC, STREAM, clock, raw_fields, raw_headers
from bench.realtime import QUEUE, RT_REGISTRY, RT_SPEC, SUBJECT, wait_listening
from bench.suite import P99_GOAL, P99_TARGET, Env, Metric, Suite, latency_stats
from generated.models import OrderCreatedV2

DRAIN_S = 10.0  # how long to wait for stragglers after the last send


def _count(env: Env) -> int:
    return max(10, int(env.rate * env.seconds))


async def _run(
    env: Env,
    counter: Counter,
    sent: dict[str, float],
    send: Callable[[OrderCreatedV2], Awaitable[object]],
) -> dict[str, float]:
    events = cached_orders(_count(env))

    async def one(i: int) -> None:
        event = events[i]
        sent[event.order_id] = clock()
        await send(event)

    await paced(len(events), env.rate, one)
    await counter.wait(DRAIN_S)
    return {**latency_stats(counter.latencies), "lost": len(events) - counter.count}


# --- durable ---------------------------------------------------------------------------


async def framework_durable_latency(env: Env) -> dict[str, float]:
    await flush_redis(env.redis_url)
    sent: dict[str, float] = {}
    counter = Counter(_count(env), sent)
    bus = await redis_bus(env, DURABLE_REGISTRY)
    runner = bus.service(counting_wiring(ORDER_SPEC, counter), consumer_name="bench-0")
    try:
        await runner.start()
        return await _run(env, counter, sent, bus.publish)
    finally:
        await runner.stop()
        await bus.close()


async def baseline_durable_latency(env: Env) -> dict[str, float]:
    await flush_redis(env.redis_url)
    sent: dict[str, float] = {}
    counter = Counter(_count(env), sent)
    r = raw_redis(env.redis_url)
    await r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)

    async def consume() -> None:
        ack: list[bytes] = []
        while not counter.done.is_set():
            # The previous batch's XACK rides in the same round trip as the next read.
            pipe = r.pipeline(transaction=False)
            if ack:
                pipe.xack(STREAM, GROUP, *ack)
            pipe.xreadgroup(GROUP, "c0", {STREAM: ">"}, count=BATCH, block=BLOCK_MS)
            # redis-py types replies as unions over RESP versions; this one is a list.
            reply: Any = (await pipe.execute())[-1]
            ack = []
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    counter.seen(OrderCreatedV2.model_validate_json(fields[b"data"]).order_id)
                    ack.append(entry_id)

    async def send(event: OrderCreatedV2) -> object:
        return await r.xadd(STREAM, raw_fields(event), maxlen=MAXLEN, approximate=True)

    consumer = asyncio.create_task(consume())
    try:
        return await _run(env, counter, sent, send)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await r.aclose()


# --- real-time -------------------------------------------------------------------------


async def framework_realtime_latency(env: Env) -> dict[str, float]:
    sent: dict[str, float] = {}
    counter = Counter(_count(env), sent)
    bus = await nats_bus(env, RT_REGISTRY)
    runner = bus.service(counting_wiring(RT_SPEC, counter), consumer_name="bench-0")
    probe = cached_orders(1)[0].model_copy(update={"order_id": PROBE})
    try:
        await runner.start()
        await wait_listening(lambda: bus.publish(probe), counter)
        return await _run(env, counter, sent, bus.publish)
    finally:
        await runner.stop()
        await bus.close()


async def baseline_realtime_latency(env: Env) -> dict[str, float]:
    sent: dict[str, float] = {}
    counter = Counter(_count(env), sent)
    nc = await raw_nats(env.nats_url)

    async def on_msg(msg: Msg) -> None:
        counter.seen(OrderCreatedV2.model_validate_json(msg.data).order_id)

    async def send(event: OrderCreatedV2) -> None:
        data = event.model_dump_json(exclude_none=True).encode()
        await nc.publish(SUBJECT, data, headers=raw_headers())

    try:
        await nc.subscribe(SUBJECT, queue=QUEUE, cb=on_msg)
        await nc.flush()
        return await _run(env, counter, sent, send)
    finally:
        await nc.drain()


def _metrics() -> tuple[Metric, ...]:
    return (
        Metric("p50", "p50 latency", "ms", False),
        Metric("p95", "p95 latency", "ms", False),
        Metric("p99", "p99 latency", "ms", False, P99_TARGET, P99_GOAL),
    )


LATENCY_DURABLE = Suite(
    "latency-durable",
    _metrics(),
    framework_durable_latency,
    baseline_durable_latency,
    note=(
        "1,000 ev/s open loop, one awaited publish per event (Bus.publish vs XADD), "
        "consumer in the same process (ServiceRunner vs XREADGROUP COUNT 100 loop); "
        "latency = handler sees the validated event - publish called. Time ratios are "
        "baseline/framework, so below 1 means the framework is slower."
    ),
)

LATENCY_REALTIME = Suite(
    "latency-realtime",
    _metrics(),
    framework_realtime_latency,
    baseline_realtime_latency,
    note=(
        "1,000 ev/s open loop over core NATS, one awaited publish per event (Bus.publish, "
        "which confirms with PING/PONG, vs nats-py publish, which only buffers); "
        "latency measured in the subscriber after validation."
    ),
)

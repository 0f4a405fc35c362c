"""Redis Streams workloads: durable end to end, and single awaited publishes."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import (
    BATCH,
    BLOCK_MS,
    Counter,
    cached_orders,
    counting_wiring,
    flush_redis,
    raw_redis,
    redis_bus,
    timeout_for,
)
from bench.events import ORDER_SPEC, STREAM, Stopwatch, durable_registry, raw_fields
from bench.suite import Env, Metric, Suite
from generated.models import OrderCreatedV2

#: The catalog's retention for orders; the raw producer trims the same way.
MAXLEN = (ORDER_SPEC.retention.maxlen or 1_000_000) if ORDER_SPEC.retention else 1_000_000
GROUP = "bench"
DURABLE_REGISTRY = durable_registry()


# --- durable end to end ---------------------------------------------------------------


async def framework_durable(env: Env) -> dict[str, float]:
    """publish_many in batches of 100; a counting handler behind the generated-style
    wiring, with acks, idempotency (dedupe=always) and tracing hooks."""
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)
    counter = Counter(env.n)
    bus = await redis_bus(env, DURABLE_REGISTRY)
    runner = bus.service(counting_wiring(ORDER_SPEC, counter), consumer_name="bench-0")
    try:
        await runner.start()
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


async def baseline_durable(env: Env) -> dict[str, float]:
    """redis-py with the framework's client options (hiredis parser and packer, the same
    pool): pipelined XADD by 100; the consumer pipelines the previous batch's XACK with
    the next XREADGROUP COUNT 100 (one round trip per batch) and validates each entry."""
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)
    r = raw_redis(env.redis_url)
    await r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handled = 0

    async def consume() -> None:
        nonlocal handled
        ack: list[bytes] = []
        while handled < env.n:
            pipe = r.pipeline(transaction=False)
            if ack:
                pipe.xack(STREAM, GROUP, *ack)
            pipe.xreadgroup(GROUP, "c0", {STREAM: ">"}, count=BATCH, block=BLOCK_MS)
            # redis-py types replies as unions over RESP versions; this one is a list.
            reply: Any = (await pipe.execute())[-1]
            ack = []
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    OrderCreatedV2.model_validate_json(fields[b"data"])
                    ack.append(entry_id)
            handled += len(ack)
        if ack:
            await r.xack(STREAM, GROUP, *ack)

    consumer = asyncio.create_task(consume())
    try:
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            pipe = r.pipeline(transaction=False)
            for event in events[i : i + BATCH]:
                pipe.xadd(STREAM, raw_fields(event), maxlen=MAXLEN, approximate=True)
            await pipe.execute()
        await asyncio.wait_for(asyncio.shield(consumer), timeout_for(env.n))
        elapsed, cpu = watch.stop()
    finally:
        # Also on Ctrl-C or a timeout: the reader must not outlive its connection.
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await r.aclose()
    return {
        "rate": handled / elapsed,
        "cpu_us": cpu / max(handled, 1) * 1e6,
        "lost": env.n - handled,
    }


DURABLE = Suite(
    "durable",
    (
        Metric("rate", "end-to-end events/s", "ev/s", True, ">= 0.9x", 0.9),
        Metric("cpu_us", "client CPU per event", "us", False, "<= 1.2x raw (ratio >= 0.83)", 0.83),
    ),
    framework_durable,
    baseline_durable,
    note=(
        "N orders published in batches of 100 and consumed in the same process; "
        "framework: Bus.publish_many + ServiceRunner (ack batched, dedupe=always, "
        "no-op OpenTelemetry tracing hooks), one partition; raw: the same redis-py client "
        "options (hiredis packer, pool), pipelined XADD, XREADGROUP COUNT 100 with the "
        "previous XACK in the same pipeline. Both validate every event with OrderCreatedV2."
    ),
)


# --- single awaited publishes ---------------------------------------------------------


def _publish_count(env: Env) -> int:
    return max(100, env.n // 4)


async def framework_publish(env: Env) -> dict[str, float]:
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)[: _publish_count(env)]
    bus = await redis_bus(env, DURABLE_REGISTRY)
    try:
        watch = Stopwatch()
        for event in events:
            await bus.publish(event)
        elapsed, cpu = watch.stop()
    finally:
        await bus.close()
    return {"rate": len(events) / elapsed, "cpu_us": cpu / len(events) * 1e6}


async def baseline_publish(env: Env) -> dict[str, float]:
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)[: _publish_count(env)]
    r = raw_redis(env.redis_url)
    try:
        watch = Stopwatch()
        for event in events:
            await r.xadd(STREAM, raw_fields(event), maxlen=MAXLEN, approximate=True)
        elapsed, cpu = watch.stop()
    finally:
        await r.aclose()
    return {"rate": len(events) / elapsed, "cpu_us": cpu / len(events) * 1e6}


PUBLISH = Suite(
    "publish",
    (
        Metric("rate", "awaited single publishes/s", "ev/s", True, ">= 0.8x", 0.8),
        Metric("cpu_us", "client CPU per publish", "us", False),
    ),
    framework_publish,
    baseline_publish,
    note=(
        "N/4 orders, one awaited call each: Bus.publish (serialise, envelope, tracing "
        "hook, XADD MAXLEN ~) vs raw awaited XADD MAXLEN ~ with model_dump_json."
    ),
)

"""Redis Streams workloads: durable end to end, and single awaited publishes."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from bench.common import (
    BATCH,
    BLOCK_MS,
    Counter,
    cached_orders,
    counting_wiring,
    flush_redis,
    redis_bus,
    timeout_for,
)
from bench.events import ORDER_SPEC, STREAM, Stopwatch, raw_fields
from bench.suite import Env, Metric, Suite
from generated.models import OrderCreatedV2
from generated.registry import REGISTRY

#: The catalog's retention for orders; the raw producer trims the same way.
MAXLEN = (ORDER_SPEC.retention.maxlen or 1_000_000) if ORDER_SPEC.retention else 1_000_000
GROUP = "bench"


# --- durable end to end ---------------------------------------------------------------


async def framework_durable(env: Env) -> dict[str, float]:
    """publish_many in batches of 100; a counting handler behind the generated-style
    wiring, with acks, idempotency (dedupe=always) and tracing hooks."""
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)
    counter = Counter(env.n)
    bus = await redis_bus(env, REGISTRY)
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
    """redis-py (+hiredis parser): pipelined XADD by 100; XREADGROUP COUNT 100, validate
    each entry with the same model, one XACK per batch."""
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)
    r = aioredis.Redis.from_url(env.redis_url)
    await r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handled = 0

    async def consume() -> None:
        nonlocal handled
        while handled < env.n:
            # redis-py types replies as unions over RESP versions; this one is a list.
            reply: Any = await r.xreadgroup(GROUP, "c0", {STREAM: ">"}, count=BATCH, block=BLOCK_MS)
            for _stream, entries in reply or []:
                ids = []
                for entry_id, fields in entries:
                    OrderCreatedV2.model_validate_json(fields[b"data"])
                    ids.append(entry_id)
                await r.xack(STREAM, GROUP, *ids)
                handled += len(ids)

    consumer = asyncio.create_task(consume())
    try:
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            pipe = r.pipeline(transaction=False)
            for event in events[i : i + BATCH]:
                pipe.xadd(STREAM, raw_fields(event), maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
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
        Metric("rate", "end-to-end events/s", "ev/s", True, ">= 1.0x (floor 0.75x)", 1.0, 0.75),
        Metric("cpu_us", "client CPU per event", "us", False),
    ),
    framework_durable,
    baseline_durable,
    note=(
        "N orders published in batches of 100 and consumed in the same process; "
        "framework: Bus.publish_many + ServiceRunner (ack batched, dedupe=always, "
        "no-op OpenTelemetry tracing hooks); raw: pipelined XADD + XREADGROUP COUNT 100 "
        "+ one XACK per batch. Both validate every event with OrderCreatedV2."
    ),
)


# --- single awaited publishes ---------------------------------------------------------


def _publish_count(env: Env) -> int:
    return max(100, env.n // 4)


async def framework_publish(env: Env) -> dict[str, float]:
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)[: _publish_count(env)]
    bus = await redis_bus(env, REGISTRY)
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
    r = aioredis.Redis.from_url(env.redis_url)
    try:
        watch = Stopwatch()
        for event in events:
            await r.xadd(STREAM, raw_fields(event), maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
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

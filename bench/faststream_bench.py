"""Optional third column: the same durable and real-time workloads through FastStream.

FastStream is not a dependency of schemabus; these suites run only when it is installed
(`pip install 'faststream[redis,nats]'`) and are skipped otherwise. Each is paired with
the same raw baseline as schemabus, so its ratio reads like schemabus's.

FastStream's own forms are used: a pydantic-typed batch subscriber on a consumer group
(`StreamSub(group=..., batch=True, max_records=100)`, one ack per batch) and
`broker.publish(model, stream=..., pipeline=...)` in pipelines of 100; on NATS a queue-
group subscriber and `broker.publish(model, subject)` flushed per 100.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from bench.common import BATCH, BLOCK_MS, Counter, cached_orders, flush_redis, timeout_for
from bench.durable import GROUP, MAXLEN, baseline_durable
from bench.events import STREAM, Stopwatch
from bench.realtime import QUEUE, SUBJECT, baseline_realtime
from bench.suite import Env, Metric, Suite
from generated.models import OrderCreatedV2

AVAILABLE = importlib.util.find_spec("faststream") is not None


def _module(name: str) -> Any:
    """Imported by name so that mypy --strict passes where FastStream is not installed."""
    return importlib.import_module(name)


async def faststream_durable(env: Env) -> dict[str, float]:
    redis_mod = _module("faststream.redis")
    RedisBroker, StreamSub = redis_mod.RedisBroker, redis_mod.StreamSub
    await flush_redis(env.redis_url)
    events = cached_orders(env.n)
    counter = Counter(env.n)
    broker = RedisBroker(env.redis_url, logger=None)  # per-message INFO logs would dominate
    # Batch mode: one read of 100, one handler call, one ack per batch, like the others.
    sub = StreamSub(
        STREAM,
        group=GROUP,
        consumer="c0",
        batch=True,
        max_records=BATCH,
        polling_interval=BLOCK_MS,
    )

    async def handle(orders: list[OrderCreatedV2]) -> None:
        for order in orders:
            counter.seen(order.order_id)

    broker.subscriber(stream=sub)(handle)

    await broker.start()
    try:
        connection: Any = broker._connection  # what FastStream's `Pipeline` dependency uses
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            pipe = connection.pipeline(transaction=False)
            for event in events[i : i + BATCH]:
                await broker.publish(event, stream=STREAM, maxlen=MAXLEN, pipeline=pipe)
            await pipe.execute()
        await counter.wait(timeout_for(env.n))
        elapsed, cpu = watch.stop()
    finally:
        await broker.stop()
    return {
        "rate": counter.count / elapsed,
        "cpu_us": cpu / max(counter.count, 1) * 1e6,
        "lost": env.n - counter.count,
    }


async def faststream_realtime(env: Env) -> dict[str, float]:
    NatsBroker = _module("faststream.nats").NatsBroker
    events = cached_orders(env.n)
    counter = Counter(env.n)
    broker = NatsBroker(env.nats_url, logger=None)

    async def handle(order: OrderCreatedV2) -> None:
        counter.seen(order.order_id)

    broker.subscriber(SUBJECT, queue=QUEUE)(handle)

    await broker.start()
    try:
        connection: Any = broker._connection
        await connection.flush()
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            for event in events[i : i + BATCH]:
                await broker.publish(event, SUBJECT)
            await connection.flush()
        await counter.wait(timeout_for(env.n))
        elapsed, cpu = watch.stop()
    finally:
        await broker.stop()
    return {
        "rate": counter.count / elapsed,
        "cpu_us": cpu / max(counter.count, 1) * 1e6,
        "lost": env.n - counter.count,
    }


FASTSTREAM_DURABLE = Suite(
    "faststream-durable",
    (
        Metric("rate", "end-to-end events/s", "ev/s", True),
        Metric("cpu_us", "client CPU per event", "us", False),
    ),
    faststream_durable,
    baseline_durable,
    note=(
        "FastStream (third column) vs the same raw redis-py loop as `durable`: "
        "StreamSub consumer group, 100 per read, pydantic-typed handler, ack per message; "
        "publish(model, stream=..., pipeline=...) pipelined by 100. No idempotency or tracing. "
        "Batch mode (batch=True, one ack per read) is FastStream's best case here; its "
        "default per-message subscriber (one XACK round trip per event) measured ~0.13x."
    ),
)

FASTSTREAM_REALTIME = Suite(
    "faststream-realtime",
    (
        Metric("rate", "NATS end-to-end events/s", "ev/s", True),
        Metric("cpu_us", "client CPU per event", "us", False),
    ),
    faststream_realtime,
    baseline_realtime,
    note=(
        "FastStream (third column) vs the same raw nats-py loop as `realtime`: queue-group "
        "subscriber with a pydantic-typed handler, publish(model, subject) flushed per 100."
    ),
)

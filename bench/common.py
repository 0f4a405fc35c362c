"""Helpers the workloads share: buses with the production hooks, counting handlers, pacing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from bench.events import clock, orders
from bench.suite import Env
from generated.models import OrderCreatedV2
from runtime.bus import Bus
from runtime.hooks import NO_HOOKS, Hooks
from runtime.nats.fastclient import FastClient
from runtime.redis_conn import make_client
from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings
from runtime.spec import Context, EventSpec, Registry, ServiceWiring, Subscription
from runtime.tracing import tracing_hooks

#: Both sides read 100 entries per XREADGROUP (the issue's baseline); BLOCK is short only
#: so that stopping a consumer between rounds does not wait a full second (a read only
#: blocks when the stream is empty, which never happens while a round is measured).
BATCH = 100
BLOCK_MS = 100


#: Order id of the probe a real-time run publishes until its subscriber is listening.
PROBE = "probe"


@functools.lru_cache(maxsize=4)
def cached_orders(n: int) -> tuple[OrderCreatedV2, ...]:
    """Models are built once per process: a publisher has them in hand already."""
    return tuple(orders(n))


def raw_redis(url: str) -> Any:
    """The raw side's redis-py client: the same client options as the framework's
    (hiredis reply parser and command packer, the same connection pool), so the ratio
    measures what the framework does, not a slower client."""
    return make_client(RedisSettings.from_url(url).client_kwargs())


async def raw_nats(url: str) -> Any:
    """The raw side's nats-py client: the same client class as the framework's (nats-py
    with the cheaper, byte-identical header codec of runtime/nats/fastclient.py)."""
    nc = FastClient()
    await nc.connect(servers=[url], connect_timeout=5, max_reconnect_attempts=0)
    return nc


async def flush_redis(url: str) -> None:
    """Start every round from an empty Redis (no stream, no group, no idempotency marks)."""
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


def _consumer(env: Env) -> ConsumerSettings:
    return ConsumerSettings(batch=BATCH, block_ms=BLOCK_MS, dedupe=env.dedupe)


def _hooks(env: Env) -> Hooks:
    """Tracing hooks on by default (OpenTelemetry API, no SDK: no-op spans, which is what
    the hooks cost in production without an exporter); off only in ablation runs."""
    return tracing_hooks() if env.tracing else NO_HOOKS


async def redis_bus(env: Env, registry: Registry) -> Bus:
    """A Redis-only bus (no NATS mirror: the raw baseline writes to Redis only)."""
    settings = Settings(redis=RedisSettings.from_url(env.redis_url), consumer=_consumer(env))
    return await Bus.connect(settings, registry, source="bench", hooks=_hooks(env))


async def nats_bus(env: Env, registry: Registry) -> Bus:
    settings = Settings(
        redis=None, nats=NatsSettings.from_url(env.nats_url), consumer=_consumer(env)
    )
    return await Bus.connect(settings, registry, source="bench", hooks=_hooks(env))


class Counter:
    """Counts handled events and fires `done` at `target`; optionally records latency
    against the send time of each order id."""

    def __init__(self, target: int, sent: dict[str, float] | None = None) -> None:
        self.target = target
        self.count = 0
        self.done = asyncio.Event()
        self.probe = asyncio.Event()
        self.sent = sent
        self.latencies: list[float] = []

    def seen(self, order_id: str) -> None:
        if order_id == PROBE:
            self.probe.set()
            return
        if self.sent is not None:
            self.latencies.append(clock() - self.sent[order_id])
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    async def wait(self, timeout_s: float) -> None:
        """Wait for the target count; a timeout leaves `count` short (reported as lost)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout_s)


def counting_wiring(spec: EventSpec, counter: Counter, name: str = "bench") -> ServiceWiring:
    """A service that only counts: the same work as the raw consumer's loop body (the
    generated payment handler would publish further events)."""

    async def handle(event: Any, ctx: Context) -> None:
        counter.seen(event.order_id)

    return ServiceWiring(name=name, subscriptions=(Subscription(spec, handle),))


async def paced(count: int, rate: int, send: Callable[[int], Awaitable[None]]) -> None:
    """Call `send(i)` for i < count at `rate` per second (open loop: a late send does not
    push the schedule back)."""
    start = clock()
    for i in range(count):
        delay = start + i / rate - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(i)


def timeout_for(n: int) -> float:
    return 30.0 + n / 500

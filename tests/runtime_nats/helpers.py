"""Shared bits of the NATS transport tests: envelopes, unique subjects, waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

import orjson

from runtime.envelope import Envelope
from runtime.nats import NatsTransport
from runtime.settings import ConsumerSettings, NatsSettings
from runtime.transport import Inbound, Source

FAST = ConsumerSettings(batch=50, block_ms=50, visibility_timeout_ms=1000)


def unique(prefix: str) -> str:
    """A subject no other test uses: the session's nats-server is shared."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def envelope(n: int = 1, *, type_: str = "order.created", aggregate: str = "o-1") -> Envelope:
    return Envelope.new(
        source="tests",
        type=type_,
        dataversion=1,
        data=orjson.dumps({"order_id": aggregate, "n": n}),
        subject=aggregate,
        dataschema=f"schemas/events/{type_}/v1.json",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


async def connect(url: str, *, jetstream: Sequence[str] = ()) -> NatsTransport:
    return await NatsTransport.connect(NatsSettings.from_url(url), jetstream=jetstream)


async def eventually(cond: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0) -> None:
    """Wait for a condition: a liveness bound, never a performance assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = cond()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def collect(source: Source, count: int, timeout: float = 15.0) -> list[Inbound]:
    """Fetch until `count` messages arrived (fails after `timeout` seconds)."""
    got: list[Inbound] = []

    async def enough() -> bool:
        got.extend(await source.fetch(count - len(got), 50))
        return len(got) >= count

    await eventually(enough, timeout)
    return got

"""NATS transport: queue-group pub/sub, request/reply, JetStream durable consumers.

    transport = await runtime.nats.connect(NatsSettings.from_url(url), registry=REGISTRY)

`Bus.connect` calls `connect(settings.nats)`; pass `registry` to route the events the
catalog marks `jetstream: true` through JetStream.
"""

from __future__ import annotations

from typing import Any

from runtime.settings import NatsSettings
from runtime.spec import Registry

from .connection import ConnectionOptions, open_client
from .jetstream import (
    DEAD_LETTER_STREAM,
    JetStreamSubject,
    dead_letter_subject,
    jetstream_subjects,
    stream_name,
)
from .source import NatsSource
from .transport import NatsTransport


async def connect(
    settings: NatsSettings, *, registry: Registry | None = None, **options: Any
) -> NatsTransport:
    """Connect a `NatsTransport` (see `NatsTransport.connect` for the options)."""
    return await NatsTransport.connect(settings, registry=registry, **options)


__all__ = [
    "DEAD_LETTER_STREAM",
    "ConnectionOptions",
    "JetStreamSubject",
    "NatsSource",
    "NatsTransport",
    "connect",
    "dead_letter_subject",
    "jetstream_subjects",
    "open_client",
    "stream_name",
]

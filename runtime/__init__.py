"""schemabus runtime: envelope, transports, dispatch, retry/DLQ/idempotency, observability.

The public names below are imported lazily, so `import runtime.spec` (what generated code
does) stays cheap and never pulls in redis or nats.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.bus import Bus, run_service
    from runtime.envelope import Envelope
    from runtime.errors import (
        BrokerUnavailable,
        ConfigError,
        NoRespondersError,
        RemoteError,
        RequestTimeoutError,
        SchemabusError,
        TransportError,
    )
    from runtime.hooks import Hooks
    from runtime.memory import MemoryTransport
    from runtime.service import ServiceRunner
    from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings

_EXPORTS = {
    "Bus": "runtime.bus",
    "Envelope": "runtime.envelope",
    "BrokerUnavailable": "runtime.errors",
    "ConfigError": "runtime.errors",
    "NoRespondersError": "runtime.errors",
    "RemoteError": "runtime.errors",
    "RequestTimeoutError": "runtime.errors",
    "SchemabusError": "runtime.errors",
    "TransportError": "runtime.errors",
    "Hooks": "runtime.hooks",
    "MemoryTransport": "runtime.memory",
    "ServiceRunner": "runtime.service",
    "run_service": "runtime.bus",
    "ConsumerSettings": "runtime.settings",
    "NatsSettings": "runtime.settings",
    "RedisSettings": "runtime.settings",
    "Settings": "runtime.settings",
}

__all__ = [
    "BrokerUnavailable",
    "Bus",
    "ConfigError",
    "ConsumerSettings",
    "Envelope",
    "Hooks",
    "MemoryTransport",
    "NatsSettings",
    "NoRespondersError",
    "RedisSettings",
    "RemoteError",
    "RequestTimeoutError",
    "SchemabusError",
    "ServiceRunner",
    "Settings",
    "TransportError",
    "run_service",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""The Bus: what application code publishes, requests and runs services with.

    bus = await Bus.connect(Settings.from_env(), REGISTRY, source="order")
    await bus.publish(OrderCreatedV2(...))
    await bus.publish_many([...])            # one round trip per transport
    reply = await bus.request(OPS["inventory.reserve"], req, InventoryReserveReplyV1)
    await bus.service(wiring).run_forever()

The bus only assembles: `connect` picks the transports the settings name (Redis for the
durable log, NATS for live delivery and requests; `in_memory` one transport for both),
publishing is `runtime.publisher.Publisher`, requests `runtime.requests.RequestClient`,
services `runtime.service.ServiceRunner`. It never sees redis or nats itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from runtime.dispatch import UpcasterMap
from runtime.envelope import Envelope
from runtime.errors import ConfigError, NotSupportedError
from runtime.hooks import NO_HOOKS, Hooks
from runtime.publisher import Publisher, plan_for
from runtime.requests import RequestClient, request_transport
from runtime.service import ServiceParts, ServiceRunner
from runtime.settings import NatsSettings, Settings
from runtime.spec import EventSpec, OperationSpec, Registry, ServiceWiring
from runtime.transport import Transport

if TYPE_CHECKING:
    from runtime.memory import MemoryTransport

M = TypeVar("M", bound=BaseModel)


class Bus:
    def __init__(
        self,
        registry: Registry,
        *,
        source: str,
        durable: Transport | None,
        live: Transport | None,
        settings: Settings | None = None,
        upcasters: UpcasterMap | None = None,
        hooks: Hooks = NO_HOOKS,
    ) -> None:
        self.registry = registry
        self.source = source
        self.durable = durable
        self.live = live
        self.settings = settings or Settings(redis=None)
        self.upcasters: UpcasterMap = upcasters or {}
        self.hooks = hooks
        self.publisher = Publisher(registry, source=source, durable=durable, live=live, hooks=hooks)
        try:
            requests: Transport | None = request_transport(live, durable)
        except NotSupportedError:
            requests = None  # request() says what is missing when called
        self.requests = RequestClient(
            registry, self.publisher, requests, upcasters=self.upcasters, hooks=hooks
        )

    # --- construction ---------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        settings: Settings,
        registry: Registry,
        *,
        source: str,
        upcasters: UpcasterMap | None = None,
        hooks: Hooks = NO_HOOKS,
    ) -> Bus:
        """Connect the transports the settings name (Redis and/or NATS)."""
        durable: Transport | None = None
        live: Transport | None = None
        if settings.redis is not None:
            from runtime.redis_streams import RedisTransport

            # The registry tells it which streams are `durability: replicated`.
            durable = await RedisTransport.connect(settings.redis, registry=registry)
        if settings.nats is not None:
            live = await _connect_nats(settings.nats, registry)
        if durable is None and live is None:
            raise ConfigError(
                "no transport configured: set SCHEMABUS_REDIS_URL or SCHEMABUS_NATS_URL"
            )
        return cls(
            registry,
            source=source,
            durable=durable,
            live=live,
            settings=settings,
            upcasters=upcasters,
            hooks=hooks,
        )

    @classmethod
    def in_memory(
        cls,
        registry: Registry,
        *,
        source: str,
        transport: MemoryTransport | None = None,
        settings: Settings | None = None,
        upcasters: UpcasterMap | None = None,
        hooks: Hooks = NO_HOOKS,
    ) -> Bus:
        """A bus on the in-memory transport; share `transport` between buses of a test."""
        from runtime.memory import MemoryTransport

        t = transport or MemoryTransport()
        return cls(
            registry,
            source=source,
            durable=t,
            live=t,
            settings=settings,
            upcasters=upcasters,
            hooks=hooks,
        )

    async def close(self) -> None:
        for t in {id(t): t for t in (self.durable, self.live) if t is not None}.values():
            await t.close()

    async def __aenter__(self) -> Bus:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- publishing and requests (runtime.context.Messenger) ------------------------

    def envelope(
        self,
        event: BaseModel,
        *,
        spec: EventSpec | None = None,
        time: str | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap a model in a new envelope (not sent); inside a handler, causality is
        carried over. `spec` overrides the registry's spec for the model's class."""
        plan = plan_for(spec) if spec is not None else None
        return self.publisher.envelope(event, plan=plan, time=time, correlation_id=correlation_id)

    async def publish(self, event: BaseModel, *, correlation_id: str | None = None) -> str:
        """Publish one event; returns its event id."""
        return await self.publisher.publish(event, correlation_id=correlation_id)

    async def publish_many(
        self, events: Sequence[BaseModel], *, correlation_id: str | None = None
    ) -> list[str]:
        """Publish a batch in one round trip per transport; returns the event ids."""
        return await self.publisher.publish_many(events, correlation_id=correlation_id)

    async def publish_envelopes(self, envelopes: Sequence[Envelope]) -> None:
        """Publish ready-made envelopes (replays, bridges); routing from the registry."""
        await self.publisher.publish_envelopes(envelopes)

    async def request(
        self,
        operation: OperationSpec,
        request: BaseModel,
        reply: type[M],
        *,
        timeout_s: float | None = None,
    ) -> M:
        """Send a typed request and wait for the typed reply."""
        return await self.requests.request(operation, request, reply, timeout_s=timeout_s)

    # --- services ---------------------------------------------------------------------

    def service(self, wiring: ServiceWiring, **options: Any) -> ServiceRunner:
        """A runner for `wiring` on this bus (see `runtime.service.ServiceRunner`)."""
        parts = ServiceParts(
            registry=self.registry,
            upcasters=self.upcasters,
            hooks=self.hooks,
            durable=self.durable,
            live=self.live,
            publisher=self.publisher,
            messenger=self,
            consumer=self.settings.consumer,
        )
        return ServiceRunner(parts, wiring, **options)


async def run_service(
    wiring: ServiceWiring,
    registry: Registry,
    *,
    settings: Settings | None = None,
    upcasters: UpcasterMap | None = None,
    hooks: Hooks = NO_HOOKS,
    consumer_name: str | None = None,
    on_runner: Callable[[ServiceRunner], None] | None = None,
) -> None:
    """Connect, run `wiring` until SIGTERM/SIGINT, shut down gracefully, disconnect.
    `on_runner` sees the runner before it starts (e.g. to export its counters)."""
    bus = await Bus.connect(
        settings or Settings.from_env(),
        registry,
        source=wiring.name,
        upcasters=upcasters,
        hooks=hooks,
    )
    try:
        runner = bus.service(wiring, consumer_name=consumer_name)
        if on_runner is not None:
            on_runner(runner)
        await runner.run_forever()
    finally:
        await bus.close()


async def _connect_nats(settings: NatsSettings, registry: Registry) -> Transport:
    """`runtime.nats.connect(settings, registry=...)`, imported only when NATS is
    configured (the registry tells it which subjects JetStream keeps)."""
    try:
        module = importlib.import_module("runtime.nats")
    except ImportError as exc:
        raise ConfigError(f"NATS is configured but its transport is missing: {exc}") from None
    connect = getattr(module, "connect", None)
    if connect is None:
        raise ConfigError("runtime.nats has no connect(settings); the NATS transport is incomplete")
    transport: Transport = await connect(settings, registry=registry)
    return transport

"""The Bus: what application code publishes, requests and runs services with.

    bus = await Bus.connect(Settings.from_env(), REGISTRY, source="order")
    await bus.publish(OrderCreatedV2(...))
    await bus.publish_many([...])            # one round trip
    reply = await bus.request(OPS["inventory.reserve"], req, InventoryReserveReplyV1)

Durable events are appended to their Redis stream and mirrored to NATS for live
subscribers; realtime events go to NATS only. The bus never sees redis or nats itself:
it holds two `Transport`s (`durable`, `live`), which may be the same in-memory one.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from pydantic import BaseModel

from runtime.context import HandlerContext, current_envelope
from runtime.dispatch import UpcasterMap, decoder_for
from runtime.envelope import Envelope, new_id, now
from runtime.errors import (
    ConfigError,
    NoRespondersError,
    NotSupportedError,
    RemoteError,
    RequestTimeoutError,
    Undeliverable,
)
from runtime.hooks import NO_HOOKS, Hooks
from runtime.settings import NatsSettings, Settings
from runtime.spec import EventSpec, OperationSpec, Registry, Responder
from runtime.transport import Outbound, ReplyHandler, Transport
from runtime.wire import Writer, writer_for

if TYPE_CHECKING:
    from runtime.memory import MemoryTransport
    from runtime.service import ServiceRunner
    from runtime.spec import ServiceWiring

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("schemabus.bus")
_WRITERS: dict[EventSpec, Writer] = {}

#: Envelope type of a reply that carries a responder's failure instead of a reply model.
ERROR_TYPE = "schemabus.error"


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
        # model class -> (spec, aggregate attribute, dataschema), resolved on first publish
        self._plans: dict[type[BaseModel], tuple[EventSpec, str | None, str, Writer]] = {}
        # Mirroring to a transport that is also the durable one would deliver twice.
        self._mirror = live is not None and live is not durable

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

            durable = await RedisTransport.connect(settings.redis)
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

    # --- publishing -----------------------------------------------------------------

    def envelope(
        self,
        event: BaseModel,
        *,
        spec: EventSpec | None = None,
        time: str | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap a model in a new envelope; inside a handler, causality is carried over."""
        cls = type(event)
        plan = self._plans.get(cls) if spec is None else None
        if plan is None:
            found = spec or self.registry.spec_for(cls)
            # Never `"field": null` where the contract forbids it (see runtime/wire.py).
            write = _WRITERS.get(found)
            if write is None:
                write = _WRITERS[found] = writer_for(found.model, found.schema_json)
            plan = (found, _aggregate_attribute(found), found.dataschema, write)
            if spec is None or spec.model is cls:
                self._plans[cls] = plan
        spec, attr, dataschema, write = plan
        data = write(event)
        event_id = new_id()
        parent = current_envelope.get()
        if parent is None:
            correlation, causation, traceparent = correlation_id or event_id, None, None
        else:
            correlation = correlation_id or parent.correlationid or parent.id
            causation, traceparent = parent.id, parent.traceparent
        return Envelope(
            event_id,
            self.source,
            spec.type,
            spec.version,
            data,
            time or now(),
            None if attr is None else str(getattr(event, attr)),
            dataschema,
            correlation,
            causation,
            traceparent,
        )

    async def publish(self, event: BaseModel, *, correlation_id: str | None = None) -> str:
        """Publish one event; returns its event id."""
        env = self.envelope(event, correlation_id=correlation_id)
        await self._send([(self._plans[type(event)][0], env)])
        return env.id

    async def publish_many(
        self, events: Sequence[BaseModel], *, correlation_id: str | None = None
    ) -> list[str]:
        """Publish a batch in one round trip per transport; returns the event ids."""
        stamp = now()
        envelope, plans = self.envelope, self._plans
        pairs = []
        for event in events:
            env = envelope(event, time=stamp, correlation_id=correlation_id)
            pairs.append((plans[type(event)][0], env))
        await self._send(pairs)
        return [env.id for _, env in pairs]

    async def publish_envelopes(self, envelopes: Sequence[Envelope]) -> None:
        """Publish ready-made envelopes (replays, bridges); routing from the registry."""
        await self._send([(self.registry.spec(e.type, e.dataversion), e) for e in envelopes])

    async def _send(self, pairs: Sequence[tuple[EventSpec, Envelope]]) -> None:
        hooks = self.hooks
        if hooks.on_publish or hooks.around_publish:
            envelopes = [env for _, env in pairs]
            hooks.published(envelopes)
            if hooks.around_publish:

                async def send() -> None:
                    await self._route(pairs)

                await hooks.send(envelopes, send)
                return
        await self._route(pairs)

    async def _route(self, pairs: Sequence[tuple[EventSpec, Envelope]]) -> None:
        durable: list[Outbound] = []
        live: list[Outbound] = []
        for spec, env in pairs:
            if spec.delivery == "durable" and spec.stream:
                # Partitioned by aggregate id: one pipeline still carries every partition.
                stream = spec.stream if spec.partitions <= 1 else spec.route(env.subject or env.id)
                durable.append(Outbound(stream, env, spec.retention))
                if self._mirror:
                    live.append(Outbound(spec.subject, env))
            else:
                live.append(Outbound(spec.subject, env))
        if durable:
            if self.durable is None:
                raise ConfigError("durable events need Redis: set SCHEMABUS_REDIS_URL")
            await self.durable.publish(durable)
        if live:
            if self.live is None:
                if not durable:
                    raise ConfigError("realtime events need NATS: set SCHEMABUS_NATS_URL")
                return  # nobody can be listening live without NATS; the log has it
            try:
                await self.live.publish(live)
            except Exception as exc:
                if not durable:
                    raise
                # The durable log is the source of truth; a failed live mirror is not a
                # failed publish (live subscribers miss it, durable consumers do not).
                log.warning("live mirror of %d events failed: %s", len(live), exc)

    # --- request / reply --------------------------------------------------------------

    async def request(
        self,
        operation: OperationSpec,
        request: BaseModel,
        reply: type[M],
        *,
        timeout_s: float | None = None,
    ) -> M:
        """Send a typed request and wait for the typed reply."""
        transport = self._request_transport()
        env = self.envelope(request, spec=operation.request)
        timeout = timeout_s if timeout_s is not None else operation.timeout_ms / 1000
        if self.hooks.on_request:
            answer = await self._timed_request(transport, operation, env, timeout)
        else:
            answer = await transport.request(operation.subject, env, timeout)
        if answer.type == ERROR_TYPE:
            err = orjson.loads(answer.data)
            raise RemoteError(operation.subject, err.get("error_type", "?"), err.get("message", ""))
        target = self.registry.spec_for(reply)
        found = decoder_for(self.registry, self.upcasters, answer.type, answer.dataversion, target)
        if found is None or answer.type != target.type:
            raise RemoteError(
                operation.subject,
                "UnreadableReply",
                f"reply {answer.type} v{answer.dataversion} cannot be read as {reply.__name__}",
            )
        result = found[0](answer.data)
        if not isinstance(result, reply):
            raise TypeError(f"decoded reply is {type(result).__name__}, not {reply.__name__}")
        return result

    async def _timed_request(
        self, transport: Transport, operation: OperationSpec, env: Envelope, timeout: float
    ) -> Envelope:
        start = time.perf_counter()
        outcome = "error"
        try:
            answer = await transport.request(operation.subject, env, timeout)
            outcome = "error" if answer.type == ERROR_TYPE else "ok"
            return answer
        except RequestTimeoutError:
            outcome = "timeout"
            raise
        except NoRespondersError:
            outcome = "no_responders"
            raise
        finally:
            self.hooks.requested(operation.name, time.perf_counter() - start, outcome)

    def _request_transport(self) -> Transport:
        for t in (self.live, self.durable):
            if t is not None and "request" in t.capabilities:
                return t
        raise NotSupportedError("request/reply needs NATS: set SCHEMABUS_NATS_URL")

    def reply_handler(self, responder: Responder) -> ReplyHandler:
        """Adapt a typed responder to an envelope-in, envelope-out handler."""
        op = responder.operation
        handler = responder.handler

        async def handle(env: Envelope) -> Envelope:
            token = current_envelope.set(env)
            try:
                found = decoder_for(
                    self.registry, self.upcasters, env.type, env.dataversion, op.request
                )
                if found is None or env.type != op.request.type:
                    raise Undeliverable(
                        "unreadable", f"cannot read {env.type} v{env.dataversion} as {op.name}"
                    )
                result = await handler(found[0](env.data), HandlerContext(self, env, None))
                return self.envelope(result, spec=op.reply)
            except Exception as exc:
                log.warning("responder %s failed: %r", op.name, exc)
                return self._error_envelope(exc)
            finally:
                current_envelope.reset(token)

        return handle

    def _error_envelope(self, exc: Exception) -> Envelope:
        data = orjson.dumps({"error_type": type(exc).__name__, "message": str(exc)[:2000]})
        parent = current_envelope.get()
        return Envelope.new(
            source=self.source,
            type=ERROR_TYPE,
            dataversion=1,
            data=data,
            correlationid=parent.correlationid if parent else None,
            causationid=parent.id if parent else None,
        )

    # --- services ---------------------------------------------------------------------

    def service(self, wiring: ServiceWiring, **options: Any) -> ServiceRunner:
        """A runner for `wiring` on this bus (see `runtime.service.ServiceRunner`)."""
        from runtime.service import ServiceRunner

        return ServiceRunner(self, wiring, **options)


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


def _aggregate_attribute(spec: EventSpec) -> str | None:
    """The model attribute holding the aggregate id (the catalog names the JSON field,
    which may be an alias of a sanitised Python name)."""
    name = spec.aggregate_field
    if name is None:
        return None
    fields: Mapping[str, Any] = spec.model.model_fields
    if name in fields:
        return name
    for attr, info in fields.items():
        if name in (info.alias, info.serialization_alias, info.validation_alias):
            return attr
    raise ConfigError(f"{spec.model.__name__} has no field {name!r} for the aggregate id")

"""Publishing: a model becomes an envelope, the envelope goes to its stream or subject.

Per model class a `Plan` is resolved once (its spec, the attribute holding the aggregate
id, its JSON writer); every publish after that is a dict lookup, the write and the
envelope. Routing: durable events are appended to their stream partition (by aggregate
id) and mirrored to the live transport for subscribers there; realtime events go to the
live transport only. A batch is one call per transport (one round trip on Redis).

Causality: inside a handler, what is published carries the handled event's correlation
id, has it as causation id, and continues its trace. The `traceparent` is decided in one
place, `traceparent()`: the current publish span's when tracing hooks are on, else the
handled event's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from runtime.context import current_envelope
from runtime.envelope import Envelope, new_id, now
from runtime.errors import ConfigError
from runtime.hooks import NO_HOOKS, Hooks
from runtime.spec import EventSpec, Registry
from runtime.transport import Outbound, Transport
from runtime.wire import Writer, writer_for

log = logging.getLogger("schemabus.publish")

# One writer per spec for the whole process: building it inspects the schema.
_WRITERS: dict[EventSpec, Writer] = {}


@dataclass(frozen=True, slots=True)
class Plan:
    """How instances of one model class are published."""

    spec: EventSpec
    attribute: str | None  # model attribute holding the aggregate id
    write: Writer
    dataschema: str


def plan_for(spec: EventSpec) -> Plan:
    write = _WRITERS.get(spec)
    if write is None:
        # Never `"field": null` where the contract forbids it (see runtime/wire.py).
        write = _WRITERS[spec] = writer_for(spec.model, spec.schema_json)
    return Plan(spec, aggregate_attribute(spec), write, spec.dataschema)


class Publisher:
    def __init__(
        self,
        registry: Registry,
        *,
        source: str,
        durable: Transport | None,
        live: Transport | None,
        hooks: Hooks = NO_HOOKS,
    ) -> None:
        self.registry = registry
        self.source = source
        self.durable = durable
        self.live = live
        self.hooks = hooks
        self._plans: dict[type[BaseModel], Plan] = {}
        # Mirroring to a transport that is also the durable one would deliver twice.
        self._mirror = live is not None and live is not durable

    def plan(self, model: type[BaseModel]) -> Plan:
        plan = self._plans.get(model)
        if plan is None:
            plan = self._plans[model] = plan_for(self.registry.spec_for(model))
        return plan

    def envelope(
        self,
        event: BaseModel,
        *,
        plan: Plan | None = None,
        time: str | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap a model in a new envelope; inside a handler, causality is carried over."""
        plan = plan or self.plan(type(event))
        spec, attr = plan.spec, plan.attribute
        data = plan.write(event)
        event_id = new_id()
        parent = current_envelope.get()
        if parent is None:
            correlation, causation = correlation_id or event_id, None
        else:
            correlation = correlation_id or parent.correlationid or parent.id
            causation = parent.id
        return Envelope(
            event_id,
            self.source,
            spec.type,
            spec.version,
            data,
            time or now(),
            None if attr is None else str(getattr(event, attr)),
            plan.dataschema,
            correlation,
            causation,
            None,
        )

    async def publish(self, event: BaseModel, *, correlation_id: str | None = None) -> str:
        """Publish one event; returns its event id."""
        plan = self.plan(type(event))
        env = self.envelope(event, plan=plan, correlation_id=correlation_id)
        await self.send([(plan.spec, env)])
        return env.id

    async def publish_many(
        self, events: Sequence[BaseModel], *, correlation_id: str | None = None
    ) -> list[str]:
        """Publish a batch in one round trip per transport; returns the event ids."""
        stamp = now()
        plan_of, envelope = self.plan, self.envelope
        pairs = []
        for event in events:
            plan = plan_of(type(event))
            env = envelope(event, plan=plan, time=stamp, correlation_id=correlation_id)
            pairs.append((plan.spec, env))
        await self.send(pairs)
        return [env.id for _, env in pairs]

    async def publish_envelopes(self, envelopes: Sequence[Envelope]) -> None:
        """Publish ready-made envelopes (replays, bridges); routing from the registry."""
        await self.send([(self.registry.spec(e.type, e.dataversion), e) for e in envelopes])

    async def send(self, pairs: Sequence[tuple[EventSpec, Envelope]]) -> None:
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

    def traceparent(self) -> str | None:
        """The trace what is being published continues: the publish span (tracing hooks
        make it current) when there is one, else the handled event's."""
        for current in self.hooks.traceparent:
            found = current()
            if found:
                return found
        parent = current_envelope.get()
        return parent.traceparent if parent is not None else None

    async def _route(self, pairs: Sequence[tuple[EventSpec, Envelope]]) -> None:
        traceparent = self.traceparent()
        durable: list[Outbound] = []
        live: list[Outbound] = []
        for spec, env in pairs:
            if env.traceparent is None:
                env.traceparent = traceparent
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


def aggregate_attribute(spec: EventSpec) -> str | None:
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

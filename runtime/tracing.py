"""OpenTelemetry spans for publish and process, with context carried in `traceparent`.

    bus = await Bus.connect(settings, REGISTRY, source="order", hooks=tracing_hooks())

* publish: one PRODUCER span per batch; the publisher stamps every envelope of the batch
  with that span's W3C `traceparent`, so consumers continue the trace across Redis and
  NATS.
* process: one CONSUMER span per handled event, child of the envelope's `traceparent`;
  an exception marks the span as an error (the engine then retries or dead-letters).

Only `opentelemetry-api` is needed. Without an SDK (no tracer provider installed) spans
would be no-ops that still cost ~10 µs per event to open, so the hooks then step aside
and only pass `traceparent` on unchanged (the bus carries a handled event's
`traceparent` into what its handler publishes); installing a provider later switches
them on without rebuilding the bus (noticed within `RECHECK_S`: looking the global
provider up reads the environment, ~1.5 µs, so the answer is cached that long).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from runtime.envelope import Envelope
from runtime.hooks import Hooks, Send
from runtime.spec import Context, EventHandler, EventSpec, Registry

_propagator = TraceContextTextMapPropagator()


_NO_SDK = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)

#: Seconds the "is a global tracer provider installed?" answer is reused.
RECHECK_S = 1.0
_clock = time.monotonic
_global_off = True
_checked_at = float("-inf")


def _global_off_now() -> bool:
    """Whether the global tracer provider is a no-op one, looked up at most every
    `RECHECK_S` seconds."""
    global _global_off, _checked_at
    now = _clock()
    if now - _checked_at >= RECHECK_S:
        _global_off = isinstance(trace.get_tracer_provider(), _NO_SDK)
        _checked_at = now
    return _global_off


def _system(spec: EventSpec) -> str:
    # OpenTelemetry messaging conventions name the broker the message went through.
    return "redis" if spec.delivery == "durable" else "nats"


def _destination(spec: EventSpec) -> str:
    return spec.stream or spec.subject


def tracing_hooks(
    tracer_provider: trace.TracerProvider | None = None,
    *,
    service: str | None = None,
    registry: Registry | None = None,
) -> Hooks:
    """`service` names the consumer group on process spans; `registry` lets publish spans
    name the broker and destination (stream or subject) of what they send."""
    t = _Tracing(tracer_provider, service, registry)
    return Hooks(
        middleware=(t.middleware,),
        around_publish=(t.around_publish,),
        traceparent=(t.current_traceparent,),
    )


class _Tracing:
    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        service: str | None,
        registry: Registry | None,
    ) -> None:
        self._tracer = trace.get_tracer("schemabus", tracer_provider=tracer_provider)
        self._service = service
        self._registry = registry
        self.off: Callable[[], bool] = _global_off_now
        if tracer_provider is not None:
            explicit_off = isinstance(tracer_provider, _NO_SDK)
            self.off = lambda: explicit_off

    async def around_publish(self, envelopes: Sequence[Envelope], send: Send) -> None:
        if self.off():
            await send()
            return
        first = envelopes[0] if envelopes else None
        attributes: dict[str, str | int] = {
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
            "messaging.batch.message_count": len(envelopes),
        }
        spec = None
        if first is not None and self._registry is not None:
            spec = self._registry.events.get((first.type, first.dataversion))
        if spec is not None:
            attributes["messaging.system"] = _system(spec)
            attributes["messaging.destination.name"] = _destination(spec)
        if first is not None:
            attributes["cloudevents.event_type"] = first.type
            if len(envelopes) == 1:
                attributes["messaging.message.id"] = first.id
        name = f"publish {_destination(spec)}" if spec is not None else "publish"
        # The span is current while `send` runs: the publisher asks `current_traceparent`
        # then and stamps the envelopes with it.
        with self._tracer.start_as_current_span(
            name, kind=SpanKind.PRODUCER, attributes=attributes
        ):
            await send()

    def current_traceparent(self) -> str | None:
        if self.off():
            return None
        span = trace.get_current_span()
        if not span.get_span_context().is_valid:
            return None
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        return carrier.get("traceparent")

    def middleware(self, spec: EventSpec, handler: EventHandler) -> EventHandler:
        name = f"process {_destination(spec)}"
        fixed: dict[str, str | int] = {
            "messaging.system": _system(spec),
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": _destination(spec),
            "cloudevents.event_type": spec.type,
            "schemabus.event.version": spec.version,
        }
        if self._service is not None:
            fixed["messaging.consumer.group.name"] = self._service
        off, tracer = self.off, self._tracer

        async def traced(event: Any, ctx: Context) -> None:
            if off():
                await handler(event, ctx)
                return
            env = ctx.envelope
            parent = (
                _propagator.extract({"traceparent": env.traceparent})
                if env.traceparent
                else otel_context.get_current()
            )
            attributes = {**fixed, "messaging.message.id": ctx.event_id}
            if env.subject:
                attributes["cloudevents.event_subject"] = env.subject
            with tracer.start_as_current_span(
                name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
            ) as span:
                try:
                    await handler(event, ctx)
                except Exception as exc:
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                    raise

        return traced

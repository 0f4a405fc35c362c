"""Where tracing and metrics plug in, without touching the hot path when unused.

* `HandlerMiddleware` wraps a handler once, at start-up: `wrap(spec, handler) -> handler`.
  An OpenTelemetry middleware opens a span around the call (reading `ctx.envelope.
  traceparent`), a Prometheus one observes latency. No middleware = the bare handler is
  called, at zero cost.
* `PublishHook` sees every outgoing batch of envelopes before it is sent, e.g. to count
  published events.
* `TraceparentSource` tells the publisher which trace a batch belongs to (the publish
  span a middleware opened); the publisher alone stamps envelopes with it.
* `PublishMiddleware` wraps the sending of one batch (`await send()`), e.g. in a
  "publish" span; it runs once per batch, never per event.

Ready-made ones: `runtime.tracing.tracing_hooks()` (OpenTelemetry) and
`runtime.metrics.Metrics` (Prometheus); combine with `Hooks.combine`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from runtime.envelope import Envelope
from runtime.spec import EventHandler, EventSpec

HandlerMiddleware = Callable[[EventSpec, EventHandler], EventHandler]
PublishHook = Callable[[Sequence[Envelope]], None]
Send = Callable[[], Awaitable[None]]
PublishMiddleware = Callable[[Sequence[Envelope], Send], Awaitable[None]]
#: Called after every request/reply round trip: (operation name, seconds, outcome), where
#: outcome is "ok", "timeout", "no_responders" or "error".
RequestHook = Callable[[str, float, str], None]
#: The W3C traceparent of the span a publish belongs to right now, or None (the publisher
#: then continues the handled event's trace): asked once per batch, inside the
#: `around_publish` middlewares, so a publish span they opened is the one returned.
TraceparentSource = Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class Hooks:
    middleware: tuple[HandlerMiddleware, ...] = ()
    on_publish: tuple[PublishHook, ...] = ()
    around_publish: tuple[PublishMiddleware, ...] = ()
    on_request: tuple[RequestHook, ...] = ()
    traceparent: tuple[TraceparentSource, ...] = ()

    @classmethod
    def combine(cls, *hooks: Hooks) -> Hooks:
        return cls(
            middleware=tuple(m for h in hooks for m in h.middleware),
            on_publish=tuple(p for h in hooks for p in h.on_publish),
            around_publish=tuple(a for h in hooks for a in h.around_publish),
            on_request=tuple(r for h in hooks for r in h.on_request),
            traceparent=tuple(t for h in hooks for t in h.traceparent),
        )

    def wrap(self, spec: EventSpec, handler: EventHandler) -> EventHandler:
        # The first middleware listed is the outermost.
        for middleware in reversed(self.middleware):
            handler = middleware(spec, handler)
        return handler

    def published(self, envelopes: Sequence[Envelope]) -> None:
        for hook in self.on_publish:
            hook(envelopes)

    def requested(self, operation: str, seconds: float, outcome: str) -> None:
        for hook in self.on_request:
            hook(operation, seconds, outcome)

    async def send(self, envelopes: Sequence[Envelope], send: Send) -> None:
        """Run `send` inside every `around_publish` middleware (first = outermost)."""
        for middleware in reversed(self.around_publish):
            send = _bind(middleware, envelopes, send)
        await send()


def _bind(middleware: PublishMiddleware, envelopes: Sequence[Envelope], inner: Send) -> Send:
    async def call() -> None:
        await middleware(envelopes, inner)

    return call


NO_HOOKS = Hooks()

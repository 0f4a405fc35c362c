"""Where tracing and metrics plug in, without touching the hot path when unused.

* `HandlerMiddleware` wraps a handler once, at start-up: `wrap(spec, handler) -> handler`.
  An OpenTelemetry middleware opens a span around the call (reading `ctx.envelope.
  traceparent`), a Prometheus one observes latency. No middleware = the bare handler is
  called, at zero cost.
* `PublishHook` sees every outgoing batch of envelopes before it is sent, e.g. to stamp
  the current span's `traceparent` or count published events.
* `ConsumeHook` sees every settled batch: handled, dead-lettered and retried counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runtime.envelope import Envelope
from runtime.spec import EventHandler, EventSpec

HandlerMiddleware = Callable[[EventSpec, EventHandler], EventHandler]
PublishHook = Callable[[Sequence[Envelope]], None]


@dataclass(frozen=True, slots=True)
class Hooks:
    middleware: tuple[HandlerMiddleware, ...] = ()
    on_publish: tuple[PublishHook, ...] = ()

    def wrap(self, spec: EventSpec, handler: EventHandler) -> EventHandler:
        # The first middleware listed is the outermost.
        for middleware in reversed(self.middleware):
            handler = middleware(spec, handler)
        return handler

    def published(self, envelopes: Sequence[Envelope]) -> None:
        for hook in self.on_publish:
            hook(envelopes)


NO_HOOKS = Hooks()

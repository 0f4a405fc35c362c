"""From an inbound envelope to a typed handler call.

Routes are resolved once, at start-up: for every event type a service subscribes to and
every version the registry knows, either a decoder into the version the handler declared
(direct when the gate proved it safe, else through the upcaster chain) or the reason no
model can read it. Per event the hot path is a dict lookup, `model_validate_json`, a
context variable set/reset and the handler call.

Anything no model can read raises `Undeliverable`, which the engine dead-letters with the
reason; the consumer never crashes or stalls on bad input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from runtime import constants as C
from runtime.context import Messenger
from runtime.errors import ConfigError, Undeliverable
from runtime.hooks import NO_HOOKS, Hooks
from runtime.invoke import invoke
from runtime.spec import EventHandler, EventSpec, Registry, RetryPolicy, Subscription, Upcaster
from runtime.transport import Inbound

Decoder = Callable[[bytes], BaseModel]
UpcasterMap = Mapping[tuple[str, int, int], Upcaster]

DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Route:
    spec: EventSpec  # the version the handler declared
    handler: EventHandler
    decode: Decoder
    via: str  # "direct" or "upcast" (for logs and tests)


def decoder_for(
    registry: Registry, upcasters: UpcasterMap, type_: str, written: int, target: EventSpec
) -> tuple[Decoder, str] | None:
    """How a reader of `target` decodes data written as `written`; None if it cannot."""
    plan = registry.read_plan(type_, written, target.version)
    if plan is None:
        return None
    model = target.model
    if plan.via == "direct":
        return model.model_validate_json, "direct"
    chain: list[Upcaster] = []
    for key in plan.upcasters:
        fn = upcasters.get(key)
        if fn is None:
            raise ConfigError(
                f"no upcaster {key!r} for reading {type_} v{written} as v{target.version}; "
                "add it to services/upcasters.py UPCASTERS"
            )
        chain.append(fn)

    def upcast(data: bytes) -> BaseModel:
        doc: Any = orjson.loads(data)
        for fn in chain:
            doc = fn(doc)
        return model.model_validate(doc)

    return upcast, "upcast"


class Dispatcher:
    """Implements `runtime.consumer.Processor` for one service's subscriptions."""

    def __init__(
        self,
        subscriptions: Iterable[Subscription],
        registry: Registry,
        upcasters: UpcasterMap | None = None,
        *,
        messenger: Messenger | None = None,
        max_payload_bytes: int = 1_048_576,
        hooks: Hooks = NO_HOOKS,
    ) -> None:
        self.registry = registry
        self._messenger = messenger
        self._max = max_payload_bytes
        self.routes: dict[tuple[str, int], Route] = {}
        self._unreadable: dict[tuple[str, int], str] = {}
        self._subscribed: set[str] = set()
        ups = upcasters or {}
        for sub in subscriptions:
            t = sub.spec.type
            if t in self._subscribed:
                raise ConfigError(f"two handlers subscribe to {t!r}; one per event type")
            self._subscribed.add(t)
            handler = hooks.wrap(sub.spec, sub.handler)
            for version in registry.versions(t) or [sub.spec.version]:
                found = decoder_for(registry, ups, t, version, sub.spec)
                if found is None:
                    self._unreadable[(t, version)] = (
                        f"{t} v{version} cannot be read as v{sub.spec.version}: "
                        "no read plan (the gate found them incompatible and no upcaster exists)"
                    )
                else:
                    self.routes[(t, version)] = Route(sub.spec, handler, found[0], found[1])

    def ordering_key(self, inbound: Inbound) -> str | None:
        env = inbound.envelope
        return env.subject if env is not None else None

    def retry_policy(self, inbound: Inbound) -> RetryPolicy:
        env = inbound.envelope
        if env is not None:
            route = self.routes.get((env.type, env.dataversion))
            if route is not None:
                return route.spec.retry
        return DEFAULT_RETRY

    def process(self, inbound: Inbound) -> Awaitable[None]:
        """The handler call for `inbound`, ready to await (decoding done here, so one
        coroutine less per event). Raises `Undeliverable` for what no handler can get."""
        env = inbound.envelope
        if env is None:
            reason = C.REASON_OVERSIZED if inbound.oversized else C.REASON_MALFORMED
            raise Undeliverable(reason, inbound.error or "not an envelope")
        if len(env.data) > self._max:
            raise Undeliverable(
                C.REASON_OVERSIZED,
                f"{env.type} v{env.dataversion} {env.id}: data is {len(env.data)} bytes, "
                f"over the {self._max}-byte limit",
            )
        route = self.routes.get((env.type, env.dataversion))
        if route is None:
            self._no_route(env.type, env.dataversion, env.id)
            return _skipped()
        try:
            event = route.decode(env.data)
        except Exception as exc:  # decoding is deterministic: retrying cannot help
            raise Undeliverable(
                C.REASON_INVALID,
                f"{env.type} v{env.dataversion} {env.id} is not a valid "
                f"{route.spec.model.__name__}: {_short(exc)}",
            ) from None
        return invoke(route.handler, event, env, self._messenger, inbound)

    def _no_route(self, type_: str, version: int, event_id: str) -> None:
        reason = self._unreadable.get((type_, version))
        if reason is not None:
            raise Undeliverable(C.REASON_UNREADABLE, f"{event_id}: {reason}")
        if type_ in self._subscribed or not self.registry.versions(type_):
            raise Undeliverable(
                C.REASON_UNKNOWN_EVENT,
                f"{event_id}: no event {type_!r} version {version} in the registry",
            )
        # A registered type this service does not subscribe to (streams are shared by
        # several types): acknowledge and move on.


async def _skipped() -> None:
    """A registered type this service does not subscribe to: nothing to run."""


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:3]
        ]
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return "; ".join(parts) + more
    return f"{type(exc).__name__}: {exc}"

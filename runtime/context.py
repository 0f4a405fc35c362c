"""The handler's `Context`, and the context variable that carries causality.

While a handler runs, `current_envelope` holds the event it is handling, so any publish or
request made from inside it — through `ctx`, or through the bus directly — gets the same
correlation id and this event as its cause, without the handler passing anything along.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from runtime.envelope import Envelope
from runtime.partitioning import colocated_key
from runtime.spec import OperationSpec
from runtime.transport import Inbound

M = TypeVar("M", bound=BaseModel)

current_envelope: ContextVar[Envelope | None] = ContextVar("schemabus_envelope", default=None)


class Messenger(Protocol):
    """What a handler's context publishes and requests through (a `Bus` is one)."""

    async def publish(self, event: BaseModel, *, correlation_id: str | None = None) -> str: ...

    async def publish_many(
        self, events: Sequence[BaseModel], *, correlation_id: str | None = None
    ) -> list[str]: ...

    async def request(
        self,
        operation: OperationSpec,
        request: BaseModel,
        reply: type[M],
        *,
        timeout_s: float | None = None,
    ) -> M: ...


class HandlerContext:
    """Implements `runtime.spec.Context`."""

    __slots__ = ("_messenger", "envelope", "inbound")

    def __init__(
        self, messenger: Messenger | None, envelope: Envelope, inbound: Inbound | None
    ) -> None:
        self._messenger = messenger
        self.envelope = envelope
        self.inbound = inbound

    @property
    def event_id(self) -> str:
        return self.envelope.id

    @property
    def correlation_id(self) -> str:
        return self.envelope.correlationid or self.envelope.id

    @property
    def attempts(self) -> int:
        """1 on first delivery; more when retried or redelivered."""
        return self.inbound.attempts if self.inbound is not None else 1

    async def publish(self, event: BaseModel) -> None:
        await self._require_messenger().publish(event)

    async def publish_many(self, events: Sequence[BaseModel]) -> None:
        await self._require_messenger().publish_many(events)

    async def request(self, operation: OperationSpec, request: BaseModel, reply: type[M]) -> M:
        return await self._require_messenger().request(operation, request, reply)

    @property
    def partition(self) -> str | None:
        """The stream partition the event was read from (`orders:{2}`), if any."""
        return self.inbound.destination if self.inbound is not None else None

    def key(self, name: str) -> str:
        """`name` in the hash slot of this event's partition (`ledger:{2}` for
        `orders:{2}`): on a Redis Cluster, staged effects may only touch such keys."""
        if self.inbound is None:
            return name
        return colocated_key(self.inbound.destination, name)

    def stage(self, *command: Any) -> None:
        """Queue a Redis command to run atomically with this event's ack and idempotency
        mark, so the side effect happens exactly once per event even if the process dies
        between handling and acking (effectively-once for state kept in the same Redis).
        On the in-memory bus the commands are recorded in `MemoryTransport.effects`.
        Raises `NotSupportedError` when the event came over a transport that cannot
        commit effects with its ack (NATS), instead of the effect being lost."""
        if self.inbound is None:
            raise RuntimeError("stage() is only available while handling a delivered event")
        if not command:
            raise ValueError("stage() needs a command, e.g. ctx.stage('HINCRBY', key, field, 1)")
        self.inbound.effects.append(tuple(command))  # NoEffects raises here

    def _require_messenger(self) -> Messenger:
        if self._messenger is None:
            raise RuntimeError("this context has no bus to publish on")
        return self._messenger

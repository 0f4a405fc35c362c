"""Typed request/reply: send a request model, get the reply model back (or a clear error).

The request envelope is built like any publish (causality carried over inside a handler);
the reply is decoded into the model the caller asked for, through the registry's read
plans (an older or newer reply version is read when the gate proved it safe, or through
upcasters). A responder's failure comes back as a `schemabus.error` envelope and is raised
here as `RemoteError` with its type and message.
"""

from __future__ import annotations

import time
from typing import TypeVar

import orjson
from pydantic import BaseModel

from runtime import constants as C
from runtime.dispatch import UpcasterMap, decoder_for
from runtime.envelope import Envelope
from runtime.errors import NoRespondersError, NotSupportedError, RemoteError, RequestTimeoutError
from runtime.hooks import Hooks
from runtime.publisher import Publisher, plan_for
from runtime.spec import OperationSpec, Registry
from runtime.transport import Transport

M = TypeVar("M", bound=BaseModel)


def request_transport(*transports: Transport | None) -> Transport:
    """The first transport that carries request/reply (NATS, or the in-memory one)."""
    for t in transports:
        if t is not None and "request" in t.capabilities:
            return t
    raise NotSupportedError("request/reply needs NATS: set SCHEMABUS_NATS_URL")


class RequestClient:
    def __init__(
        self,
        registry: Registry,
        publisher: Publisher,
        transport: Transport | None,
        *,
        upcasters: UpcasterMap,
        hooks: Hooks,
    ) -> None:
        self.registry = registry
        self.publisher = publisher
        self.transport = transport
        self.upcasters = upcasters
        self.hooks = hooks

    async def request(
        self,
        operation: OperationSpec,
        request: BaseModel,
        reply: type[M],
        *,
        timeout_s: float | None = None,
    ) -> M:
        """Send a typed request and wait for the typed reply."""
        if self.transport is None:
            raise NotSupportedError("request/reply needs NATS: set SCHEMABUS_NATS_URL")
        env = self.publisher.envelope(request, plan=plan_for(operation.request))
        env.traceparent = self.publisher.traceparent()
        timeout = timeout_s if timeout_s is not None else operation.timeout_ms / 1000
        if self.hooks.on_request:
            answer = await self._timed(operation, env, timeout)
        else:
            answer = await self.transport.request(operation.subject, env, timeout)
        if answer.type == C.ERROR_TYPE:
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

    async def _timed(self, operation: OperationSpec, env: Envelope, timeout: float) -> Envelope:
        assert self.transport is not None  # checked by the caller
        start = time.perf_counter()
        outcome = "error"
        try:
            answer = await self.transport.request(operation.subject, env, timeout)
            outcome = "error" if answer.type == C.ERROR_TYPE else "ok"
            return answer
        except RequestTimeoutError:
            outcome = "timeout"
            raise
        except NoRespondersError:
            outcome = "no_responders"
            raise
        finally:
            self.hooks.requested(operation.name, time.perf_counter() - start, outcome)

"""Serving an operation: a typed responder adapted to envelope in, envelope out.

The request is decoded into the model the responder declared (read plans and upcasters as
for events), the responder runs through `runtime.invoke` like an event handler, and its
reply model becomes the reply envelope. Whatever goes wrong comes back to the caller as a
`schemabus.error` envelope (raised there as `RemoteError`), never as silence.
"""

from __future__ import annotations

import logging

import orjson

from runtime import constants as C
from runtime.context import Messenger, current_envelope
from runtime.dispatch import UpcasterMap, decoder_for
from runtime.envelope import Envelope
from runtime.errors import Undeliverable
from runtime.invoke import invoke
from runtime.publisher import Publisher, plan_for
from runtime.spec import Registry, Responder
from runtime.transport import ReplyHandler

log = logging.getLogger("schemabus.responder")

#: Longest error message sent back to a caller.
MAX_ERROR_MESSAGE = 2000


def reply_handler(
    responder: Responder,
    *,
    registry: Registry,
    upcasters: UpcasterMap,
    publisher: Publisher,
    messenger: Messenger | None,
) -> ReplyHandler:
    op = responder.operation
    reply_plan = plan_for(op.reply)

    async def handle(env: Envelope) -> Envelope:
        try:
            found = decoder_for(registry, upcasters, env.type, env.dataversion, op.request)
            if found is None or env.type != op.request.type:
                raise Undeliverable(
                    C.REASON_UNREADABLE, f"cannot read {env.type} v{env.dataversion} as {op.name}"
                )
            result = await invoke(responder.handler, found[0](env.data), env, messenger)
            token = current_envelope.set(env)  # the reply is caused by the request
            try:
                answer = publisher.envelope(result, plan=reply_plan)
            finally:
                current_envelope.reset(token)
            answer.traceparent = env.traceparent
            return answer
        except Exception as exc:
            log.warning("responder %s failed: %r", op.name, exc)
            return error_envelope(publisher.source, exc, env)

    return handle


def error_envelope(source: str, exc: Exception, request: Envelope) -> Envelope:
    data = orjson.dumps({"error_type": type(exc).__name__, "message": str(exc)[:MAX_ERROR_MESSAGE]})
    return Envelope.new(
        source=source,
        type=C.ERROR_TYPE,
        dataversion=1,
        data=data,
        correlationid=request.correlationid or request.id,
        causationid=request.id,
    )

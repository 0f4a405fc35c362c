"""Calling a typed handler: the one place where the handled envelope becomes current.

Both the event dispatcher and request responders go through `invoke`, so a handler sees
the same thing whichever way its input arrived: while it runs, `current_envelope` holds
the envelope it is handling, and anything it publishes or requests (through `ctx` or a
bus) carries that envelope's correlation id, has it as causation id and continues its
trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from runtime.context import HandlerContext, Messenger, current_envelope
from runtime.envelope import Envelope
from runtime.transport import Inbound

R = TypeVar("R")


async def invoke(
    handler: Callable[[Any, HandlerContext], Awaitable[R]],
    event: Any,
    envelope: Envelope,
    messenger: Messenger | None,
    inbound: Inbound | None = None,
) -> R:
    token = current_envelope.set(envelope)
    try:
        return await handler(event, HandlerContext(messenger, envelope, inbound))
    finally:
        current_envelope.reset(token)

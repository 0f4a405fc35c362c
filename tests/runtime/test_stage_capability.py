"""`ctx.stage()` on a transport without atomic effects raises at the call.

NATS acknowledges without a place to commit effects; the engine used to log once and drop
them. Now every NATS inbound carries `NoEffects`, and staging fails where the handler
can see it (and, uncaught, fails the event like any handler error).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from runtime import constants as C
from runtime.context import HandlerContext
from runtime.errors import NotSupportedError
from runtime.spec import Context
from runtime.transport import Inbound, NoEffects
from tests.runtime.harness import NatsHarness
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2
from tests.runtime.test_conformance import eventually, run, wiring


def test_no_effects_refuses_every_way_of_adding() -> None:
    effects = NoEffects("NATS")
    inbound = Inbound("s", "1", 1, None, effects=effects)
    adders: list[Callable[[], object]] = [
        lambda: inbound.effects.append(("SET", "k", "v")),
        lambda: inbound.effects.extend([("SET", "k", "v")]),
        lambda: inbound.effects.insert(0, ("SET", "k", "v")),
    ]
    for add in adders:
        with pytest.raises(NotSupportedError, match=r"ctx\.stage\(\) needs a transport"):
            add()
    with pytest.raises(NotSupportedError):
        inbound.effects += [("SET", "k", "v")]
    inbound.effects.clear()  # what the engine does after a failure: harmless
    assert effects == [] and not effects


@pytest_asyncio.fixture
async def nats(nats_url: str) -> AsyncIterator[NatsHarness]:
    harness = await NatsHarness.create(nats_url)
    try:
        yield harness
    finally:
        await harness.close()


@pytest.mark.nats
async def test_stage_on_nats_raises_at_the_call(nats: NatsHarness) -> None:
    raised: list[BaseException] = []

    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        try:
            ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)
        except NotSupportedError as exc:
            raised.append(exc)

    runner = await run(nats.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
    await nats.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=1))
    await eventually(lambda: runner.handled == 1)
    await runner.stop()
    (exc,) = raised
    message = str(exc)
    assert "this event came over NATS" in message and "ctx.event_id" in message


@pytest.mark.nats
async def test_uncaught_stage_error_fails_the_event_visibly(nats: NatsHarness) -> None:
    async def handler(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)

    runner = await run(nats.bus(REGISTRY, "s"), wiring("s", (ORDER_V2, handler)))
    await nats.bus(REGISTRY, "p").publish(OrderCreatedV2(order_id="a", total=1))
    await eventually(lambda: runner.dead_lettered == 1, timeout=30)
    await runner.stop()
    (letter,) = await nats.dead_letters(ORDER_V2.stream or "orders")
    assert letter[C.DLQ_ERROR_TYPE] == b"NotSupportedError"
    assert b"ctx.stage() needs a transport" in letter[C.DLQ_ERROR_MESSAGE]

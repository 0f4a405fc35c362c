"""A consumer process for fault tests: `python -m tests.runtime.ledger_consumer URL NAME`.

Its handler records each event in a Redis-side ledger (HINCRBY ledger <event id> 1) as a
staged effect, committed atomically with the ack, and counts raw invocations separately
(INCR invocations, not atomic with anything) so a test can see redeliveries happened and
that they never reached the ledger twice.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace

import redis.asyncio as aioredis

from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.redis_streams import RedisTransport
from runtime.settings import Settings
from runtime.spec import Context, ServiceWiring, Subscription
from tests.runtime.harness import FAST
from tests.runtime.models import ORDER_V2, REGISTRY, OrderCreatedV2


async def main(url: str, name: str) -> None:
    counter = aioredis.Redis.from_url(url)
    transport = RedisTransport.from_url(url)
    settings = Settings(
        redis=None,
        consumer=replace(FAST, batch=100, visibility_timeout_ms=1000, reclaim_interval_ms=200),
    )
    bus = Bus(REGISTRY, source="ledger", durable=transport, live=None, settings=settings)

    async def handle(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        await counter.incr("invocations")
        await asyncio.sleep(0.001)  # some work, so a kill lands mid-batch
        ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)

    wiring = ServiceWiring("ledger", (Subscription(ORDER_V2, handle),))
    print("ready", flush=True)
    await bus.service(wiring, consumer_name=name).run_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

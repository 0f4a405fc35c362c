"""One replica for the scale-out benchmarks: `python -m bench.replica_worker URL MEMBER STREAM`.

A member of group `--group` (default `bench`) consuming order.created v2 from STREAM split into
`PARTITIONS` partitions (`scaleout_registry`; the benchmark publishes with the same one),
with the production consumer defaults (lease TTL 3 s, heartbeat 1 s) and the durable
suite's batch and block. Its handler only validates (dispatch does that) and, with
`--mark`, stages `SET bench:by:<partition> <member>`, committed with the ack, so the
takeover benchmark sees which member handled a partition last.
Stops gracefully on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace

from bench.common import BATCH, BLOCK_MS
from bench.events import ORDER_SPEC
from generated.models import OrderCreatedV2
from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.settings import ConsumerSettings, RedisSettings, Settings
from runtime.spec import Context, EventSpec, Registry, ServiceWiring, Subscription

GROUP = "bench"
PARTITIONS = 4
#: Where `--mark` records the last member that handled each partition.
MARK_PREFIX = "bench:by:"


def scaleout_spec(stream: str, partitions: int = PARTITIONS) -> EventSpec:
    return replace(ORDER_SPEC, stream=stream, partitions=partitions)


def scaleout_registry(stream: str, partitions: int = PARTITIONS) -> Registry:
    return Registry.build([scaleout_spec(stream, partitions)])


async def main(url: str, member: str, stream: str, group: str, mark: bool, partitions: int) -> None:
    spec = scaleout_spec(stream, partitions)
    consumer = ConsumerSettings(batch=BATCH, block_ms=BLOCK_MS)
    settings = Settings(redis=RedisSettings.from_url(url), consumer=consumer)
    bus = await Bus.connect(settings, scaleout_registry(stream, partitions), source=member)

    async def handle(event: OrderCreatedV2, ctx: Context) -> None:
        if mark:
            assert isinstance(ctx, HandlerContext)
            ctx.stage("SET", MARK_PREFIX + spec.route(event.order_id), member)

    wiring = ServiceWiring(group, (Subscription(spec, handle),))
    try:
        await bus.service(wiring, consumer_name=member).run_forever()
    finally:
        await bus.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    p = argparse.ArgumentParser(prog="python -m bench.replica_worker")
    p.add_argument("url")
    p.add_argument("member")
    p.add_argument("stream")
    p.add_argument("--group", default=GROUP)
    p.add_argument("--partitions", type=int, default=PARTITIONS)
    p.add_argument("--mark", action="store_true")
    a = p.parse_args()
    asyncio.run(main(a.url, a.member, a.stream, a.group, a.mark, a.partitions))

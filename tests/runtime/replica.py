"""One replica of a partitioned service, for scale-out fault tests:
`python -m tests.runtime.replica URL MEMBER [options]`.

It consumes order.created v2 from `orders` split into 4 partitions (`models.PARTITIONED`;
publishers must use the same registry) as a member of group `ledger`. Its handler keeps
two ledgers in Redis:

* staged (`ctx.stage`, committed atomically with the ack, under the partition's fencing
  token): `HINCRBY ledger <event id> 1`, `RPUSH seq:<order id> <total>` (publishers put a
  per-aggregate sequence number in `total`) and `HSET handled_at <event id> <unix time>`;
* plain (run while the handler runs, fenced by nothing): a mutual-exclusion probe per
  aggregate. At the start `busy:<order id>` is set to this pid; if it held another value,
  that pid was handling the same aggregate, which is an overlap unless that process is
  dead (a SIGKILLed holder leaves its key behind): live overlaps are pushed to `overlaps`.
  At the end the key is deleted if it is still this pid's. `HINCRBY invocations <member>`
  counts handler runs per member, redeliveries included.

`--no-probe` leaves the plain ledger out: the handler then only waits `--handler-ms` and
stages (a test that restarts Redis would otherwise see its own probe calls fail).
`--slow ORDER_ID` makes the first attempt of that aggregate's events announce itself
(`SET started:<event id> <pid>`), take `--slow-ms`, then `SET finished:<event id>`: a
fencing test stops the process in the middle. Every settle call's outcome is appended
to `settles:<member>` as `<entries> <fenced partitions>` so a test can see an ack that
the broker refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.redis_streams import RedisTransport
from runtime.settings import ConsumerSettings, Settings
from runtime.spec import Context, ServiceWiring, Subscription
from runtime.transport import DeadLetter, Inbound, Settled
from tests.runtime.models import ORDER_V2_P4, PARTITIONED, OrderCreatedV2

GROUP = "ledger"

# KEYS: busy key. ARGV: pid -> the previous holder when it was another value, else false.
CLAIM_BUSY = """
local cur = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
if cur and cur ~= ARGV[1] then return cur end
return false
"""
# KEYS: busy key. ARGV: pid. Deletes the key only if this pid still holds it.
FREE_BUSY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (killed and not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def settings(args: argparse.Namespace) -> ConsumerSettings:
    return ConsumerSettings(
        batch=100,
        block_ms=200,
        concurrency=32,
        lease_ttl_ms=args.ttl_ms,
        heartbeat_ms=args.heartbeat_ms,
        handler_timeout_ms=60_000,
    )


async def main(args: argparse.Namespace) -> None:
    pid = os.getpid()
    me = str(pid).encode()
    plain = aioredis.Redis.from_url(args.url)
    transport = RedisTransport.from_url(args.url)
    bus = Bus(
        PARTITIONED,
        source="ledger",
        durable=transport,
        live=None,
        settings=Settings(redis=None, consumer=settings(args)),
    )

    async def handle(event: OrderCreatedV2, ctx: Context) -> None:
        assert isinstance(ctx, HandlerContext)
        if args.no_probe:
            await asyncio.sleep(args.handler_ms / 1000)
        else:
            await probed(event, ctx)
        ctx.stage("HINCRBY", "ledger", ctx.event_id, 1)
        ctx.stage("RPUSH", f"seq:{event.order_id}", event.total)
        ctx.stage("HSET", "handled_at", ctx.event_id, repr(time.time()))

    async def probed(event: OrderCreatedV2, ctx: HandlerContext) -> None:
        busy = f"busy:{event.order_id}"
        await plain.hincrby("invocations", args.member, 1)  # type: ignore[misc]
        holder = await plain.eval(CLAIM_BUSY, 1, busy, me)  # type: ignore[misc]
        if holder is not None and (int(holder) == pid or alive(int(holder))):
            note = f"{event.order_id} {holder.decode()} {pid} {ctx.event_id}"
            await plain.rpush("overlaps", note)  # type: ignore[misc]
        try:
            if event.order_id == args.slow and ctx.attempts == 1:
                await plain.set(f"started:{ctx.event_id}", me)
                await asyncio.sleep(args.slow_ms / 1000)
                await plain.set(f"finished:{ctx.event_id}", me)
            elif args.long_every and event.total % args.long_every == args.long_every - 1:
                await asyncio.sleep(args.long_ms / 1000)
            elif args.handler_ms:
                await asyncio.sleep(args.handler_ms / 1000)
        finally:
            await plain.eval(FREE_BUSY, 1, busy, me)  # type: ignore[misc]

    wiring = ServiceWiring(GROUP, (Subscription(ORDER_V2_P4, handle),))
    runner = bus.service(wiring, consumer_name=args.member)
    for consumer in runner.consumers:
        _record_settles(consumer.source, plain, args.member)
    print("ready", flush=True)
    try:
        await runner.run_forever()
    finally:
        await bus.close()
        await plain.aclose()


def _record_settles(source: Any, plain: aioredis.Redis, member: str) -> None:
    """Wrap the source's settle so each call's outcome lands in `settles:<member>`."""
    settle = source.settle

    async def recorded(done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> Settled:
        result: Settled = await settle(done, dead)
        note = f"{len(done) + len(dead)} {','.join(sorted(result.fenced))}"
        with contextlib.suppress(RedisError):  # a probe must not change what it observes
            await plain.rpush(f"settles:{member}", note)  # type: ignore[misc]
        return result

    source.settle = recorded


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.runtime.replica")
    p.add_argument("url")
    p.add_argument("member")
    p.add_argument("--handler-ms", type=float, default=0.0)
    p.add_argument("--long-every", type=int, default=0, help="every Nth event (by total)...")
    p.add_argument("--long-ms", type=float, default=0.0, help="...takes this long")
    p.add_argument("--slow", default=None, help="order id whose first attempt is slow")
    p.add_argument("--slow-ms", type=float, default=0.0)
    p.add_argument(
        "--no-probe",
        action="store_true",
        help="no plain Redis calls in the handler (they would fail while Redis is down)",
    )
    p.add_argument("--ttl-ms", type=int, default=2000)
    p.add_argument("--heartbeat-ms", type=int, default=400)
    return p.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {os.getpid()} %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(main(parse(sys.argv[1:])))

"""A read whose reply is lost: Redis delivered the entries (they are pending to this
consumer), the connection died before the reply arrived. The next read after the
reconnect must return them from the consumer's own history at once, not leave them to a
timeout. A TCP proxy between the consumer and a real Redis drops exactly that reply.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import redis.asyncio as aioredis

from runtime.bus import Bus
from runtime.redis_streams import RedisTransport
from runtime.transport import Inbound
from tests.runtime.harness import FAST, lease_all
from tests.runtime.models import ORDER_V2_P4, PARTITIONED, OrderCreatedV2

pytestmark = pytest.mark.redis


class LossyProxy:
    """Forwards a TCP connection to Redis; while `drop_replies` is set, the next reply
    from the server is swallowed and both sides are closed (a crash after execution)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.drop_replies = False
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        down = asyncio.create_task(self._pipe(up_reader, writer, replies=True))
        up = asyncio.create_task(self._pipe(reader, up_writer, replies=False))
        self._tasks |= {down, up}
        await asyncio.wait([down, up], return_when=asyncio.FIRST_COMPLETED)
        for task in (down, up):
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool
    ) -> None:
        while data := await reader.read(65536):
            if replies and self.drop_replies:
                self.drop_replies = False
                self.dropped += 1
                return  # the reply is lost with the connection
            writer.write(data)
            await writer.drain()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


async def test_entries_whose_read_reply_was_lost_come_back_at_the_next_read(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = LossyProxy(port)
    transport = RedisTransport.from_url(await proxy.start())
    parts = ORDER_V2_P4.partition_keys()
    partition = ORDER_V2_P4.route("a")
    source = transport.source("g", "c", parts, FAST)
    await source.open()
    await lease_all(source, "c", 60_000)
    assert await source.fetch(40, 0) == []  # caught up: history read, nothing pending
    producer = RedisTransport(redis_client)
    bus = Bus(PARTITIONED, source="p", durable=producer, live=None)
    ids = await bus.publish_many([OrderCreatedV2(order_id="a", total=i) for i in range(3)])

    proxy.drop_replies = True
    with pytest.raises(ConnectionError):
        await source.fetch(40, 0)
    assert proxy.dropped == 1
    # Redis did deliver them: they are pending to this consumer, which never saw them.
    summary = await redis_client.xpending(partition, "g")
    assert summary["pending"] == 3

    again: list[Inbound] = await source.fetch(40, 0)
    assert [i.envelope.id for i in again if i.envelope] == ids
    assert [i.attempts for i in again] == [2, 2, 2]
    await source.settle(again, [])
    assert (await redis_client.xpending(partition, "g"))["pending"] == 0
    await source.close()
    await transport.close()
    await proxy.close()

"""One small adapter per transport, so the conformance suite is written once.

Adding a transport to the suite = one more `Harness` subclass and one more id in
`conftest.TRANSPORTS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from runtime import constants as C
from runtime.bus import Bus
from runtime.context import HandlerContext
from runtime.memory import MemoryTransport
from runtime.partitioning import colocated_key
from runtime.redis_conn import make_client
from runtime.redis_streams import RedisTransport
from runtime.settings import ConsumerSettings, RedisSettings, Settings
from runtime.spec import Context, Registry
from runtime.transport import Source, Transport

# Short timings keep the tests quick. The lease TTL is the exception: the test process
# sees full garbage collections of up to about 0.5 s late in a run, and a lease that
# lapses during one is (rightly) taken over, which would make a test about a graceful
# hand-off flaky. Tests about expiry set their own short TTL.
FAST = ConsumerSettings(
    batch=50,
    block_ms=50,
    concurrency=8,
    visibility_timeout_ms=200,
    reclaim_interval_ms=50,
    lease_ttl_ms=2000,
    heartbeat_ms=100,
)


def ledger_key(ctx: Context) -> str:
    """The test ledger in the slot of the handled event's partition: on a Redis Cluster a
    staged effect commits in its partition's settle script (any key works on one server).
    What the lead may expose as `ctx.key("ledger")`."""
    assert isinstance(ctx, HandlerContext) and ctx.inbound is not None
    return colocated_key(ctx.inbound.destination, "ledger")


async def lease_all(source: Source, member: str, ttl_ms: int = 500) -> None:
    """Make `source` own all its partitions, as its consumer's ownership loop would (a
    coordinated source reads nothing it does not hold a lease on)."""
    if source.membership is None:
        return
    for partition in source.partitions:
        token = await source.membership.acquire(partition, member, ttl_ms)
        assert token is not None, f"{partition} is leased to another member"
        source.assign(partition, token)


class Harness:
    name = "?"
    durable: Transport
    live: Transport | None = None

    async def kill(self, source: Source) -> None:
        """Make a source that fetched entries vanish without settling them."""

    def bus(self, registry: Registry, source: str, **kw: Any) -> Bus:
        return Bus(
            registry,
            source=source,
            durable=self.durable,
            live=self.live,
            settings=Settings(redis=None, consumer=kw.pop("consumer", FAST)),
            **kw,
        )

    async def append_raw(self, stream: str, fields: Mapping[str, str | bytes]) -> None:
        raise NotImplementedError

    async def dead_letters(self, stream: str) -> list[dict[str, bytes]]:
        raise NotImplementedError

    async def ledger(self, key: str) -> dict[str, int]:
        """The hash a test's staged HINCRBY effects wrote: `key`, and its copies per
        partition (`colocated_key(partition, key)`, as a cluster needs), summed."""
        raise NotImplementedError

    async def entries(self, stream: str) -> list[dict[bytes, bytes]]:
        """Every entry's fields in one stream (partition), in order."""
        raise NotImplementedError

    async def pending(self, stream: str, group: str) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        await self.durable.close()


class MemoryHarness(Harness):
    name = "memory"

    def __init__(self) -> None:
        self.memory = MemoryTransport()
        self.durable = self.memory
        self.live = self.memory

    async def append_raw(self, stream: str, fields: Mapping[str, str | bytes]) -> None:
        await self.memory.append_raw(stream, fields)

    async def dead_letters(self, stream: str) -> list[dict[str, bytes]]:
        rows = self.memory.dead_letters.get(C.dead_letter_stream(stream), [])
        return [{k.decode(): v for k, v in f.items()} for f in rows]

    async def entries(self, stream: str) -> list[dict[bytes, bytes]]:
        log = self.memory.logs.get(stream)
        return [] if log is None else [log.entries[i] for i in log.ids if i in log.entries]

    async def pending(self, stream: str, group: str) -> int:
        return self.memory.pending_count(stream, group)

    async def ledger(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for cmd in self.memory.effects:
            if cmd[0] == "HINCRBY" and _ledger_key(str(cmd[1]), key):
                out[str(cmd[2])] = out.get(str(cmd[2]), 0) + int(cmd[3])
        return out


def _ledger_key(name: str, key: str) -> bool:
    return name == key or (name.startswith(key + ":{") and name.endswith("}"))


class RedisHarness(Harness):
    """One Redis server, or a Redis Cluster (`redis+cluster://`), or a primary behind
    Sentinel: the same transport code on each."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self.client: Any = make_client(RedisSettings.from_url(url))
        self.durable = RedisTransport.from_url(url)

    async def append_raw(self, stream: str, fields: Mapping[str, str | bytes]) -> None:
        await self.client.xadd(stream, dict(fields))  # type: ignore[arg-type]

    async def dead_letters(self, stream: str) -> list[dict[str, bytes]]:
        rows = await self.client.xrange(C.dead_letter_stream(stream))
        return [{k.decode(): v for k, v in fields.items()} for _, fields in rows]

    async def entries(self, stream: str) -> list[dict[bytes, bytes]]:
        return [fields for _, fields in await self.client.xrange(stream)]

    async def pending(self, stream: str, group: str) -> int:
        return int((await self.client.xpending(stream, group))["pending"])

    async def ledger(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        names = {key} | {
            k.decode() async for k in self.client.scan_iter(match=key + ":{*}", count=1000)
        }
        for name in sorted(names):
            for k, v in (await self.client.hgetall(name)).items():
                out[k.decode()] = out.get(k.decode(), 0) + int(v)
        return out

    async def close(self) -> None:
        await super().close()
        await self.client.aclose()


class NatsHarness(Harness):
    """NATS with the conformance streams kept by JetStream (durable pull consumers)."""

    name = "nats"
    SUBJECTS = ("orders", "payments")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.durable = transport
        self.live = transport

    @classmethod
    async def create(cls, url: str) -> NatsHarness:
        from nats.js.errors import NotFoundError

        from runtime.nats import DEAD_LETTER_STREAM, NatsTransport, stream_name
        from runtime.settings import NatsSettings

        transport = await NatsTransport.connect(
            NatsSettings.from_url(url), jetstream=list(cls.SUBJECTS)
        )
        # The session's server is shared: start every test from empty streams.
        for name in [*(stream_name(s) for s in cls.SUBJECTS), DEAD_LETTER_STREAM]:
            with contextlib.suppress(NotFoundError):
                await transport.js.delete_stream(name)
        return cls(transport)

    async def kill(self, source: Source) -> None:
        # A dead process stops pulling and never acks: cancel its pull loops only.
        for task in source._tasks:  # type: ignore[attr-defined]
            task.cancel()
        for pull in source._pulls:  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await pull.unsubscribe()

    async def append_raw(self, stream: str, fields: Mapping[str, str | bytes]) -> None:
        from runtime.nats import stream_name

        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in fields.items()}
        data = headers.pop("data", "").encode()
        await self.transport.streams.ensure(self.transport.jetstream[stream])
        await self.transport.js.publish(
            stream, data, stream=stream_name(stream), headers=headers or None
        )

    async def dead_letters(self, stream: str) -> list[dict[str, bytes]]:
        from nats.js.errors import NotFoundError

        from runtime.nats import DEAD_LETTER_STREAM, dead_letter_subject

        js = self.transport.js
        try:
            info = await js.stream_info(DEAD_LETTER_STREAM)
        except NotFoundError:
            return []
        out: list[dict[str, bytes]] = []
        subject = dead_letter_subject(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            with contextlib.suppress(NotFoundError):
                msg = await js.get_msg(DEAD_LETTER_STREAM, seq)
                if msg.subject != subject:
                    continue
                row = {k: v.encode() for k, v in (msg.headers or {}).items()}
                row["data"] = msg.data or b""
                out.append(row)
        return out

"""Consuming a Redis Streams consumer group: the `Source` the consumer engine pulls from.

Per fetch, in this order:
1. after start, this consumer's own pending history (XREADGROUP ... 0), so a restarted
   process with a stable consumer name resumes what it held before it died;
2. every `reclaim_interval_ms`, XAUTOCLAIM of entries idle past the visibility timeout
   (dead consumers' work), skipping what this process holds right now;
3. new entries: XREADGROUP ... > with COUNT and BLOCK.
Delivery counts of history and reclaimed entries come from one XPENDING per stream.

Settling a batch is one round trip: a Lua script that, per completed entry, sets the
idempotency marker (SET NX EX), runs the handler's staged effects only if the marker was
new, and XACKs; plus XADD to the dead-letter stream and XACK for dead letters.

NOGROUP (the stream or group vanished: FLUSHALL, a restart without persistence) makes the
source recreate its groups and carry on instead of crash-looping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from runtime import constants as C
from runtime.deadletter import dead_letter_fields
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.errors import BrokerUnavailable
from runtime.redis_streams import RETRYABLE, is_loading
from runtime.settings import ConsumerSettings
from runtime.transport import DeadLetter, Inbound

log = logging.getLogger("schemabus.redis")

# One call per stream. ARGV: ttl, stream, group, key prefix, n, then n entry ids, then n
# event ids ('' = no idempotency key), then per entry with effects: its index (1-based),
# its number of effects, and per effect: argc, args...
# Entries whose marker already existed (completed before, by anyone) skip their effects.
SETTLE_LUA = """
local ttl, stream, group, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = tonumber(ARGV[5])
local fresh = {}
for k = 1, n do
  local event_id = ARGV[5 + n + k]
  if event_id == '' then
    fresh[k] = true
  else
    fresh[k] = redis.call('SET', prefix .. event_id, '1', 'NX', 'EX', ttl)
  end
end
local i = 6 + 2 * n
local total = #ARGV
while i <= total do
  local k, effects = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, effects do
    local argc = tonumber(ARGV[i])
    if fresh[k] then
      redis.call(unpack(ARGV, i + 1, i + argc))
    end
    i = i + 1 + argc
  end
end
for first = 1, n, 1000 do
  redis.call('XACK', stream, group, unpack(ARGV, 5 + first, 5 + math.min(first + 999, n)))
end
return n
"""

#: Dead-letter streams are trimmed approximately to this many entries.
DEAD_LETTER_MAXLEN = 100_000


def _is_nogroup(exc: BaseException) -> bool:
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


@asynccontextmanager
async def _transient() -> AsyncIterator[None]:
    """Turn redis-py's connection-level failures into `BrokerUnavailable`, which the
    engine retries, so a Redis restart never kills a consumer."""
    try:
        yield
    except BrokerUnavailable:
        raise
    except Exception as exc:
        if isinstance(exc, RETRYABLE) or is_loading(exc):
            raise BrokerUnavailable(f"Redis unavailable: {exc}") from exc
        raise


class RedisSource:
    def __init__(
        self,
        client: aioredis.Redis,
        group: str,
        consumer: str,
        streams: tuple[str, ...],
        settings: ConsumerSettings,
    ) -> None:
        # redis-py's response types are unions over RESP2/RESP3 and sync/async that no
        # caller can narrow usefully; replies are decoded explicitly below instead.
        self._r: Any = client
        self._group = group
        self._consumer = consumer
        self._streams = streams
        self._settings = settings
        self._history: dict[str, str] = {s: "0" for s in streams}  # cursor per stream
        self._reclaim_cursor: dict[str, str] = {s: "0-0" for s in streams}
        self._last_reclaim = 0.0
        self._held: set[tuple[str, str]] = set()  # fetched and not yet settled
        self._new = dict.fromkeys(streams, ">")
        self._sha: str | None = None

    # --- groups -----------------------------------------------------------------------

    async def open(self) -> None:
        async with _transient():
            await self._open()

    async def _open(self) -> None:
        for stream in self._streams:
            try:
                await self._r.xgroup_create(stream, self._group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._sha = await self._r.script_load(SETTLE_LUA)

    async def _recreate(self, exc: BaseException) -> None:
        log.warning("%s: %s; recreating consumer groups", self._group, exc)
        self._held.clear()
        self._history = {s: "0" for s in self._streams}
        await self._open()

    # --- fetching ---------------------------------------------------------------------

    def _inbound(self, stream: str, entry_id: bytes, fields: Any, attempts: int) -> Inbound:
        mid = entry_id.decode()
        self._held.add((stream, mid))
        if not fields:
            # Still pending but gone from the stream: trimmed by retention (or XDEL) before
            # it was handled. Dead-lettered so that the loss is visible, not silent.
            return Inbound(
                stream,
                mid,
                attempts,
                None,
                "entry was trimmed or deleted before it was handled",
                {},
            )
        try:
            return Inbound(stream, mid, attempts, Envelope.from_fields(fields), None, fields)
        except MalformedEnvelope as exc:
            return Inbound(stream, mid, attempts, None, str(exc), fields)

    async def _delivery_counts(self, stream: str, ids: Sequence[bytes]) -> dict[bytes, int]:
        if not ids:
            return {}
        rows = await self._r.xpending_range(
            stream,
            self._group,
            min=ids[0],
            max=ids[-1],
            count=len(ids) + 10_000,
            consumername=self._consumer,
        )
        return {row["message_id"]: int(row["times_delivered"]) for row in rows}

    async def fetch(self, max_count: int, block_ms: int) -> list[Inbound]:
        try:
            async with _transient():
                return await self._fetch(max_count, block_ms)
        except ResponseError as exc:
            if _is_nogroup(exc):
                await self._recreate(exc)
                return []
            raise

    async def _fetch(self, max_count: int, block_ms: int) -> list[Inbound]:
        out: list[Inbound] = []
        if self._history:
            reply = await self._r.xreadgroup(
                self._group, self._consumer, dict(self._history), count=max_count
            )
            for stream_b, entries in reply or []:
                stream = stream_b.decode()
                if not entries:
                    self._history.pop(stream, None)
                    continue
                self._history[stream] = entries[-1][0].decode()
                counts = await self._delivery_counts(stream, [e[0] for e in entries])
                for entry_id, fields in entries:
                    out.append(self._inbound(stream, entry_id, fields, counts.get(entry_id, 2)))
            if not reply:
                self._history.clear()
            if out:
                return out
        clock = time.monotonic()
        if clock - self._last_reclaim >= self._settings.reclaim_interval_ms / 1000:
            self._last_reclaim = clock
            out = await self._reclaim(max_count)
            if out:
                return out
        reply = await self._r.xreadgroup(
            self._group, self._consumer, self._new, count=max_count, block=block_ms or None
        )
        if not reply:
            return out
        inbound = self._inbound
        for stream_b, entries in reply:
            stream = stream_b.decode()
            for entry_id, fields in entries:
                out.append(inbound(stream, entry_id, fields, 1))
        return out

    async def _reclaim(self, max_count: int) -> list[Inbound]:
        out: list[Inbound] = []
        for stream in self._streams:
            result = await self._r.xautoclaim(
                stream,
                self._group,
                self._consumer,
                self._settings.visibility_timeout_ms,
                start_id=self._reclaim_cursor[stream],
                count=max_count,
            )
            cursor, entries = result[0], result[1]
            self._reclaim_cursor[stream] = cursor.decode() if isinstance(cursor, bytes) else cursor
            entries = [e for e in entries if (stream, e[0].decode()) not in self._held]
            if not entries:
                continue
            counts = await self._delivery_counts(stream, [e[0] for e in entries])
            for entry_id, fields in entries:
                out.append(self._inbound(stream, entry_id, fields, counts.get(entry_id, 2)))
            log.info("%s: reclaimed %d idle entries from %s", self._group, len(entries), stream)
        return out

    # --- settling ---------------------------------------------------------------------

    async def completed(self, batch: Sequence[Inbound]) -> list[bool]:
        async with _transient():
            values = await self._r.mget(self._keys(batch))
        return [v is not None for v in values]

    async def settle(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> None:
        await self.settle_and_check(done, dead, ())

    async def settle_and_check(
        self, done: Sequence[Inbound], dead: Sequence[DeadLetter], check: Sequence[Inbound]
    ) -> list[bool]:
        """`settle(done, dead)` and then `completed(check)`, in one round trip."""
        flags: list[bool] = []
        async with _transient():
            try:
                flags = await self._settle(done, dead, check)
            except NoScriptError:
                self._sha = await self._r.script_load(SETTLE_LUA)  # Redis restarted
                flags = await self._settle(done, dead, check)
            except ResponseError as exc:
                if not _is_nogroup(exc):
                    raise
                # The group vanished with its pending list: nothing is left to acknowledge.
                await self._recreate(exc)
                flags = [False] * len(check)
        self._release(done, dead)
        return flags

    def _release(self, done: Sequence[Inbound], dead: Sequence[DeadLetter]) -> None:
        held = self._held
        for i in done:
            held.discard((i.destination, i.message_id))
        for d in dead:
            held.discard((d.inbound.destination, d.inbound.message_id))

    async def _settle(
        self, done: Sequence[Inbound], dead: Sequence[DeadLetter], check: Sequence[Inbound]
    ) -> list[bool]:
        group = self._group
        pipe = self._r.pipeline(transaction=False)
        if done:
            if self._sha is None:
                self._sha = await self._r.script_load(SETTLE_LUA)
            by_stream: dict[str, list[Inbound]] = {}
            for i in done:
                entries = by_stream.get(i.destination)
                if entries is None:
                    by_stream[i.destination] = [i]
                else:
                    entries.append(i)
            prefix = f"{C.IDEMPOTENCY_PREFIX}{group}:"
            ttl = self._settings.idempotency_ttl_s
            for stream, entries in by_stream.items():
                args: list[Any] = [ttl, stream, group, prefix, len(entries)]
                args += [i.message_id for i in entries]
                args += [i.envelope.id if i.envelope is not None else "" for i in entries]
                for k, i in enumerate(entries, 1):
                    if i.effects:
                        args += (k, len(i.effects))
                        for cmd in i.effects:
                            args.append(len(cmd))
                            args.extend(cmd)
                pipe.evalsha(self._sha, 0, *args)
        for d in dead:
            i = d.inbound
            fields: dict[Any, Any] = dict(i.raw or {})
            fields.update(dead_letter_fields(d, group))
            pipe.xadd(C.dead_letter_stream(i.destination), fields, maxlen=DEAD_LETTER_MAXLEN)
            pipe.xack(i.destination, group, i.message_id)
        if check:
            pipe.mget(self._keys(check))
        if not done and not dead and not check:
            return []
        replies = await pipe.execute()
        return [v is not None for v in replies[-1]] if check else []

    def _keys(self, batch: Sequence[Inbound]) -> list[str]:
        prefix = f"{C.IDEMPOTENCY_PREFIX}{self._group}:"
        # An entry without an envelope gets a key that never exists.
        return [prefix + i.envelope.id if i.envelope else C.KEY_PREFIX + "-" for i in batch]

    async def redeliver(self, inbound: Inbound) -> None:
        # XCLAIM to ourselves with min-idle 0 bumps the delivery counter in Redis, so the
        # attempt survives a crash; it also resets the idle time, so nobody reclaims it
        # while its backoff runs.
        async with _transient():
            await self._r.xclaim(
                inbound.destination, self._group, self._consumer, 0, [inbound.message_id]
            )
        inbound.attempts += 1

    async def close(self) -> None:
        return None

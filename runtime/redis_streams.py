"""Redis Streams transport: the durable log.

Publishing pipelines every XADD of a batch into one round trip, trimming each stream
approximately (MAXLEN ~ or MINID ~) as the catalog's retention says. A publish that hits
a dropped connection (a Redis restart) is retried with backoff until `publish_timeout_s`;
a retried batch may append an entry twice, which consumers absorb through idempotency
(the event id, not the entry id, is what they remember).

Consumption is in `runtime.redis_source`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from runtime.constants import MAX_PAYLOAD_BYTES
from runtime.envelope import Envelope, entry_size_over
from runtime.errors import EventTooLarge, NotSupportedError, TransportError
from runtime.redis_conn import make_client, open_checked
from runtime.redis_errors import RETRYABLE, is_loading
from runtime.settings import ConsumerSettings, RedisSettings
from runtime.transport import Capability, Closer, Deployments, Outbound, ReplyHandler, Source

log = logging.getLogger("schemabus.redis")


def _xadd_args(out: Outbound, now_ms: int, max_bytes: int) -> list[Any]:
    """XADD with the catalog's approximate trimming: MAXLEN ~ n, else MINID ~ (now - age).
    Raises `EventTooLarge` when the entry would be over `max_bytes`."""
    args: list[Any] = ["XADD", out.destination]
    r = out.retention
    if r is not None:
        if r.maxlen is not None:
            args += ("MAXLEN", "~", r.maxlen)
        elif r.max_age_ms is not None:
            now_ms = now_ms or int(time.time() * 1000)
            args += ("MINID", "~", f"{now_ms - r.max_age_ms}-0")
    args.append("*")
    fields = out.envelope.to_fields()
    size = entry_size_over(fields, max_bytes)
    if size is not None:
        env = out.envelope
        raise EventTooLarge(env.type, env.dataversion, env.id, size, max_bytes)
    for key, value in fields.items():
        args += (key, value)
    return args


class RedisTransport:
    name = "redis"
    capabilities: frozenset[Capability] = frozenset({"durable", "effects"})

    def __init__(
        self,
        client: aioredis.Redis,
        settings: RedisSettings | None = None,
        *,
        publish_timeout_s: float = 30.0,
    ) -> None:
        self.client = client
        self.settings = settings
        self.publish_timeout_s = publish_timeout_s
        self.max_payload_bytes = settings.max_payload_bytes if settings else MAX_PAYLOAD_BYTES

    @classmethod
    async def connect(cls, settings: RedisSettings, **options: Any) -> RedisTransport:
        """Connect and PING within `settings.startup_timeout_s`, or raise `TransportError`
        with one line saying what failed (no answer, refused, password, TLS)."""
        return cls(await open_checked(settings), settings, **options)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisTransport:
        """Without a connectivity check (tests, scripts)."""
        settings = RedisSettings.from_url(url)
        return cls(make_client(settings.client_kwargs()), settings, **options)

    async def publish(self, batch: Sequence[Outbound]) -> None:
        if not batch:
            return
        deadline = time.monotonic() + self.publish_timeout_s
        delay = 0.05
        while True:
            try:
                await self._publish_once(batch)
                return
            except Exception as exc:
                if not (isinstance(exc, RETRYABLE) or is_loading(exc)):
                    raise
                if time.monotonic() + delay > deadline:
                    raise TransportError(
                        f"publishing {len(batch)} events failed for "
                        f"{self.publish_timeout_s:g}s: {exc}"
                    ) from exc
                log.warning("publish failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _publish_once(self, batch: Sequence[Outbound]) -> None:
        if len(batch) == 1:
            # One event: a plain command; a pipeline object costs more than it saves.
            client: Any = self.client
            await client.execute_command(*_xadd_args(batch[0], 0, self.max_payload_bytes))
            return
        # Any: redis-py's Pipeline.execute_command is untyped.
        pipe: Any = self.client.pipeline(transaction=False)
        now_ms = 0
        limit = self.max_payload_bytes
        for out in batch:
            if out.retention is not None and out.retention.maxlen is None:
                now_ms = now_ms or int(time.time() * 1000)
            pipe.execute_command(*_xadd_args(out, now_ms, limit))
        await pipe.execute()  # only once every entry of the batch passed the size check

    def source(
        self,
        group: str,
        consumer: str,
        destinations: Sequence[str],
        settings: ConsumerSettings,
    ) -> Source:
        from runtime.redis_source import RedisSource

        # Partitions are leased: each is read by exactly one member of the group.
        return RedisSource(self.client, group, consumer, tuple(destinations), settings)

    async def request(self, subject: str, envelope: Envelope, timeout_s: float) -> Envelope:
        raise NotSupportedError("request/reply runs over NATS, not Redis: set SCHEMABUS_NATS_URL")

    async def serve(self, subject: str, group: str, handler: ReplyHandler) -> Closer:
        raise NotSupportedError("request/reply runs over NATS, not Redis: set SCHEMABUS_NATS_URL")

    def deployments(self) -> Deployments:
        from runtime.redis_deployed import RedisDeployments

        return RedisDeployments(self.client)

    async def close(self) -> None:
        await self.client.aclose()

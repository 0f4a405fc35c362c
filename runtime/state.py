"""A small key-value state store for service code: Redis-backed in production, in-memory
in handler tests. Services keep their own state here without touching a client directly.

Every operation is one idempotent-friendly Redis command (HSET, SADD, HINCRBY...), so a
handler that re-runs after a crash can be written to converge (set membership, status
fields) rather than to double count.

A command that meets a lost connection or a failover in progress (a Redis Cluster master
or a Sentinel primary being replaced) is retried with backoff for up to `retry_s`
(default 30 s, as publishing does), so a handler rides out a failover instead of burning
its delivery attempts on it. A command whose reply was lost may have run: HSET, SADD and
friends converge when repeated, HINCRBY would count twice (guard it with SADD, as the
example inventory service does, or stage it with `ctx.stage`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from runtime.backoff import Backoff
from runtime.errors import ConfigError
from runtime.redis_conn import RedisClient, make_client
from runtime.redis_errors import is_transient
from runtime.settings import RedisSettings, Settings

log = logging.getLogger("schemabus.state")
T = TypeVar("T")


class StateStore(Protocol):
    async def hset(self, key: str, mapping: Mapping[str, str]) -> None: ...

    async def hsetnx(self, key: str, field: str, value: str) -> bool: ...

    async def hget(self, key: str, field: str) -> str | None: ...

    async def hgetall(self, key: str) -> dict[str, str]: ...

    async def hincrby(self, key: str, field: str, amount: int) -> int: ...

    async def sadd(self, key: str, member: str) -> bool: ...

    async def scard(self, key: str) -> int: ...

    async def close(self) -> None: ...


class MemoryState:
    """In-process state with the same semantics as RedisState (for handler tests)."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, str]] = {}
        self.sets: dict[str, set[str]] = {}

    async def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        self.hashes.setdefault(key, {}).update(mapping)

    async def hsetnx(self, key: str, field: str, value: str) -> bool:
        h = self.hashes.setdefault(key, {})
        if field in h:
            return False
        h[field] = value
        return True

    async def hget(self, key: str, field: str) -> str | None:
        return self.hashes.get(key, {}).get(field)

    async def hgetall(self, key: str) -> dict[str, str]:
        return dict(self.hashes.get(key, {}))

    async def hincrby(self, key: str, field: str, amount: int) -> int:
        h = self.hashes.setdefault(key, {})
        h[field] = str(int(h.get(field, "0")) + amount)
        return int(h[field])

    async def sadd(self, key: str, member: str) -> bool:
        s = self.sets.setdefault(key, set())
        added = member not in s
        s.add(member)
        return added

    async def scard(self, key: str) -> int:
        return len(self.sets.get(key, set()))

    async def close(self) -> None:
        return None


class RedisState:
    """State in Redis. The connection is opened lazily, on first use."""

    def __init__(self, client: RedisClient, *, retry_s: float = 30.0) -> None:
        self._r = client
        self.retry_s = retry_s

    async def _call(self, command: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        deadline = time.monotonic() + self.retry_s
        backoff = Backoff(max_s=1.0)
        while True:
            try:
                return await command(*args, **kw)
            except Exception as exc:
                delay = backoff.next()
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("state store: %s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    @classmethod
    def from_url(cls, url: str) -> RedisState:
        return cls.from_settings(RedisSettings.from_url(url))

    @classmethod
    def from_settings(cls, settings: RedisSettings) -> RedisState:
        """With the same address, credentials, TLS and timeouts as the transport (any URL
        kind: one server, a Redis Cluster, a primary found through Sentinel)."""
        return cls(make_client(settings, decode_responses=True))

    @classmethod
    def from_env(cls, owner: str = "this service") -> RedisState:
        """From `SCHEMABUS_REDIS_URL` and the other Redis settings (`schemabus run
        --redis-url` sets it too); `owner` names who needs it in the error when Redis is
        switched off (`none`)."""
        redis = Settings.from_env().redis
        if redis is None:
            raise ConfigError(
                f"{owner} keeps its state in Redis, but SCHEMABUS_REDIS_URL is 'none': set it "
                "(or --redis-url) to a redis://, redis+cluster:// or redis+sentinel:// URL"
            )
        return cls.from_settings(redis)

    async def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        # redis-py's Mapping type is invariant in its key type; a plain dict[str, str] is fine.
        await self._call(self._r.hset, key, mapping=dict(mapping))

    async def hsetnx(self, key: str, field: str, value: str) -> bool:
        return bool(await self._call(self._r.hsetnx, key, field, value))

    async def hget(self, key: str, field: str) -> str | None:
        value = await self._call(self._r.hget, key, field)
        return None if value is None else str(value)

    async def hgetall(self, key: str) -> dict[str, str]:
        raw: dict[Any, Any] = await self._call(self._r.hgetall, key)
        return {str(k): str(v) for k, v in raw.items()}

    async def hincrby(self, key: str, field: str, amount: int) -> int:
        return int(await self._call(self._r.hincrby, key, field, amount))

    async def sadd(self, key: str, member: str) -> bool:
        return bool(await self._call(self._r.sadd, key, member))

    async def scard(self, key: str) -> int:
        return int(await self._call(self._r.scard, key))

    async def close(self) -> None:
        await self._r.aclose()

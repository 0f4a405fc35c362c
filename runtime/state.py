"""A small key-value state store for service code: Redis-backed in production, in-memory
in handler tests. Services keep their own state here without touching a client directly.

Every operation is one idempotent-friendly Redis command (HSET, SADD, HINCRBY...), so a
handler that re-runs after a crash can be written to converge (set membership, status
fields) rather than to double count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from runtime.errors import ConfigError
from runtime.redis_conn import RedisClient, make_client
from runtime.settings import RedisSettings, Settings


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

    def __init__(self, client: RedisClient) -> None:
        self._r = client

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
        await self._r.hset(key, mapping=dict(mapping))  # type: ignore[arg-type]

    async def hsetnx(self, key: str, field: str, value: str) -> bool:
        return bool(await self._r.hsetnx(key, field, value))

    async def hget(self, key: str, field: str) -> str | None:
        value = await self._r.hget(key, field)
        return None if value is None else str(value)

    async def hgetall(self, key: str) -> dict[str, str]:
        raw = await self._r.hgetall(key)
        return {str(k): str(v) for k, v in raw.items()}

    async def hincrby(self, key: str, field: str, amount: int) -> int:
        return int(await self._r.hincrby(key, field, amount))

    async def sadd(self, key: str, member: str) -> bool:
        return bool(await self._r.sadd(key, member))

    async def scard(self, key: str) -> int:
        return int(await self._r.scard(key))

    async def close(self) -> None:
        await self._r.aclose()

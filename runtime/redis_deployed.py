"""The deployed registry in Redis (`runtime.transport.Deployments`).

A sorted set of live replicas scored by expiry in the broker's clock, and one hash per
replica holding its advertisement (`runtime.deployed`), the broker time of its first
heartbeat (`since`) and of its last one (`seen`). The hash outlives a missed heartbeat
(PEXPIRE 2 x TTL) but a replica counts as deployed only while its score is in the future.
"""

from __future__ import annotations

from typing import Any

import orjson

from runtime import constants as C
from runtime.deployed import is_advertisement
from runtime.redis_errors import transient
from runtime.redis_scripts import SCRIPTS


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisDeployments:
    def __init__(self, client: Any) -> None:
        self._r = client

    async def advertise(self, member: str, ttl_ms: int, boot: str, document: str) -> None:
        keys = [C.DEPLOYED_KEY, C.deployed_key(member)]
        async with transient():
            await SCRIPTS["advertise"](self._r, keys, [member, ttl_ms, boot, document])

    async def withdraw(self, member: str, boot: str) -> None:
        keys = [C.DEPLOYED_KEY, C.deployed_key(member)]
        async with transient():
            await SCRIPTS["withdraw"](self._r, keys, [member, boot])

    async def live(self) -> tuple[int, list[dict[str, Any]]]:
        return await live_replicas(self._r)


async def live_replicas(client: Any) -> tuple[int, list[dict[str, Any]]]:
    """(broker time in ms, the advertisement of every replica whose heartbeat has not
    expired, with `since_ms` and `expires_in_s` added)."""
    secs, micros = await client.time()
    now_ms = int(secs) * 1000 + int(micros) // 1000
    rows = await client.zrangebyscore(C.DEPLOYED_KEY, now_ms, "+inf", withscores=True)
    out: list[dict[str, Any]] = []
    for member, score in rows:
        fields = await client.hmget(C.deployed_key(_s(member)), "ad", "since")
        if fields[0] is None:
            continue  # expired between the two reads
        try:
            doc = orjson.loads(fields[0])
        except orjson.JSONDecodeError:
            continue  # not written by schemabus; nothing to say about it
        if not is_advertisement(doc):
            continue
        doc["since_ms"] = int(fields[1] or now_ms)
        doc["expires_in_s"] = round(max(0.0, (float(score) - now_ms) / 1000), 3)
        out.append(doc)
    return now_ms, out

"""Operating the durable log: stream and group status (dead letters: `runtime.dlq`).

Used by `schemabus status` and the metrics sampler; plain async functions over a redis
client so that tests and scripts can call them too. Works on Redis 6.2, where XINFO has no
lag fields: lag is then counted with a bounded XRANGE after the group's last-delivered id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from runtime import constants as C

#: Lag above this is shown as ">N" on servers that do not report it (counting is O(lag)).
LAG_SCAN_LIMIT = 10_000

# Counted on the server: the entries themselves (possibly large) never cross the network.
COUNT_AFTER_LUA = "return #redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])"


@dataclass(slots=True)
class GroupStatus:
    name: str
    consumers: int
    pending: int
    lag: int | None  # None: unknown
    lag_capped: bool
    last_delivered: str
    oldest_pending_age_s: float | None


@dataclass(slots=True)
class StreamStatus:
    name: str
    length: int
    dead_letters: int
    groups: list[GroupStatus] = field(default_factory=list)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


async def streams(client: Any) -> tuple[list[str], list[str]]:
    """(event streams, dead-letter streams), sorted."""
    names: set[str] = set()
    async for key in client.scan_iter(count=1000, _type="stream"):
        names.add(_s(key))
    dlq = sorted(n for n in names if n.startswith(C.DEAD_LETTER_PREFIX))
    return sorted(names - set(dlq)), dlq


async def status(client: Any) -> list[StreamStatus]:
    event_streams, dlq_streams = await streams(client)
    out: list[StreamStatus] = []
    now_ms = int(time.time() * 1000)
    sources = {C.source_of_dead_letter_stream(d) for d in dlq_streams}
    for name in sorted(set(event_streams) | sources):
        length = await client.xlen(name)
        dead = await client.xlen(C.dead_letter_stream(name))
        st = StreamStatus(name, int(length), int(dead))
        groups = await client.xinfo_groups(name) if length or name in event_streams else []
        for g in groups:
            gname = _s(g["name"])
            last = _s(g["last-delivered-id"])
            lag, capped = g.get("lag"), False
            if lag is None:
                # Redis < 7: count what lies after the last delivered id, up to a limit.
                after = int(
                    await client.eval(COUNT_AFTER_LUA, 1, name, f"({last}", LAG_SCAN_LIMIT + 1)
                )
                lag, capped = min(after, LAG_SCAN_LIMIT), after > LAG_SCAN_LIMIT
            oldest: float | None = None
            if int(g["pending"]):
                summary = await client.xpending(name, gname)
                low = summary.get("min")
                if low:
                    oldest = max(0.0, (now_ms - _id_ms(_s(low))) / 1000)
            st.groups.append(
                GroupStatus(
                    gname,
                    int(g["consumers"]),
                    int(g["pending"]),
                    None if lag is None else int(lag),
                    capped,
                    last,
                    oldest,
                )
            )
        out.append(st)
    return out

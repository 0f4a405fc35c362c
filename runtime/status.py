"""What `schemabus status` shows: streams by partition, who owns each, lag, pending, members.

Plain async functions over a redis client, so tests, metrics and scripts use them too.
A stream with `partitions: N` is N Redis streams (`orders:{0}` ...); they are listed under
their stream, each with, per consumer group, the member holding its lease (and the fencing
epoch), lag, pending and the age of the oldest pending entry. Groups list their live
members (heartbeats not yet expired) with what each advertises (host, pid, service).

Works on Redis 6.2, where XINFO has no lag fields: lag is then counted with a bounded
XRANGE after the group's last-delivered id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime import constants as C
from runtime.partitioning import split_partition

#: Lag above this is shown as ">N" on servers that do not report it (counting is O(lag)).
LAG_SCAN_LIMIT = 10_000

# Counted on the server: the entries themselves (possibly large) never cross the network.
COUNT_AFTER_LUA = "return #redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])"


@dataclass(slots=True)
class GroupStatus:
    """One consumer group on one partition."""

    name: str
    consumers: int
    pending: int
    lag: int | None  # None: unknown
    lag_capped: bool
    last_delivered: str
    oldest_pending_age_s: float | None
    owner: str | None = None  # the member holding the partition's lease, if any
    epoch: int | None = None  # its fencing token
    lease_expires_in_s: float | None = None


@dataclass(slots=True)
class PartitionStatus:
    key: str  # the Redis stream (`orders:{2}`, or `orders` when unpartitioned)
    partition: int | None
    length: int
    dead_letters: int
    groups: list[GroupStatus] = field(default_factory=list)


@dataclass(slots=True)
class StreamStatus:
    name: str
    partitions: list[PartitionStatus] = field(default_factory=list)

    @property
    def length(self) -> int:
        return sum(p.length for p in self.partitions)

    @property
    def dead_letters(self) -> int:
        return sum(p.dead_letters for p in self.partitions)


@dataclass(slots=True)
class MemberStatus:
    name: str
    expires_in_s: float
    info: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Status:
    streams: list[StreamStatus]
    members: dict[str, list[MemberStatus]]  # group -> live members


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


async def stream_keys(client: Any) -> tuple[list[str], list[str]]:
    """(event stream keys, dead-letter stream keys), sorted."""
    names: set[str] = set()
    async for key in client.scan_iter(count=1000, _type="stream"):
        names.add(_s(key))
    dlq = sorted(n for n in names if n.startswith(C.DEAD_LETTER_PREFIX))
    return sorted(names - set(dlq)), dlq


async def server_ms(client: Any) -> int:
    """The broker's clock (leases and heartbeats are in its time, not this host's)."""
    secs, micros = await client.time()
    return int(secs) * 1000 + int(micros) // 1000


async def status(client: Any) -> Status:
    event_keys, dlq_keys = await stream_keys(client)
    keys = sorted(set(event_keys) | {C.source_of_dead_letter_stream(d) for d in dlq_keys})
    now_ms = await server_ms(client)
    by_stream: dict[str, StreamStatus] = {}
    groups_seen: set[str] = set()
    for key in keys:
        stream, partition = split_partition(key)
        length = int(await client.xlen(key))
        dead = int(await client.xlen(C.dead_letter_stream(key)))
        part = PartitionStatus(key, partition, length, dead)
        if key in event_keys:
            for g in await client.xinfo_groups(key):
                part.groups.append(await _group(client, key, g, now_ms))
                groups_seen.add(part.groups[-1].name)
        by_stream.setdefault(stream, StreamStatus(stream)).partitions.append(part)
    for st in by_stream.values():
        st.partitions.sort(key=lambda p: -1 if p.partition is None else p.partition)
    members = {g: await live_members(client, g) for g in sorted(groups_seen)}
    return Status([by_stream[k] for k in sorted(by_stream)], members)


async def _group(client: Any, key: str, g: dict[Any, Any], now_ms: int) -> GroupStatus:
    name = _s(g["name"])
    last = _s(g["last-delivered-id"])
    lag, capped = g.get("lag"), False
    if lag is None:
        # Redis < 7: count what lies after the last delivered id, up to a limit.
        after = int(await client.eval(COUNT_AFTER_LUA, 1, key, f"({last}", LAG_SCAN_LIMIT + 1))
        lag, capped = min(after, LAG_SCAN_LIMIT), after > LAG_SCAN_LIMIT
    oldest: float | None = None
    if int(g["pending"]):
        summary = await client.xpending(key, name)
        low = summary.get("min")
        if low:
            # Entry ids are the broker's clock at XADD.
            oldest = max(0.0, (now_ms - _id_ms(_s(low))) / 1000)
    status = GroupStatus(
        name,
        int(g["consumers"]),
        int(g["pending"]),
        None if lag is None else int(lag),
        capped,
        last,
        oldest,
    )
    lease = await client.hgetall(C.lease_key(key, name))
    if lease:
        owner = _s(lease.get(b"owner", b""))
        expires = int(lease.get(b"expires", b"0") or 0)
        status.epoch = int(lease.get(b"epoch", b"0") or 0)
        if owner and expires > now_ms:
            status.owner = owner
            status.lease_expires_in_s = (expires - now_ms) / 1000
    return status


async def live_members(client: Any, group: str) -> list[MemberStatus]:
    """Members of `group` whose heartbeat has not expired, with what they advertise."""
    now_ms = await server_ms(client)
    rows = await client.zrangebyscore(C.members_key(group), now_ms, "+inf", withscores=True)
    out: list[MemberStatus] = []
    for member, score in rows:
        name = _s(member)
        info = await client.hgetall(C.member_key(group, name))
        details = {_s(k): _s(v) for k, v in info.items() if _s(k) != "seen"}
        out.append(MemberStatus(name, max(0.0, (float(score) - now_ms) / 1000), details))
    return out

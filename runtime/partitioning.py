"""Which partition an event belongs to, and the Redis keys of a partition.

A durable stream with `partitions: N` is N Redis streams. An event goes to partition
`crc32(utf-8 aggregate id) mod N` (zlib's CRC-32, the one in PNG and gzip): the same in
every process, every release and every language, so producers written in anything can
route the same way. An event without an aggregate id is routed by its event id (it has
no ordering to keep, and its duplicates, which share the id, land together).

Keys: partition p of stream `orders` is `orders:{p}` when N > 1, plain `orders` when
N = 1. The braces are a Redis Cluster hash tag: the cluster places a key by the part
between the first `{` and `}`, so every key the framework derives from a partition (its
dead-letter stream, idempotency marks and lease) embeds the same tag and lands in the
same slot, which is what lets one Lua call touch all of them. Stream names in the catalog
cannot contain braces, so the tag is unambiguous.
"""

from __future__ import annotations

import zlib


def partition_of(key: str, partitions: int) -> int:
    """The partition of an aggregate id (or event id) in a stream of `partitions`."""
    if partitions <= 1:
        return 0
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % partitions


def partition_key(stream: str, partition: int, partitions: int) -> str:
    """The Redis key of one partition: `stream` when unpartitioned, else `stream:{p}`."""
    if partitions <= 1:
        return stream
    return f"{stream}:{{{partition}}}"


def partition_keys(stream: str, partitions: int) -> list[str]:
    """Every partition key of a stream, in partition order."""
    return [partition_key(stream, p, partitions) for p in range(max(partitions, 1))]


def hash_tag(key: str) -> str:
    """`key` itself if it carries a hash tag, else `{key}`: the tagged form that makes a
    derived key land in the same Redis Cluster slot as `key`."""
    start = key.find("{")
    if start != -1:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key
    return "{" + key + "}"


def split_partition(key: str) -> tuple[str, int | None]:
    """(`stream`, p) for `stream:{p}`; (`key`, None) for an unpartitioned stream."""
    if key.endswith("}"):
        head, sep, tail = key.rpartition(":{")
        if sep and tail[:-1].isdigit():
            return head, int(tail[:-1])
    return key, None


def slot_tag(partition: str) -> str:
    """The hash tag, braces included, that places keys in `partition`'s Redis Cluster
    slot: `{2}` for `orders:{2}`, `{orders}` for the unpartitioned `orders`."""
    start = partition.find("{")
    if start != -1:
        end = partition.find("}", start + 1)
        if end > start + 1:
            return partition[start : end + 1]
    return "{" + partition + "}"


def colocated_key(partition: str, name: str) -> str:
    """A key for a handler's own state that lives in `partition`'s slot, so a staged
    effect on it (`ctx.stage("HINCRBY", colocated_key(partition, "ledger"), ...)`) can
    commit in the partition's settle script on a Redis Cluster: `ledger:{2}`.

    Keys of one aggregate always go through the same partition, so state per aggregate
    stays consistent; state shared by several partitions is split into one key per
    partition (sum them to read it). `name` must not contain braces: Redis hashes only
    the first `{...}` of a key, which must be the partition's.
    """
    if "{" in name or "}" in name:
        raise ValueError(
            f"key name {name!r} contains a brace; Redis Cluster would place it by that, not "
            "by the partition: drop the braces"
        )
    return f"{name}:{slot_tag(partition)}"

"""Pipelined commands on any Redis client, optionally waiting for replicas (`WAIT`).

`pipeline(client, commands, wait)` sends `(key, command)` pairs in one round trip per
server and returns one result per command, errors in place (never raised):

* one server or a Sentinel-managed primary: one pipeline on one connection (with `wait`,
  written directly on a pooled connection, see `_one_connection`);
* a Redis Cluster: redis-py's cluster pipeline, which splits the commands per node (one
  round trip to each, concurrently) and follows MOVED/ASK redirects itself.

With `wait` (catalog `durability: replicated`) every connection that carried writes also
carries `WAIT <replicas> <timeout>` right after them. WAIT counts the replicas that
acknowledged everything written *on that connection*, so it must travel on the same one:
on a cluster the commands of each node are therefore sent by this module on one
connection of that node (`ClusterNode.execute_pipeline`), not by redis-py's pipeline,
which could retry a command elsewhere. A command whose WAIT came back short has its reply
wrapped in `Unconfirmed`: it *was* applied on the primary, but a failover now could lose
it. What to do then is the caller's choice (`runtime.redis_streams` appends the events
again; `runtime.redis_source` keeps its acks, whose loss costs a redelivery only). A
redirect (a slot that moved) or a dead node is returned in place too; the slot map is
then read again before the caller's retry. During a slot migration (ASK), the command is
sent to the importing node after ASKING, with its WAIT, on one connection.

Cost: one extra reply per node and the replica's acknowledgement time, which on a LAN is
one more replication round trip (measured in bench/, `replicated` suite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import ClusterNode, PipelineCommand, RedisCluster
from redis.exceptions import AskError, MovedError, ResponseError, SlotNotCoveredError

from runtime.errors import BrokerUnavailable
from runtime.redis_errors import is_transient

#: How long WAIT waits for a replica by default (`SCHEMABUS_REPLICA_WAIT_MS`).
DEFAULT_REPLICA_WAIT_MS = 1000

#: One command for `pipeline`: the key that routes it on a cluster, then its arguments.
Keyed = tuple[str, Sequence[Any]]


class NotReplicated(BrokerUnavailable):
    """A write was applied on the primary but no replica acknowledged it in time."""


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """The reply of a command no replica acknowledged in time, and why."""

    reply: Any
    why: NotReplicated


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """`WAIT replicas timeout_ms` after the writes of each connection."""

    replicas: int = 1
    timeout_ms: int = DEFAULT_REPLICA_WAIT_MS

    def short(self, acked: Any) -> NotReplicated | None:
        if isinstance(acked, Exception):
            return NotReplicated(f"WAIT for a replica failed: {acked}")
        if int(acked) < self.replicas:
            return NotReplicated(
                f"{int(acked)} of {self.replicas} replica(s) acknowledged the write within "
                f"{self.timeout_ms} ms (is a replica of this primary running and in sync?)"
            )
        return None


async def pipeline(
    client: Any, commands: Sequence[Keyed], wait: ReplicaWait | None = None
) -> list[Any]:
    if not commands:
        return []
    if wait is None:
        pipe = client.pipeline(transaction=False)
        for _, args in commands:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))
    if isinstance(client, RedisCluster):
        return await _cluster_waiting(client, commands, wait)
    results = await _one_connection(client, [args for _, args in commands], wait)
    short = wait.short(results.pop())
    if short is not None:
        results = [r if isinstance(r, Exception) else Unconfirmed(r, short) for r in results]
    return results


async def _one_connection(
    client: Any, commands: list[Sequence[Any]], wait: ReplicaWait
) -> list[Any]:
    """The commands and WAIT written at once on one pooled connection, replies read in
    order (raw: no response callbacks; callers read XADD ids and script replies only).
    A redis-py pipeline would do the same at twice the client CPU (measured: ~100 us
    more per call), which a replicated single publish pays on every event."""
    pool = client.connection_pool
    conn = await pool.get_connection()
    try:
        await conn.send_packed_command(
            conn.pack_commands([*commands, ("WAIT", wait.replicas, wait.timeout_ms)])
        )
        results: list[Any] = []
        for _ in range(len(commands) + 1):
            try:
                results.append(await conn.read_response())
            except ResponseError as exc:  # that reply was read: go on with the next
                results.append(exc)
    except BaseException:
        # Replies may be left unread: the connection cannot be reused.
        await conn.disconnect()
        raise
    finally:
        await pool.release(conn)
    return results


async def _cluster_waiting(
    client: RedisCluster, commands: Sequence[Keyed], wait: ReplicaWait
) -> list[Any]:
    await client.initialize()  # a no-op while the slot map is current
    results: list[Any] = [None] * len(commands)
    by_node: dict[str, tuple[ClusterNode, list[int]]] = {}
    for i, (key, _) in enumerate(commands):
        try:
            node = client.get_node_from_key(key)
        except Exception as exc:  # no live node serves the slot (yet)
            results[i] = exc
            continue
        if node is None:
            results[i] = SlotNotCoveredError(f"no node serves the slot of {key!r}")
            continue
        by_node.setdefault(node.name, (node, []))[1].append(i)

    async def on_node(node: ClusterNode, picked: list[int], asking: bool = False) -> None:
        cmds = [PipelineCommand(n, *commands[i][1]) for n, i in enumerate(picked)]
        if asking:  # one redirected command: ASKING applies to the next command only
            cmds.insert(0, PipelineCommand(-1, "ASKING"))
        cmds.append(PipelineCommand(len(cmds), "WAIT", wait.replicas, wait.timeout_ms))
        try:
            await node.execute_pipeline(cmds)
        except Exception as exc:  # the node is gone: nothing of this round is known
            for i in picked:
                results[i] = exc
            return
        short = wait.short(cmds[-1].result)
        replies = cmds[1:-1] if asking else cmds[:-1]
        for i, cmd in zip(picked, replies, strict=True):
            failed = isinstance(cmd.result, Exception)
            results[i] = cmd.result if failed or short is None else Unconfirmed(cmd.result, short)

    await asyncio.gather(*(on_node(node, picked) for node, picked in by_node.values()))
    # Commands of a slot being migrated: once, to the importing node (redis-py's rule).
    asks = [
        i
        for i, r in enumerate(results)
        if isinstance(r, AskError) and not isinstance(r, MovedError)
    ]
    for i in asks:
        target = client.get_node(host=results[i].host, port=results[i].port)
        if target is not None:
            await on_node(target, [i], asking=True)
    if any(_moved_or_gone(r) for r in results):
        # A failover or a finished migration: read the slot map before the retry.
        client._initialize = True  # what redis-py itself does after such errors
    return results


def _moved_or_gone(result: Any) -> bool:
    return isinstance(result, Exception) and (isinstance(result, AskError) or is_transient(result))

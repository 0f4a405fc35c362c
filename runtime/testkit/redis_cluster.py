"""A local Redis/Valkey Cluster (3 masters + 3 replicas by default) for tests and demos.

The cluster is formed from Python the way `redis-cli --cluster create` does it (distinct
config epochs, ADDSLOTS, MEET, REPLICATE), so it works with any server binary and needs
no redis-cli. Nodes are ordinary `RedisServer`s with cluster mode on: each can be killed
and restarted on its own port; `nodes.conf` in its data dir keeps its identity, so a
restarted ex-master rejoins as a replica of the node that took over its slots.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis
from redis.crc import key_slot

from runtime.testkit.group import ServerGroup, wait_for
from runtime.testkit.process import free_port_with_partner
from runtime.testkit.servers import (
    REPLICATION_CONFIG,
    AppendFsync,
    RedisFlavor,
    RedisServer,
    ServerVersion,
    _redis_conf_string,
    find_redis_server,
    redis_command,
    replica_caught_up,
    server_version,
)

SLOTS = 16384
#: The cluster bus listens on the client port + this (Redis 6.2 allows nothing else).
BUS_PORT_OFFSET = 10000


class RedisClusterNode(RedisServer):
    """One cluster node: a RedisServer whose port leaves room for its bus port."""

    name = "redis-cluster"

    def _pick_port(self) -> int:
        return free_port_with_partner(BUS_PORT_OFFSET)


@dataclass(frozen=True, slots=True)
class NodeView:
    """One line of CLUSTER NODES as seen by some node."""

    node_id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    slots: tuple[tuple[int, int], ...]

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failed(self) -> bool:
        return bool({"fail", "fail?"} & self.flags)


def parse_cluster_nodes(text: str) -> dict[str, NodeView]:
    views: dict[str, NodeView] = {}
    for line in text.strip().splitlines():
        fields = line.split()
        address = fields[1].split("@", 1)[0]
        port = int(address.rsplit(":", 1)[1] or 0)
        slots: list[tuple[int, int]] = []
        for item in fields[8:]:
            if item.startswith("["):  # a slot being migrated/imported
                continue
            low, _, high = item.partition("-")
            slots.append((int(low), int(high or low)))
        views[fields[0]] = NodeView(
            fields[0],
            port,
            frozenset(fields[2].split(",")),
            None if fields[3] == "-" else fields[3],
            tuple(slots),
        )
    return views


class RedisCluster(ServerGroup[RedisClusterNode]):
    """`masters` masters with `replicas_per_master` replicas each, on loopback ports.

    `node_timeout_ms` is the cluster's failure-detection time: a killed master is
    replaced by its replica about one to two timeouts later. Short values speed up tests
    but must stay well above scheduling hiccups of a loaded machine.
    """

    def __init__(
        self,
        *,
        masters: int = 3,
        replicas_per_master: int = 1,
        flavor: RedisFlavor | None = None,
        binary: str | None = None,
        password: str | None = None,
        node_timeout_ms: int = 2000,
        appendonly: bool = False,
        appendfsync: AppendFsync = "everysec",
        start_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        if masters < 3:
            raise ValueError("a Redis Cluster that can fail over needs at least 3 masters")
        self.binary = binary or find_redis_server(flavor)
        self.masters_wanted = masters
        self.replicas_per_master = replicas_per_master
        self.password = password
        self.node_timeout_ms = node_timeout_ms
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.start_timeout = start_timeout
        self._ids: dict[int, str] = {}  # id(node) -> cluster node id (stable over restarts)
        # node id -> id of its master, as last seen before a kill (None for masters)
        self._replica_of: dict[str, str | None] = {}

    # -- addresses ----------------------------------------------------------------------

    @property
    def version(self) -> ServerVersion:
        return server_version(self.binary)

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(n.host, n.port) for n in self.members]

    @property
    def url(self) -> str:
        """`redis+cluster://[:password@]host:port,host:port,...` naming every node."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"{h}:{p}" for h, p in self.startup_nodes)
        return f"redis+cluster://{auth}{hosts}"

    def client(self, node: RedisServer, **options: Any) -> redis.Redis:
        """A plain (non-cluster) client on one node, for inspecting it."""
        options.setdefault("socket_timeout", 5)
        options.setdefault("socket_connect_timeout", 2)
        return redis.Redis(
            host=node.host, port=node.port, password=self.password, decode_responses=True, **options
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> RedisCluster:
        total = self.masters_wanted * (1 + self.replicas_per_master)
        config = [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {self.node_timeout_ms}",
            # Let any replica take over, however long its link was down on a busy host.
            "cluster-replica-validity-factor 0",
            *REPLICATION_CONFIG,
        ]
        if self.password:
            config.append(f"masterauth {_redis_conf_string(self.password)}")
        for _ in range(total):
            node = RedisClusterNode(
                binary=self.binary,
                password=self.password,
                appendonly=self.appendonly,
                appendfsync=self.appendfsync,
                extra_config=config,
                start_timeout=self.start_timeout,
            )
            self.members.append(node)
            node.start()
        self._form()
        self.wait_healthy(self.start_timeout)
        return self

    def _form(self) -> None:
        masters = self.members[: self.masters_wanted]
        replicas = self.members[self.masters_wanted :]
        clients = [self.client(n) for n in self.members]
        try:
            for node, client in zip(self.members, clients, strict=True):
                self._ids[id(node)] = redis_command(client, "CLUSTER", "MYID")
                # Distinct epochs up front, as redis-cli does: no epoch collision to resolve.
                redis_command(client, "CLUSTER", "SET-CONFIG-EPOCH", len(self._ids))
            bounds = [SLOTS * i // len(masters) for i in range(len(masters) + 1)]
            use_ranges = self.version.version >= (7,)
            for i, client in enumerate(clients[: len(masters)]):
                low, high = bounds[i], bounds[i + 1] - 1
                if use_ranges:
                    redis_command(client, "CLUSTER", "ADDSLOTSRANGE", low, high)
                else:  # Redis 6.2 has no ADDSLOTSRANGE
                    redis_command(client, "CLUSTER", "ADDSLOTS", *range(low, high + 1))
            for node in self.members[1:]:
                redis_command(clients[0], "CLUSTER", "MEET", node.host, node.port)
        finally:
            for client in clients:
                client.close()
        wait_for("every node to know every other node", self._all_met, self.start_timeout)
        for i, replica in enumerate(replicas):
            master_id = self._ids[id(masters[i % len(masters)])]
            # Retried: the replica may not have heard of its master from the gossip yet.
            wait_for(
                f"node {replica.port} to replicate {master_id}",
                functools.partial(self._replicate, replica, master_id),
                self.start_timeout,
            )

    def _replicate(self, replica: RedisClusterNode, master_id: str) -> bool:
        with self.client(replica) as c:
            redis_command(c, "CLUSTER", "REPLICATE", master_id)
        return True

    def _all_met(self) -> bool:
        for node in self.running():
            with self.client(node) as c:
                views = parse_cluster_nodes(redis_command(c, "CLUSTER", "NODES"))
            if len(views) != len(self.members):
                return False
            if any({"handshake", "noaddr"} & v.flags for v in views.values()):
                return False
        return True

    def node_id(self, node: RedisClusterNode) -> str:
        return self._ids[id(node)]

    def node_by_id(self, node_id: str) -> RedisClusterNode:
        for node in self.members:
            if self._ids.get(id(node)) == node_id:
                return node
        raise KeyError(node_id)

    # -- topology -------------------------------------------------------------------

    def views(self, node: RedisClusterNode) -> dict[str, NodeView]:
        """The cluster as `node` sees it (CLUSTER NODES)."""
        with self.client(node) as c:
            return parse_cluster_nodes(redis_command(c, "CLUSTER", "NODES"))

    def role(self, node: RedisClusterNode) -> str:
        """ "master" or "slave", as the running node itself reports it."""
        with self.client(node) as c:
            return str(redis_command(c, "ROLE")[0])

    def masters(self) -> list[RedisClusterNode]:
        return [n for n in self.running() if self.role(n) == "master"]

    def replicas(self) -> list[RedisClusterNode]:
        return [n for n in self.running() if self.role(n) == "slave"]

    def replicas_of(self, master: RedisClusterNode) -> list[RedisClusterNode]:
        mid = self.node_id(master)
        return [n for n in self.replicas() if self.views(n)[self.node_id(n)].master_id == mid]

    def master_for_slot(self, slot: int) -> RedisClusterNode:
        for node in self.running():
            for view in self.views(node).values():
                serves = any(low <= slot <= high for low, high in view.slots)
                if view.is_master and not view.failed and serves:
                    return self.node_by_id(view.node_id)
        raise LookupError(f"no live master serves slot {slot}")

    def master_for_key(self, key: str | bytes) -> RedisClusterNode:
        return self.master_for_slot(key_slot(key.encode() if isinstance(key, str) else key))

    # -- health and failover --------------------------------------------------------

    def healthy(self) -> bool:
        """Every running node says cluster_state:ok with all slots served, the running
        nodes agree on the topology and every running replica is in sync with a master."""
        agreed: set[frozenset[tuple[str, bool, str | None]]] = set()
        running = list(self.running())
        running_ids = {self.node_id(n) for n in running}
        for node in running:
            with self.client(node) as c:
                info = redis_command(c, "CLUSTER", "INFO")
                if "cluster_state:ok" not in info or f"cluster_slots_ok:{SLOTS}" not in info:
                    return False
                replication = c.info("replication")
                if replication["role"] == "slave" and replication["master_link_status"] != "up":
                    return False
                views = parse_cluster_nodes(redis_command(c, "CLUSTER", "NODES"))
            if any(views[i].failed for i in running_ids if i in views):
                return False
            agreed.add(frozenset((v.node_id, v.is_master, v.master_id) for v in views.values()))
        return len(agreed) == 1

    def wait_healthy(self, timeout: float = 60.0) -> None:
        wait_for("the cluster to be healthy (state ok, in sync)", self.healthy, timeout)

    def wait_replicas_synced(self, timeout: float = 30.0) -> None:
        """Wait until every running replica has applied all writes of its master (so a
        failover right after loses nothing: replication is asynchronous)."""

        def synced() -> bool:
            for replica in self.replicas():
                master_id = self.views(replica)[self.node_id(replica)].master_id
                if master_id is None:
                    return False
                master = self.node_by_id(master_id)
                with self.client(replica) as r, self.client(master) as m:
                    if not replica_caught_up(r, m):
                        return False
            return True

        wait_for("every replica to catch up with its master", synced, timeout)

    def kill(self, member: RedisClusterNode) -> None:
        """SIGKILL one node; who replicated whom is remembered for `wait_failover`."""
        self._replica_of = {
            self.node_id(n): self.views(n)[self.node_id(n)].master_id for n in self.running()
        }
        super().kill(member)

    def kill_master_of(self, key: str | bytes, *, in_sync: bool = False) -> RedisClusterNode:
        """SIGKILL the master that serves `key`; returns it (restart it later).

        With `in_sync` the master first stops accepting writes (CLIENT PAUSE WRITE: its
        clients wait, they get no error) until its replicas applied everything it
        acknowledged, and is killed in that state: the failover then loses nothing. Without
        it a kill can lose the last acknowledged writes, as asynchronous replication does
        (what catalog `durability: replicated` is for)."""
        node = self.master_for_key(key)
        if in_sync:
            self._pause_until_replicated(node)
        self.kill(node)
        return node

    def _pause_until_replicated(self, master: RedisClusterNode, timeout: float = 10.0) -> None:
        replicas = self.replicas_of(master)
        with self.client(master) as m:
            # Longer than the wait below: the pause only ends with the process.
            m.execute_command("CLIENT", "PAUSE", int(timeout * 1000) + 5000, "WRITE")
            for replica in replicas:
                with self.client(replica) as r:
                    wait_for(
                        f"replica {replica.port} to apply all of {master.port}'s writes",
                        functools.partial(replica_caught_up, r, m),
                        timeout,
                    )

    def wait_failover(self, dead: RedisClusterNode, timeout: float = 60.0) -> RedisClusterNode:
        """Wait until a replica of the killed master `dead` was promoted and the cluster
        serves every slot again; returns the new master."""
        dead_id = self.node_id(dead)

        def promoted() -> RedisClusterNode | None:
            for node in self.masters():
                if self._replica_of.get(self.node_id(node)) == dead_id:
                    return node
            return None

        new_master = wait_for(f"a replica of {dead.port} to take over", promoted, timeout)
        self.wait_healthy(timeout)
        return new_master

    def restart(self, member: RedisClusterNode, *, timeout: float = 60.0) -> RedisClusterNode:
        """Start a killed node again and wait until it rejoined and the cluster is healthy."""
        member.start()
        self.wait_healthy(timeout)
        return member

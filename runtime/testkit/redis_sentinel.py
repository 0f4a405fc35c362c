"""A primary, its replicas and 3 Sentinels on loopback ports, for failover tests.

The Sentinels run the same binary as the data nodes (`valkey-server --sentinel` or
`redis-server --sentinel`). Kill the primary with `kill_primary()`, then
`wait_promotion()` returns the replica the Sentinels promoted once every Sentinel names
it and it accepts writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis

from runtime.testkit.group import ServerGroup, wait_for
from runtime.testkit.process import ManagedServer, connect_and_read
from runtime.testkit.servers import (
    REPLICATION_CONFIG,
    RedisFlavor,
    RedisServer,
    ServerVersion,
    _redis_conf_string,
    _resp,
    find_redis_server,
    redis_command,
    replica_caught_up,
    server_version,
)


class SentinelServer(ManagedServer):
    """One Sentinel watching `master_name` at `master_port`.

    Sentinel rewrites its own config file (it records the replicas, the other Sentinels
    and failovers there), so the file is written once and kept across restarts.
    """

    name = "sentinel"
    ready_marker = "Sentinel ID is"

    def __init__(
        self,
        *,
        binary: str,
        master_name: str,
        master_host: str,
        master_port: int,
        quorum: int,
        down_after_ms: int,
        failover_timeout_ms: int,
        auth_pass: str | None = None,
        sentinel_password: str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.binary = binary
        self.sentinel_password = sentinel_password
        self.master_name = master_name
        self.master_host = master_host
        self.master_port = master_port
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.auth_pass = auth_pass
        super().__init__(start_timeout=start_timeout)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "sentinel.conf"

    def _config(self) -> str:
        m = self.master_name
        lines = [
            f"port {self.port}",
            f"bind {self.host}",
            f"dir {_redis_conf_string(str(self.data_dir))}",
            f"logfile {_redis_conf_string(str(self.log_path))}",
            "daemonize no",
            f"sentinel monitor {m} {self.master_host} {self.master_port} {self.quorum}",
            f"sentinel down-after-milliseconds {m} {self.down_after_ms}",
            f"sentinel failover-timeout {m} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {m} 1",
        ]
        if self.auth_pass:
            lines.append(f"sentinel auth-pass {m} {_redis_conf_string(self.auth_pass)}")
        if self.sentinel_password:
            # Clients must AUTH to this Sentinel; Sentinels AUTH to each other with it.
            secret = _redis_conf_string(self.sentinel_password)
            lines += [f"requirepass {secret}", f"sentinel sentinel-pass {secret}"]
        return "\n".join(lines) + "\n"

    def _command(self) -> list[str]:
        if not self.config_path.exists():
            self.config_path.write_text(self._config())
            self.config_path.chmod(0o600)
        return [self.binary, str(self.config_path), "--sentinel"]

    def _probe(self) -> bool:
        auth = _resp("AUTH", self.sentinel_password) if self.sentinel_password else b""
        reply = connect_and_read(self.port, auth + _resp("PING"), 2 if auth else 1)
        return reply.endswith(b"+PONG\r\n")


class RedisSentinelGroup(ServerGroup[ManagedServer]):
    """A primary, `replicas` replicas and `sentinels` Sentinels (quorum: a majority).

    `url` is the `redis+sentinel://` URL naming every Sentinel and the master name.
    `password` protects the data nodes, `sentinel_password` the Sentinels.
    """

    def __init__(
        self,
        *,
        master_name: str = "schemabus",
        replicas: int = 1,
        sentinels: int = 3,
        flavor: RedisFlavor | None = None,
        binary: str | None = None,
        password: str | None = None,
        sentinel_password: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 10_000,
        appendonly: bool = False,
        start_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.binary = binary or find_redis_server(flavor)
        self.master_name = master_name
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.password = password
        self.sentinel_password = sentinel_password
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.appendonly = appendonly
        self.start_timeout = start_timeout
        self.data_nodes: list[RedisServer] = []
        self.sentinels: list[SentinelServer] = []

    @property
    def version(self) -> ServerVersion:
        return server_version(self.binary)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(s.host, s.port) for s in self.sentinels]

    @property
    def url(self) -> str:
        """`redis+sentinel://[:password@]host:port,.../<master-name>`."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses)
        return f"redis+sentinel://{auth}{hosts}/{quote(self.master_name, safe='')}"

    def client(self, node: ManagedServer, **options: Any) -> redis.Redis:
        """A plain client on one process (data node or Sentinel), for inspecting it."""
        options.setdefault("socket_timeout", 5)
        options.setdefault("socket_connect_timeout", 2)
        password = self.password if isinstance(node, RedisServer) else self.sentinel_password
        return redis.Redis(
            host=node.host, port=node.port, password=password, decode_responses=True, **options
        )

    # -- lifecycle ----------------------------------------------------------------------

    def _data_node(self, replica_of: RedisServer | None) -> RedisServer:
        config = list(REPLICATION_CONFIG)
        if self.password:
            config.append(f"masterauth {_redis_conf_string(self.password)}")
        if replica_of is not None:
            config.append(f"replicaof {replica_of.host} {replica_of.port}")
        node = RedisServer(
            binary=self.binary,
            password=self.password,
            appendonly=self.appendonly,
            extra_config=config,
            start_timeout=self.start_timeout,
        )
        self.members.append(node)
        self.data_nodes.append(node)
        return node.start()

    def start(self) -> RedisSentinelGroup:
        primary = self._data_node(None)
        for _ in range(self.replica_count):
            self._data_node(primary)
        for _ in range(self.sentinel_count):
            sentinel = SentinelServer(
                binary=self.binary,
                master_name=self.master_name,
                master_host=primary.host,
                master_port=primary.port,
                quorum=self.sentinel_count // 2 + 1,
                down_after_ms=self.down_after_ms,
                failover_timeout_ms=self.failover_timeout_ms,
                auth_pass=self.password,
                sentinel_password=self.sentinel_password,
                start_timeout=self.start_timeout,
            )
            self.members.append(sentinel)
            self.sentinels.append(sentinel)
            sentinel.start()
        self.wait_ready(self.start_timeout)
        return self

    # -- state --------------------------------------------------------------------------

    def primary_address(self, sentinel: SentinelServer | None = None) -> tuple[str, int]:
        """The primary as one Sentinel (default: the first running one) names it."""
        sentinel = sentinel or next(s for s in self.sentinels if s.running)
        with self.client(sentinel) as c:
            host, port = redis_command(c, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
        return str(host), int(port)

    def node_at(self, port: int) -> RedisServer:
        for node in self.data_nodes:
            if node.port == port:
                return node
        raise KeyError(port)

    def primary(self) -> RedisServer:
        return self.node_at(self.primary_address()[1])

    def replicas(self) -> list[RedisServer]:
        primary = self.primary()
        return [n for n in self.data_nodes if n is not primary and n.running]

    def _replica_synced(self, node: RedisServer, primary: RedisServer) -> bool:
        with self.client(node) as c:
            info = c.info("replication")
        return bool(
            info["role"] == "slave"
            and int(info["master_port"]) == primary.port
            and info["master_link_status"] == "up"
        )

    def ready(self) -> bool:
        """Every running Sentinel names the same running primary, knows every running
        replica and the other running Sentinels; every running replica is in sync."""
        sentinels = [s for s in self.sentinels if s.running]
        addresses = {self.primary_address(s) for s in sentinels}
        if len(addresses) != 1:
            return False
        primary = self.node_at(addresses.pop()[1])
        if not primary.running:
            return False
        with self.client(primary) as c:
            if c.info("replication")["role"] != "master":
                return False
        replicas = [n for n in self.data_nodes if n is not primary and n.running]
        if not all(self._replica_synced(r, primary) for r in replicas):
            return False
        want_replicas = {r.port for r in replicas}
        for sentinel in sentinels:
            with self.client(sentinel) as c:
                known = redis_command(c, "SENTINEL", "REPLICAS", self.master_name)
                peers = redis_command(c, "SENTINEL", "SENTINELS", self.master_name)
            up = {
                int(r["port"])
                for r in known
                if "s_down" not in r["flags"] and "disconnected" not in r["flags"]
            }
            if not want_replicas <= up:
                return False
            live_peers = [p for p in peers if "s_down" not in p["flags"]]
            if len(live_peers) < len(sentinels) - 1:
                return False
        return True

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_for(
            "the Sentinels to agree on a primary and know every replica and each other",
            self.ready,
            timeout,
        )

    def wait_replicas_synced(self, timeout: float = 30.0) -> None:
        """Wait until every running replica has applied all of the primary's writes."""

        def synced() -> bool:
            primary = self.primary()
            for replica in self.replicas():
                with self.client(replica) as r, self.client(primary) as m:
                    if not replica_caught_up(r, m):
                        return False
            return True

        wait_for("every replica to catch up with the primary", synced, timeout)

    # -- failover -----------------------------------------------------------------------

    def kill_primary(self) -> RedisServer:
        """SIGKILL the current primary; returns it (restart it later)."""
        primary = self.primary()
        self.kill(primary)
        return primary

    def wait_promotion(self, old: RedisServer, timeout: float = 60.0) -> RedisServer:
        """Wait until the Sentinels promoted a replica in place of `old` and it is the
        primary everywhere (every running Sentinel agrees, it accepts writes)."""

        def promoted() -> RedisServer | None:
            addresses = {self.primary_address(s) for s in self.sentinels if s.running}
            if len(addresses) != 1:
                return None
            node = self.node_at(addresses.pop()[1])
            if node is old or not node.running:
                return None
            with self.client(node) as c:
                if c.info("replication")["role"] != "master":
                    return None
            return node

        return wait_for(f"a replica to replace primary {old.port}", promoted, timeout)

    def restart(self, member: ManagedServer, *, timeout: float = 60.0) -> ManagedServer:
        """Start a killed process again. A data node comes back as a replica of the current
        primary (as Sentinel would reconfigure it anyway); then wait until all is ready."""
        if isinstance(member, RedisServer):
            primary = self.primary()
            member.extra_config = [
                line for line in member.extra_config if not line.startswith("replicaof ")
            ]
            if primary is not member:
                member.extra_config.append(f"replicaof {primary.host} {primary.port}")
        member.start()
        self.wait_ready(timeout)
        return member

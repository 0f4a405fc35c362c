"""A local NATS cluster with JetStream (3 nodes by default), for failover tests.

Each node is a `NatsServer` with a `server_name`, a cluster listener, routes to every
other node and a monitoring port; the helpers read the monitoring endpoints (`/routez`,
`/jsz`) to wait until the routes are up and JetStream has a meta leader.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from runtime.testkit.group import ServerGroup, wait_for
from runtime.testkit.process import ServerStartError, free_port
from runtime.testkit.servers import NatsServer

_FORM_ATTEMPTS = 3


class NatsClusterNode(NatsServer):
    """One cluster member; its ports are fixed up front because routes name them."""

    name = "nats-cluster"

    def __init__(
        self,
        *,
        server_name: str,
        cluster_name: str,
        port: int,
        cluster_port: int,
        http_port: int,
        routes: list[int],
        **options: Any,
    ) -> None:
        super().__init__(jetstream=True, port=port, **options)
        self.server_name = server_name
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.http_port = http_port
        self.routes = routes

    def _config(self) -> str:
        q = json.dumps
        routes = ", ".join(q(f"nats://{self.host}:{p}") for p in self.routes)
        return (
            super()._config()
            + f"server_name: {q(self.server_name)}\n"
            + f"http: {q(f'{self.host}:{self.http_port}')}\n"
            + f"cluster {{ name: {q(self.cluster_name)}, "
            + f"listen: {q(f'{self.host}:{self.cluster_port}')}, routes: [{routes}] }}\n"
        )

    def monitor(self, endpoint: str) -> dict[str, Any]:
        """GET a monitoring endpoint (`varz`, `routez`, `jsz`, ...) as JSON."""
        url = f"http://{self.host}:{self.http_port}/{endpoint}"
        with urllib.request.urlopen(url, timeout=2) as response:
            data: dict[str, Any] = json.load(response)
            return data


class NatsCluster(ServerGroup[NatsClusterNode]):
    """`size` nats-servers routed to each other, JetStream on, one data dir each."""

    def __init__(
        self,
        *,
        size: int = 3,
        cluster_name: str = "schemabus",
        start_timeout: float = 60.0,
        **node_options: Any,
    ) -> None:
        super().__init__()
        if size < 3:
            raise ValueError("a JetStream cluster that survives a node loss needs 3 nodes")
        self.size = size
        self.cluster_name = cluster_name
        self.start_timeout = start_timeout
        self.node_options = node_options

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.members]

    @property
    def url(self) -> str:
        """The comma-separated server list (the form `SCHEMABUS_NATS_URL` takes)."""
        return ",".join(self.urls)

    def node_named(self, server_name: str) -> NatsClusterNode:
        for node in self.members:
            if node.server_name == server_name:
                return node
        raise KeyError(server_name)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> NatsCluster:
        # Routes name each other's ports, so all ports are picked before any node starts;
        # if another process grabs one first, the whole cluster is formed again.
        for attempt in range(_FORM_ATTEMPTS):
            try:
                self._launch()
                break
            except ServerStartError:
                for node in self.members:
                    node.close()
                self.members.clear()
                if attempt == _FORM_ATTEMPTS - 1:
                    raise
        self.wait_healthy(self.start_timeout)
        return self

    def _launch(self) -> None:
        ports = [(free_port(), free_port(), free_port()) for _ in range(self.size)]
        cluster_ports = [c for _, c, _ in ports]
        for i, (port, cluster_port, http_port) in enumerate(ports):
            node = NatsClusterNode(
                server_name=f"n{i + 1}",
                cluster_name=self.cluster_name,
                port=port,
                cluster_port=cluster_port,
                http_port=http_port,
                routes=[p for p in cluster_ports if p != cluster_port],
                start_timeout=self.start_timeout,
                **self.node_options,
            )
            self.members.append(node)
        for node in self.members:
            node.start()

    # -- state --------------------------------------------------------------------------

    def routed_peers(self, node: NatsClusterNode) -> set[str]:
        """Names of the servers `node` has a route to."""
        routes = node.monitor("routez").get("routes") or []
        return {str(r.get("remote_name", "")) for r in routes} - {""}

    def meta_leader(self, node: NatsClusterNode | None = None) -> str | None:
        """The JetStream meta leader's server name as `node` sees it (None: no leader)."""
        node = node or next(self.running())
        meta = node.monitor("jsz").get("meta_cluster") or {}
        leader = meta.get("leader")
        return str(leader) if leader else None

    def healthy(self) -> bool:
        """Every running node routes to every other running node and all running nodes
        name the same running meta leader."""
        running = list(self.running())
        names = {n.server_name for n in running}
        for node in running:
            if self.routed_peers(node) < names - {node.server_name}:
                return False
        leaders = {self.meta_leader(n) for n in running}
        if len(leaders) != 1 or (leader := leaders.pop()) not in names:
            return False
        # The leader must see every other running node as a current (caught-up) peer,
        # or creating an R3 stream right now could still fail.
        meta = self.node_named(leader).monitor("jsz").get("meta_cluster") or {}
        current = {str(r.get("name")) for r in meta.get("replicas") or [] if r.get("current")}
        return names - {leader} <= current

    def wait_healthy(self, timeout: float = 60.0) -> None:
        wait_for("the NATS cluster to route and elect a JetStream leader", self.healthy, timeout)

    def wait_meta_leader(self, timeout: float = 60.0) -> NatsClusterNode:
        """Wait for the running nodes to agree on a meta leader; returns it."""
        self.wait_healthy(timeout)
        leader = self.meta_leader()
        assert leader is not None
        return self.node_named(leader)

    def kill_meta_leader(self) -> NatsClusterNode:
        """SIGKILL the current JetStream meta leader; returns it (restart it later)."""
        leader = self.wait_meta_leader()
        self.kill(leader)
        return leader

    def restart(self, member: NatsClusterNode, *, timeout: float = 60.0) -> NatsClusterNode:
        """Start a killed node again (same ports, same JetStream dir) and wait until the
        cluster routes to it and agrees on a meta leader."""
        member.start()
        self.wait_healthy(timeout)
        return member

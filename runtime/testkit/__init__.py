"""Real Redis/Valkey and NATS servers for tests, the demo and benchmarks (no pytest needed).

Single servers (`RedisServer`, `NatsServer`) and groups of them that can lose a member:
`RedisCluster` (3 masters + 3 replicas), `RedisSentinelGroup` (primary + replica +
3 Sentinels) and `NatsCluster` (3 nodes with JetStream). The pytest fixtures live in
`runtime.testkit.pytest_plugin`.
"""

from runtime.testkit.group import GroupTimeoutError, ServerGroup, pid_alive, wait_for
from runtime.testkit.nats_cluster import NatsCluster, NatsClusterNode
from runtime.testkit.process import (
    ManagedServer,
    ServerBinaryNotFoundError,
    ServerStartError,
    free_port,
)
from runtime.testkit.redis_cluster import RedisCluster, RedisClusterNode
from runtime.testkit.redis_sentinel import RedisSentinelGroup, SentinelServer
from runtime.testkit.servers import (
    REDIS_FLAVORS,
    NatsServer,
    RedisFlavor,
    RedisServer,
    ServerVersion,
    find_nats_server,
    find_redis_server,
    server_version,
)

__all__ = [
    "REDIS_FLAVORS",
    "GroupTimeoutError",
    "ManagedServer",
    "NatsCluster",
    "NatsClusterNode",
    "NatsServer",
    "RedisCluster",
    "RedisClusterNode",
    "RedisFlavor",
    "RedisSentinelGroup",
    "RedisServer",
    "SentinelServer",
    "ServerBinaryNotFoundError",
    "ServerGroup",
    "ServerStartError",
    "ServerVersion",
    "find_nats_server",
    "find_redis_server",
    "free_port",
    "pid_alive",
    "server_version",
    "wait_for",
]

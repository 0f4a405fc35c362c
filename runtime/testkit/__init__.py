"""Real Redis and NATS servers for tests, the demo and benchmarks (no pytest needed).

The pytest fixtures live in `runtime.testkit.pytest_plugin`.
"""

from runtime.testkit.process import (
    ManagedServer,
    ServerBinaryNotFoundError,
    ServerStartError,
    free_port,
)
from runtime.testkit.servers import NatsServer, RedisServer, find_nats_server, find_redis_server

__all__ = [
    "ManagedServer",
    "NatsServer",
    "RedisServer",
    "ServerBinaryNotFoundError",
    "ServerStartError",
    "find_nats_server",
    "find_redis_server",
    "free_port",
]

"""Scale-out deployments side by side (issue 11): the framework against itself.

Unlike the other suites, both columns are schemabus; the "schemabus" column is the
deployment under test and the "baseline" column the reference it is compared with:

* `cluster-durable`: durable end to end on a 3-master + 3-replica Valkey Cluster, vs the
  same on one server;
* `replicated`: durable end to end with `durability: replicated` (WAIT 1) on a primary
  with one replica, vs the same stream with the default durability;
* `replicated-publish`: awaited single publishes there, replicated vs default;
* `cluster-replicated`: durable end to end on the cluster, replicated vs default;
* `nats-cluster-request`: sequential request/reply with requester and responder on
  different nodes of a 3-node NATS cluster, vs both on one nats-server;
* `jetstream-r3`: acknowledged JetStream publishes to a stream kept on 3 nodes, vs 1 node
  of the same cluster.

The servers (a cluster, a primary with a replica behind Sentinel, a NATS cluster) are
started once, on first use, and stopped by `close()`. They are not in the default
`make bench` run (they add ~15 processes); run them with
`python -m bench --only cluster-durable --only replicated ...` or `--clusters`.

Beside the client's CPU per event, the cluster suites record the servers' own CPU per
event (`INFO cpu` of every node before and after a round): 1e6 / that is what one core of
a shard can carry, the figure docs/SCALING.md builds on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from bench.common import BATCH, Counter, cached_orders, counting_wiring, timeout_for
from bench.events import ORDER_SPEC, RESERVE, Stopwatch, reserve_reply, reserve_request
from bench.suite import Env, Metric, Suite, latency_stats
from generated.models import InventoryReserveReplyV1, InventoryReserveRequestV1
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.nats import NatsTransport, stream_name
from runtime.nats.jetstream import JetStreamSubject
from runtime.redis_conn import make_client
from runtime.redis_streams import RedisTransport
from runtime.settings import ConsumerSettings, NatsSettings, RedisSettings, Settings
from runtime.spec import Context, Registry, Responder, ServiceWiring
from runtime.testkit import NatsCluster, RedisCluster, RedisSentinelGroup

CONSUMER = ConsumerSettings(batch=BATCH, block_ms=100)
#: The example catalog's orders (4 partitions) with `durability: replicated`.
REPLICATED_ORDER = dataclasses.replace(ORDER_SPEC, durability="replicated")
REPLICATED_REGISTRY = Registry.build(
    [REPLICATED_ORDER if s.key == ORDER_SPEC.key else s for s in REGISTRY.events.values()],
    REGISTRY.operations.values(),
    REGISTRY.read_plans.values(),
)


class _Servers:
    """Started on first use, shared by every round and suite, closed at the end."""

    def __init__(self) -> None:
        self.redis_cluster: RedisCluster | None = None
        self.sentinel: RedisSentinelGroup | None = None
        self.nats_cluster: NatsCluster | None = None
        #: What was started (kept after close, for the results file).
        self.started: dict[str, Any] = {}

    async def cluster(self) -> RedisCluster:
        if self.redis_cluster is None:
            self.redis_cluster = await asyncio.to_thread(RedisCluster().start)
            self.started["redis_cluster"] = {
                "masters": 3,
                "replicas_per_master": 1,
                "server": str(self.redis_cluster.version),
            }
        return self.redis_cluster

    async def primary_with_replica(self) -> RedisSentinelGroup:
        if self.sentinel is None:
            self.sentinel = await asyncio.to_thread(RedisSentinelGroup(replicas=1).start)
            self.started["primary_with_replica"] = {"replicas": 1, "sentinels": 3}
        return self.sentinel

    async def nats(self) -> NatsCluster:
        if self.nats_cluster is None:
            self.nats_cluster = await asyncio.to_thread(NatsCluster(size=3).start)
            self.started["nats_cluster"] = {"nodes": 3}
        return self.nats_cluster

    def close(self) -> None:
        for group in (self.redis_cluster, self.sentinel, self.nats_cluster):
            if group is not None:
                group.close()
        self.redis_cluster = self.sentinel = self.nats_cluster = None


SERVERS = _Servers()


def close() -> None:
    SERVERS.close()


# --- durable end to end, any Redis deployment ------------------------------------------


async def _flush(url: str) -> None:
    client = make_client(RedisSettings.from_url(url))
    try:
        await client.flushall()  # every primary of a cluster
    finally:
        await client.aclose()


async def _server_cpu_s(url: str, ports: list[int] | None) -> tuple[float, float]:
    """(primaries, replicas): used_cpu_user + used_cpu_sys summed over the given nodes by
    role (None: the URL's own server)."""
    settings = RedisSettings.from_url(url)
    if settings.mode != "single" and not ports:
        return 0.0, 0.0  # the URL names Sentinels, not the data node
    primaries = replicas = 0.0
    for port in ports or [settings.port]:
        client = make_client(RedisSettings(host=settings.host, port=port))
        try:
            info = await client.info("cpu")
            role = (await client.info("replication"))["role"]
        finally:
            await client.aclose()
        used = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        if role == "master":
            primaries += used
        else:
            replicas += used
    return primaries, replicas


async def durable_round(
    env: Env,
    url: str,
    registry: Registry = REGISTRY,
    *,
    nodes: list[int] | None = None,
) -> dict[str, float]:
    """`bench.durable.framework_durable` on any Redis URL: publish_many by 100, one
    consumer with a counting handler; also the servers' CPU per event."""
    await _flush(url)
    events = cached_orders(env.n)
    counter = Counter(env.n)
    transport = await RedisTransport.connect(RedisSettings.from_url(url), registry=registry)
    bus = Bus(
        registry,
        source="bench",
        durable=transport,
        live=None,
        settings=Settings(redis=None, consumer=CONSUMER),
    )
    spec = registry.spec(ORDER_SPEC.type, ORDER_SPEC.version)
    runner = bus.service(counting_wiring(spec, counter), consumer_name="bench-0")
    try:
        await runner.start()
        server_before = await _server_cpu_s(url, nodes)
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            await bus.publish_many(events[i : i + BATCH])
        await counter.wait(timeout_for(env.n))
        elapsed, cpu = watch.stop()
        server_after = await _server_cpu_s(url, nodes)
    finally:
        await runner.stop()
        await bus.close()
    handled = max(counter.count, 1)
    return {
        "rate": counter.count / elapsed,
        "cpu_us": cpu / handled * 1e6,
        "server_cpu_us": (server_after[0] - server_before[0]) / handled * 1e6,
        "replica_cpu_us": (server_after[1] - server_before[1]) / handled * 1e6,
        "lost": env.n - counter.count,
    }


def _data_ports(cluster: RedisCluster) -> list[int]:
    return [n.port for n in cluster.running()]


async def cluster_durable(env: Env) -> dict[str, float]:
    cluster = await SERVERS.cluster()
    result = await durable_round(env, cluster.url, nodes=_data_ports(cluster))
    result["masters"] = len(cluster.masters())
    return result


async def single_durable(env: Env) -> dict[str, float]:
    return await durable_round(env, env.redis_url)


_DURABLE_METRICS = (
    Metric("rate", "end-to-end events/s", "ev/s", True),
    Metric("cpu_us", "client CPU per event", "us", False),
    Metric("server_cpu_us", "primaries' CPU per event", "us", False),
)

CLUSTER_DURABLE = Suite(
    "cluster-durable",
    _DURABLE_METRICS,
    cluster_durable,
    single_durable,
    note=(
        "the durable workload (publish_many by 100, one consumer, 4 partitions) on a "
        "3-master + 3-replica Valkey Cluster vs one Valkey server, same process, "
        "interleaved; primaries' CPU = INFO cpu of every primary per event (the replicas' "
        "is recorded as replica_cpu_us)"
    ),
)


async def replicated_durable(env: Env) -> dict[str, float]:
    group = await SERVERS.primary_with_replica()
    return await durable_round(env, group.url, REPLICATED_REGISTRY)


async def default_durable_with_replica(env: Env) -> dict[str, float]:
    group = await SERVERS.primary_with_replica()
    return await durable_round(env, group.url)


REPLICATED = Suite(
    "replicated",
    _DURABLE_METRICS[:2],
    replicated_durable,
    default_durable_with_replica,
    note=(
        "the durable workload on one primary with one replica (found through Sentinel): "
        "orders with durability: replicated (every publish pipeline and every settle "
        "waits for WAIT 1) vs the default durability"
    ),
)


async def cluster_replicated(env: Env) -> dict[str, float]:
    cluster = await SERVERS.cluster()
    return await durable_round(env, cluster.url, REPLICATED_REGISTRY, nodes=_data_ports(cluster))


CLUSTER_REPLICATED = Suite(
    "cluster-replicated",
    _DURABLE_METRICS,
    cluster_replicated,
    cluster_durable,
    note=(
        "the durable workload on the 3-master cluster: durability: replicated (WAIT 1 per "
        "node and pipeline) vs the default durability"
    ),
)


# --- awaited single publishes, replicated or not --------------------------------------


async def _publish_round(env: Env, registry: Registry) -> dict[str, float]:
    group = await SERVERS.primary_with_replica()
    await _flush(group.url)
    events = cached_orders(env.n)[: max(100, env.n // 4)]
    transport = await RedisTransport.connect(RedisSettings.from_url(group.url), registry=registry)
    bus = Bus(registry, source="bench", durable=transport, live=None)
    latencies: list[float] = []
    try:
        watch = Stopwatch()
        for event in events:
            started = asyncio.get_running_loop().time()
            await bus.publish(event)
            latencies.append(asyncio.get_running_loop().time() - started)
        elapsed, cpu = watch.stop()
    finally:
        await bus.close()
    stats = latency_stats(latencies)
    return {"rate": len(events) / elapsed, "cpu_us": cpu / len(events) * 1e6, "p50": stats["p50"]}


async def replicated_publish(env: Env) -> dict[str, float]:
    return await _publish_round(env, REPLICATED_REGISTRY)


async def default_publish(env: Env) -> dict[str, float]:
    return await _publish_round(env, REGISTRY)


REPLICATED_PUBLISH = Suite(
    "replicated-publish",
    (
        Metric("rate", "awaited single publishes/s", "ev/s", True),
        Metric("p50", "publish latency p50", "ms", False),
        Metric("cpu_us", "client CPU per publish", "us", False),
    ),
    replicated_publish,
    default_publish,
    note="N/4 awaited Bus.publish on a primary with one replica: replicated vs default",
)


# --- request/reply on a NATS cluster --------------------------------------------------


async def _request_round(server_url: str, client_url: str, n: int) -> dict[str, float]:
    requests = [reserve_request(i) for i in range(n)]

    async def answer(request: InventoryReserveRequestV1, ctx: Context) -> InventoryReserveReplyV1:
        return reserve_reply(request)

    async def bus(url: str) -> Bus:
        transport = await NatsTransport.connect(NatsSettings.from_url(url), registry=REGISTRY)
        return Bus(REGISTRY, source="bench", durable=None, live=transport)

    server, client = await bus(server_url), await bus(client_url)
    wiring = ServiceWiring("inventory", (), responders=(Responder(RESERVE, answer),))
    runner = server.service(wiring, consumer_name="bench-0")
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    try:
        await runner.start()
        # Interest crosses the cluster's routes asynchronously: wait for a first answer.
        await client.request(RESERVE, requests[0], InventoryReserveReplyV1, timeout_s=10)
        watch = Stopwatch()
        for request in requests:
            sent = loop.time()
            await client.request(RESERVE, request, InventoryReserveReplyV1)
            latencies.append(loop.time() - sent)
        elapsed, cpu = watch.stop()
    finally:
        await runner.stop()
        await client.close()
        await server.close()
    return {"rate": n / elapsed, "cpu_us": cpu / n * 1e6, **latency_stats(latencies)}


async def nats_cluster_request(env: Env) -> dict[str, float]:
    cluster = await SERVERS.nats()
    first, second = cluster.members[0], cluster.members[1]
    # Responder on node 2, requester on node 1: each request and reply crosses a route.
    server_url = ",".join([second.url, first.url])
    return await _request_round(server_url, first.url, env.n_requests)


async def single_node_request(env: Env) -> dict[str, float]:
    return await _request_round(env.nats_url, env.nats_url, env.n_requests)


NATS_CLUSTER_REQUEST = Suite(
    "nats-cluster-request",
    (
        Metric("rate", "sequential requests/s", "req/s", True),
        Metric("p50", "request latency p50", "ms", False),
        Metric("p99", "request latency p99", "ms", False),
        Metric("cpu_us", "client CPU per request", "us", False),
    ),
    nats_cluster_request,
    single_node_request,
    note=(
        "N/5 sequential Bus.request to a Responder; cluster: requester on node 1, "
        "responder on node 2 of a 3-node NATS cluster (one route hop each way) vs both "
        "on one nats-server"
    ),
)

# --- JetStream: R3 against R1 on the same cluster --------------------------------------


async def _jetstream_round(env: Env, replicas: int) -> dict[str, float]:
    """publish_many by 100 to a JetStream subject kept with `replicas` copies; every
    publish waits for the stream's acknowledgement (R3: a majority stored it)."""
    cluster = await SERVERS.nats()
    subject = f"bench.js.r{replicas}"
    config = JetStreamSubject(subject, stream_name(subject), replicas=replicas)
    spec = dataclasses.replace(
        ORDER_SPEC, delivery="realtime", stream=None, subject=subject, jetstream=True
    )
    registry = Registry.build([spec])
    transport = await NatsTransport.connect(
        NatsSettings.from_url(cluster.url), registry=registry, jetstream=[config]
    )
    bus = Bus(registry, source="bench", durable=None, live=transport)
    events = cached_orders(env.n)
    try:
        with contextlib.suppress(Exception):
            await transport.js.delete_stream(config.stream)
        await bus.publish(events[0])  # creates the stream
        watch = Stopwatch()
        for i in range(0, len(events), BATCH):
            await bus.publish_many(events[i : i + BATCH])
        elapsed, cpu = watch.stop()
        info = await transport.js.stream_info(config.stream)
        stored = int(info.state.messages) - 1
    finally:
        with contextlib.suppress(Exception):
            await transport.js.delete_stream(config.stream)
        await bus.close()
    rate, per_event = len(events) / elapsed, cpu / len(events) * 1e6
    return {"rate": rate, "cpu_us": per_event, "lost": env.n - stored}


async def jetstream_r3(env: Env) -> dict[str, float]:
    return await _jetstream_round(env, 3)


async def jetstream_r1(env: Env) -> dict[str, float]:
    return await _jetstream_round(env, 1)


JETSTREAM_R3 = Suite(
    "jetstream-r3",
    (
        Metric("rate", "acknowledged JetStream publishes/s", "ev/s", True),
        Metric("cpu_us", "client CPU per publish", "us", False),
    ),
    jetstream_r3,
    jetstream_r1,
    note=(
        "N orders, publish_many by 100 (each publish waits for its JetStream ack) on the "
        "3-node NATS cluster: a stream with replicas: 3 vs replicas: 1"
    ),
)

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        CLUSTER_DURABLE,
        REPLICATED,
        REPLICATED_PUBLISH,
        CLUSTER_REPLICATED,
        NATS_CLUSTER_REQUEST,
        JETSTREAM_R3,
    )
}


def describe() -> dict[str, Any]:
    """The deployments the run started (for the results file)."""
    return dict(SERVERS.started)

"""The test kit's NATS cluster: 3 routed nodes with JetStream; messages cross nodes, an
R3 stream keeps every acknowledged message when its leader node is SIGKILLed, the
cluster elects new leaders, the killed node rejoins, and nothing is left running."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from runtime.testkit import NatsCluster, NatsClusterNode, pid_alive, wait_for
from runtime.testkit.pytest_plugin import NatsClusterFactory
from tests.testkit.retry import eventually

pytestmark = [pytest.mark.nats, pytest.mark.slow]

# Raised while JetStream elects a new stream leader.
JS_RETRIED = (
    NatsTimeoutError,
    NoRespondersError,
    NoStreamResponseError,
    ServiceUnavailableError,
    asyncio.TimeoutError,
)


async def _connect(*servers: str) -> Client:
    return await nats.connect(
        servers=list(servers),
        connect_timeout=2,
        reconnect_time_wait=0.2,
        max_reconnect_attempts=-1,
        dont_randomize=True,
    )


async def _route_ready(publisher: Client, subject: str, inbox: asyncio.Queue[bytes]) -> bool:
    # Interest crosses the route asynchronously: probe until a message makes it.
    await publisher.publish(subject, b"probe")
    await publisher.flush()
    try:
        await asyncio.wait_for(inbox.get(), 0.2)
    except TimeoutError:
        return False
    return True


async def test_messages_cross_nodes(nats_cluster: NatsCluster) -> None:
    a, b = nats_cluster.members[0], nats_cluster.members[1]
    sub_client, pub_client = await _connect(b.url), await _connect(a.url)
    try:
        assert sub_client.connected_url is not None and sub_client.connected_url.port == b.port
        inbox: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_message(msg: Msg) -> None:
            await inbox.put(msg.data)

        await sub_client.subscribe("cross", cb=on_message)
        await sub_client.flush()
        deadline = time.monotonic() + 10
        while not await _route_ready(pub_client, "cross", inbox):
            assert time.monotonic() < deadline, "interest never crossed the route"
        while not inbox.empty():
            inbox.get_nowait()
        for i in range(100):
            await pub_client.publish("cross", str(i).encode())
        received = [await asyncio.wait_for(inbox.get(), 5) for _ in range(100)]
        assert received == [str(i).encode() for i in range(100)]
    finally:
        await sub_client.close()
        await pub_client.close()


async def _stream_leader(client: Client, stream: str) -> str:
    info = await client.jetstream(timeout=2).stream_info(stream)
    assert info.cluster is not None and info.cluster.leader
    return info.cluster.leader


async def test_jetstream_r3_survives_a_node_kill(nats_cluster_factory: NatsClusterFactory) -> None:
    started = time.monotonic()
    cluster = nats_cluster_factory()
    print(f"NATS cluster ready in {time.monotonic() - started:.1f}s")
    assert cluster.url.count("nats://") == 3
    first_leader = cluster.wait_meta_leader()
    client = await _connect(*cluster.urls)
    try:
        js = client.jetstream(timeout=5)
        info = await js.add_stream(name="ORDERS", subjects=["orders.>"], num_replicas=3)
        assert info.config.num_replicas == 3
        for i in range(100):
            ack = await js.publish("orders.created", str(i).encode())
            assert ack.seq == i + 1

        # Kill the node that leads the stream (all three hold a copy).
        leader_name = await _stream_leader(client, "ORDERS")
        victim = cluster.node_named(leader_name)
        started = time.monotonic()
        cluster.kill(victim)
        assert not victim.running

        async def new_leader() -> str:
            leader = await _stream_leader(client, "ORDERS")
            if leader == leader_name:
                raise NatsTimeoutError  # still the dead one: keep asking
            return leader

        elected, failed = await eventually(new_leader, timeout=60, retried=JS_RETRIED)
        print(
            f"stream leader {leader_name} -> {elected} after {time.monotonic() - started:.1f}s "
            f"({failed} failed calls)"
        )
        meta = cluster.wait_meta_leader()
        assert meta is not victim and meta.running
        if victim is first_leader:
            print(f"meta leader {first_leader.server_name} -> {meta.server_name}")

        for i in range(100, 200):
            ack, _ = await eventually(
                js.publish, "orders.created", str(i).encode(), retried=JS_RETRIED
            )
            assert ack.seq == i + 1

        # Nothing acknowledged was lost: read the whole stream back in order.
        # Creating the R3 consumer needs a raft election of its own with one node down.
        sub, _ = await eventually(js.pull_subscribe, "orders.>", "reader", retried=JS_RETRIED)
        seen: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(seen) < 200 and time.monotonic() < deadline:
            try:
                batch = await sub.fetch(100, timeout=5)
            except NatsTimeoutError:
                continue
            for msg in batch:
                seen.append(msg.data)
                await msg.ack()
        assert seen == [str(i).encode() for i in range(200)]

        # The killed node rejoins and catches up; every peer is current again.
        cluster.restart(victim)

        async def all_current() -> bool:
            info = await js.stream_info("ORDERS")
            assert info.cluster is not None
            peers = info.cluster.replicas or []
            return len(peers) == 2 and all(p.current and not p.offline for p in peers)

        async def caught_up() -> bool:
            if not await all_current():
                raise NatsTimeoutError
            return True

        await eventually(caught_up, timeout=60, retried=JS_RETRIED)
    finally:
        await client.close()

    _assert_closes_cleanly(cluster)


def test_any_node_can_be_killed_and_restarted(nats_cluster_factory: NatsClusterFactory) -> None:
    cluster = nats_cluster_factory()
    follower: NatsClusterNode = next(
        n for n in cluster.members if n is not cluster.wait_meta_leader()
    )
    cluster.kill(follower)
    assert cluster.wait_meta_leader().running
    cluster.restart(follower)
    assert cluster.routed_peers(follower) == {
        n.server_name for n in cluster.members if n is not follower
    }
    old = cluster.kill_meta_leader()
    new = wait_for("a new meta leader", lambda: cluster.wait_meta_leader(), 60)
    assert new is not old
    cluster.restart(old)
    _assert_closes_cleanly(cluster)


def _assert_closes_cleanly(cluster: NatsCluster) -> None:
    pids = cluster.started_pids
    assert len(pids) >= 4  # 3 nodes + at least one restart
    data_dirs = [n.data_dir for n in cluster.members]
    cluster.close()
    assert [p for p in pids if pid_alive(p)] == []
    assert not any(d.exists() for d in data_dirs)

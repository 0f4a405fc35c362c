"""The test kit's nats-server: starts, enforces auth, JetStream survives restarts."""

from __future__ import annotations

import nats
import pytest

from runtime.testkit import NatsServer
from runtime.testkit.pytest_plugin import NatsFactory

pytestmark = pytest.mark.nats


async def test_shared_server_round_trip(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.subscribe("testkit.ping")
        await nc.publish("testkit.ping", b"hello")
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"hello"
    finally:
        await nc.close()


async def test_jetstream_is_available(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="TESTKIT_JS", subjects=["testkit.js.>"])
        ack = await js.publish("testkit.js.a", b"1")
        assert ack.stream == "TESTKIT_JS"
        await js.delete_stream("TESTKIT_JS")
    finally:
        await nc.close()


async def _connect_fails(url: str) -> str:
    async def quiet(_exc: Exception) -> None:
        pass

    with pytest.raises(nats.errors.Error) as failure:
        await nats.connect(url, allow_reconnect=False, error_cb=quiet)
    return str(failure.value).lower()


async def test_user_password_is_enforced(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(user="svc", password="s3cret")
    assert server.url == f"nats://svc:s3cret@{server.host}:{server.port}"
    nc = await nats.connect(server.url)
    await nc.close()
    wrong = f"nats://svc:wrong@{server.host}:{server.port}"
    assert "authorization violation" in await _connect_fails(wrong)
    assert "authorization violation" in await _connect_fails(server.plain_url)


async def test_connect_options_carry_special_characters(nats_server_factory: NatsFactory) -> None:
    # nats-py does not percent-decode URL credentials, hence connect_options().
    server = nats_server_factory(user="svc", password='p@ss w/rd:"x"')
    nc = await nats.connect(**server.connect_options())
    await nc.close()


async def test_token_is_enforced(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(token="t0ken")
    assert server.url == f"nats://t0ken@{server.host}:{server.port}"
    nc = await nats.connect(server.url)
    await nc.close()
    assert "authorization violation" in await _connect_fails(
        f"nats://bad@{server.host}:{server.port}"
    )


async def test_restart_keeps_jetstream_data(nats_server_fresh: NatsServer) -> None:
    server = nats_server_fresh
    port = server.port
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(name="KEEP", subjects=["keep.>"])
    await js.publish("keep.a", b"1")
    await nc.close()

    server.kill()
    assert not server.running
    server.restart()
    assert server.port == port

    nc = await nats.connect(server.url)
    try:
        info = await nc.jetstream().stream_info("KEEP")
        assert info.state.messages == 1
    finally:
        await nc.close()


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="token or user/password"):
        NatsServer(user="a", password="b", token="c")
    with pytest.raises(ValueError, match="both user and password"):
        NatsServer(user="a")

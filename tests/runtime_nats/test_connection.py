"""Connecting: user/password and token auth, clear errors, reconnect after a restart."""

from __future__ import annotations

import pytest

from runtime.errors import TransportError
from runtime.nats import ConnectionOptions, NatsTransport
from runtime.settings import NatsSettings, Secret
from runtime.testkit import NatsServer
from runtime.testkit.pytest_plugin import NatsFactory
from runtime.transport import Outbound
from tests.runtime_nats.helpers import FAST, collect, connect, envelope, eventually, unique

pytestmark = pytest.mark.nats

#: Fail fast in tests that expect a failure; services keep the default attempts.
ONE_TRY = ConnectionOptions(initial_attempts=1, reconnect_time_wait_s=0.05)


async def test_user_password_auth(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(user="svc", password="s3cret")
    transport = await connect(server.url)
    await transport.close()

    # Secrets with URL-special characters go in the settings, not the URL.
    settings = NatsSettings(servers=(server.plain_url,), user="svc", password=Secret("s3cret"))
    transport = await NatsTransport.connect(settings)
    await transport.close()


async def test_wrong_password_is_a_clear_error(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(user="svc", password="s3cret")
    wrong = NatsSettings.from_url(f"nats://svc:nope@{server.host}:{server.port}")
    with pytest.raises(TransportError, match="rejected the credentials") as failure:
        await NatsTransport.connect(wrong, options=ONE_TRY)
    assert "nope" not in str(failure.value)  # secrets never reach messages

    with pytest.raises(TransportError, match="rejected the credentials"):
        await NatsTransport.connect(NatsSettings.from_url(server.plain_url), options=ONE_TRY)


async def test_token_auth(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(token="t0ken")
    transport = await connect(server.url)
    await transport.close()
    bad = NatsSettings.from_url(f"nats://wrong@{server.host}:{server.port}")
    with pytest.raises(TransportError, match="rejected the credentials"):
        await NatsTransport.connect(bad, options=ONE_TRY)


async def test_unreachable_server_is_a_clear_error(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory()
    url = server.plain_url
    server.stop()
    with pytest.raises(TransportError, match=f"cannot connect to NATS at {url}"):
        await NatsTransport.connect(NatsSettings.from_url(url), options=ONE_TRY)


async def _delivered_after_restart(server: NatsServer, *, graceful: bool) -> None:
    subject = unique("evt.reconnect")
    publisher = await connect(server.url)
    consumer = await connect(server.url)
    try:
        source = consumer.source("svc", "c1", [subject], FAST)
        await source.open()
        await publisher.publish([Outbound(subject, envelope(0))])
        await collect(source, 1)

        server.restart(graceful=graceful)

        # Core NATS is at-most-once: what is published before the subscriber's
        # subscription is back may be missed, so publish until one arrives.
        async def delivered() -> bool:
            await publisher.publish([Outbound(subject, envelope(1))])
            return bool(await source.fetch(10, 100))

        await eventually(delivered, timeout=30)
        await source.close()
    finally:
        await publisher.close()
        await consumer.close()


async def test_reconnects_after_graceful_restart(nats_server_fresh: NatsServer) -> None:
    await _delivered_after_restart(nats_server_fresh, graceful=True)


async def test_reconnects_after_kill(nats_server_fresh: NatsServer) -> None:
    await _delivered_after_restart(nats_server_fresh, graceful=False)


async def test_publish_while_down_is_buffered_and_sent_on_reconnect(
    nats_server_fresh: NatsServer,
) -> None:
    server = nats_server_fresh
    subject = unique("evt.buffered")
    # A stream records the subject, so what arrives is checked whoever reconnects first.
    keeper = await connect(server.url)
    await keeper.js.add_stream(name="BUFFERED", subjects=[subject])
    await keeper.close()
    publisher = await connect(server.url)
    try:
        server.kill()
        await eventually(lambda: not publisher.nc.is_connected)
        sent = [envelope(i) for i in range(5)]
        # Returns without waiting for the server: the batch sits in the reconnect buffer.
        await publisher.publish([Outbound(subject, e) for e in sent])
        assert publisher.nc.pending_data_size > 0
        server.start()

        async def stored() -> bool:
            if not publisher.nc.is_connected:
                return False
            info = await publisher.js.stream_info("BUFFERED")
            return info.state.messages == 5

        await eventually(stored, timeout=30)
    finally:
        await publisher.close()

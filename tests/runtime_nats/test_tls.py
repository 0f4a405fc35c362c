"""NATS over TLS: trusted certificates connect; an untrusted certificate, `nats://`
against a TLS-only server and `tls://` against a plaintext one fail within the start-up
deadline with one clear line (nats-py alone waited forever after the verification error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.errors import TransportError
from runtime.nats import NatsTransport
from runtime.settings import NatsSettings, Settings
from runtime.testkit.pytest_plugin import NatsFactory
from runtime.transport import Outbound
from tests.runtime.processes import clean_env, schemabus
from tests.runtime_nats.helpers import envelope, unique
from tests.runtime_nats.tls import Certificates, TlsNatsServer, make_certificates

pytestmark = pytest.mark.nats

#: Liveness bound around each connect: a hang fails the test instead of the suite.
LIVENESS_S = 30.0
DEADLINE_S = 5.0


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls") / "server")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls") / "other", label="other")


@pytest.fixture(scope="module")
def tls_server(certificates: Certificates) -> Iterator[TlsNatsServer]:
    with TlsNatsServer(certificates) as server:
        yield server


async def _connect(settings: NatsSettings) -> NatsTransport:
    settings = replace(settings, startup_timeout_s=DEADLINE_S)
    return await asyncio.wait_for(NatsTransport.connect(settings), LIVENESS_S)


async def test_trusted_ca_connects_and_publishes(
    tls_server: TlsNatsServer, certificates: Certificates
) -> None:
    settings = replace(NatsSettings.from_url(tls_server.tls_url), tls_ca_file=str(certificates.ca))
    transport = await _connect(settings)
    try:
        await transport.publish([Outbound(unique("evt.tls"), envelope())])
    finally:
        await transport.close()


async def test_ca_from_env_turns_tls_on_for_a_nats_url(
    tls_server: TlsNatsServer, certificates: Certificates
) -> None:
    settings = Settings.from_env(
        {
            "SCHEMABUS_REDIS_URL": "none",
            "SCHEMABUS_NATS_URL": tls_server.plain_url,
            "SCHEMABUS_NATS_TLS_CA": str(certificates.ca),
        }
    )
    assert settings.nats is not None and settings.nats.tls
    transport = await _connect(settings.nats)
    await transport.close()


async def test_untrusted_certificate_fails_at_once(tls_server: TlsNatsServer) -> None:
    with pytest.raises(TransportError) as failure:
        await _connect(NatsSettings.from_url(tls_server.tls_url))
    message = str(failure.value)
    assert "\n" not in message
    assert f"NATS at {tls_server.tls_url} presented a TLS certificate" in message
    assert "SCHEMABUS_NATS_TLS_CA" in message


async def test_certificate_signed_by_another_ca(
    tls_server: TlsNatsServer, other_ca: Certificates
) -> None:
    settings = replace(NatsSettings.from_url(tls_server.tls_url), tls_ca_file=str(other_ca.ca))
    with pytest.raises(TransportError, match=f"that {other_ca.ca} did not sign"):
        await _connect(settings)


async def test_plain_url_against_tls_only_server(tls_server: TlsNatsServer) -> None:
    with pytest.raises(TransportError) as failure:
        await _connect(NatsSettings.from_url(tls_server.plain_url))
    message = str(failure.value)
    assert "requires TLS" in message and "use tls://" in message


async def test_tls_url_against_plaintext_server_is_refused(
    nats_server_factory: NatsFactory,
) -> None:
    """nats-py would silently stay in plaintext: TLS asked for is TLS or an error."""
    server = nats_server_factory(jetstream=False)
    with pytest.raises(TransportError, match="accepted a plaintext connection"):
        await _connect(NatsSettings.from_url(f"tls://{server.host}:{server.port}"))


def test_schemabus_run_prints_one_line(tls_server: TlsNatsServer, tmp_path: Path) -> None:
    """The real CLI: no hang, no per-attempt warnings, one line, exit 2."""
    env = clean_env(
        SCHEMABUS_REDIS_URL="none",
        SCHEMABUS_NATS_URL=tls_server.plain_url,
        SCHEMABUS_STARTUP_TIMEOUT_S=str(DEADLINE_S),
    )
    done = schemabus("run", "payment", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("schemabus: NATS at "), done.stderr
    assert "requires TLS" in lines[0]


def test_refused_connection_counts_its_attempts() -> None:
    """Three attempts made, three reported; no JSON warning line per attempt."""
    env = clean_env(SCHEMABUS_REDIS_URL="none", SCHEMABUS_NATS_URL="nats://127.0.0.1:1")
    done = schemabus("run", "payment", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot connect to NATS at nats://127.0.0.1:1 after 3 attempts" in lines[0]

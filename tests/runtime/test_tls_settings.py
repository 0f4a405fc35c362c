"""TLS files are never ignored: with `redis://` (or `nats://`) they turn TLS on, for Redis
and NATS alike, instead of the client silently connecting in plaintext.

The test kit's redis-server has no TLS support, so the Redis side is proved the other way
round: a plaintext server with a CA configured is refused (the client really attempted
TLS) within the deadline, with a line that says why.
"""

from __future__ import annotations

import pytest

from runtime import cli
from runtime.settings import NatsSettings, RedisSettings, Settings
from tests.runtime_nats.tls import Certificates, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("variable", ["CA", "CERT", "KEY"])
def test_any_tls_file_turns_tls_on_for_redis_and_nats(variable: str) -> None:
    s = Settings.from_env(
        {
            "SCHEMABUS_REDIS_URL": "redis://cache:6379/0",
            f"SCHEMABUS_REDIS_TLS_{variable}": "/etc/tls/file.pem",
            "SCHEMABUS_NATS_URL": "nats://n:4222",
            f"SCHEMABUS_NATS_TLS_{variable}": "/etc/tls/file.pem",
        }
    )
    assert s.redis is not None and s.nats is not None
    assert s.redis.uses_tls and s.redis.url.startswith("rediss://")
    assert s.redis.client_kwargs()["ssl"] is True
    assert s.nats.uses_tls


def test_without_files_the_scheme_decides() -> None:
    assert not RedisSettings.from_url("redis://h").uses_tls
    assert RedisSettings.from_url("rediss://h").uses_tls
    assert "ssl" not in RedisSettings.from_url("redis://h").client_kwargs()
    assert not NatsSettings.from_url("nats://h").uses_tls
    assert NatsSettings.from_url("tls://h").uses_tls
    # Set in code rather than from the environment, a CA file counts just the same.
    assert RedisSettings(tls_ca_file="/ca.pem").client_kwargs()["ssl_ca_certs"] == "/ca.pem"
    assert NatsSettings(tls_ca_file="/ca.pem").uses_tls


@pytest.mark.redis
def test_redis_url_with_a_ca_never_talks_plaintext(
    redis_url: str,
    certificates: Certificates,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--redis-url redis://...` plus SCHEMABUS_REDIS_TLS_CA against a plaintext server:
    the TLS handshake is attempted and the command fails, rather than succeeding in
    plaintext (the old behaviour)."""
    monkeypatch.setenv("SCHEMABUS_REDIS_TLS_CA", str(certificates.ca))
    monkeypatch.setenv("SCHEMABUS_STARTUP_TIMEOUT_S", "1")
    code = cli.main(["--redis-url", redis_url, "status"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "rediss://" in err and "speaks TLS" in err


@pytest.mark.nats
async def test_nats_ca_in_code_against_a_plaintext_server_is_refused(
    nats_url: str, certificates: Certificates
) -> None:
    from runtime.errors import TransportError
    from runtime.nats import NatsTransport

    settings = NatsSettings(
        servers=(nats_url,), tls_ca_file=str(certificates.ca), startup_timeout_s=5
    )
    with pytest.raises(TransportError, match="accepted a plaintext connection"):
        await NatsTransport.connect(settings)

from __future__ import annotations

import pytest

from runtime.errors import ConfigError
from runtime.settings import NatsSettings, RedisSettings, Secret, Settings


def test_redis_url_parts() -> None:
    s = RedisSettings.from_url("rediss://app:p%40ss@cache.example:6380/3")
    assert (s.host, s.port, s.db, s.username, s.tls) == ("cache.example", 6380, 3, "app", True)
    assert s.password is not None and s.password.get() == "p@ss"
    kwargs = s.client_kwargs()
    assert kwargs["password"] == "p@ss" and kwargs["ssl"] is True
    assert "p@ss" not in repr(s) and "p@ss" not in s.url and "***" in s.url


def test_redis_url_defaults_and_errors() -> None:
    s = RedisSettings.from_url("redis://localhost")
    assert (s.port, s.db, s.password, s.tls) == (6379, 0, None, False)
    with pytest.raises(ConfigError, match="redis://"):
        RedisSettings.from_url("http://x")
    with pytest.raises(ConfigError) as info:
        RedisSettings.from_url("redis://:hunter2@h/notanumber")
    assert "hunter2" not in str(info.value)


def test_nats_servers_and_auth() -> None:
    s = NatsSettings.from_url("nats://u:pw@a:4222, b:4223,tls://c")
    assert s.servers == ("nats://a:4222", "nats://b:4223", "tls://c:4222")
    assert s.user == "u" and s.password == Secret("pw") and s.tls
    assert "pw" not in repr(s)
    t = NatsSettings.from_url("nats://tok3n@a")
    assert t.token is not None and t.token.get() == "tok3n" and "tok3n" not in repr(t)
    with pytest.raises(ConfigError):
        NatsSettings.from_url(" , ")


def test_from_env() -> None:
    s = Settings.from_env(
        {
            "SCHEMABUS_REDIS_URL": "redis://:pw@r:7000/2",
            "SCHEMABUS_NATS_URL": "nats://n1:4222,nats://n2:4222",
            "SCHEMABUS_NATS_USER": "svc",
            "SCHEMABUS_NATS_PASSWORD": "npw",
            "SCHEMABUS_NATS_CREDS": "/etc/svc.creds",
            "SCHEMABUS_NATS_TLS_CA": "/etc/ca.pem",
            "SCHEMABUS_BATCH": "50",
        }
    )
    assert s.redis is not None and (s.redis.port, s.redis.db) == (7000, 2)
    assert s.nats is not None and s.nats.user == "svc" and s.nats.creds_file == "/etc/svc.creds"
    assert s.nats.tls and s.nats.tls_ca_file == "/etc/ca.pem"
    assert s.consumer.batch == 50
    text = repr(s)
    assert "pw" not in text.replace("password", "") and "npw" not in text


def test_from_env_defaults_and_bad_numbers() -> None:
    s = Settings.from_env({})
    assert s.redis is not None and s.redis.host == "localhost" and s.nats is None
    assert Settings.from_env({"SCHEMABUS_REDIS_URL": "none"}).redis is None
    with pytest.raises(ConfigError, match="SCHEMABUS_BATCH"):
        Settings.from_env({"SCHEMABUS_BATCH": "lots"})
    with pytest.raises(ConfigError, match="positive"):
        Settings.from_env({"SCHEMABUS_CONCURRENCY": "0"})

"""Settings added for bounded start-up, TLS consistency and size limits."""

from __future__ import annotations

import pytest

from runtime.errors import ConfigError
from runtime.settings import DEFAULT_STARTUP_TIMEOUT_S, Settings


def test_startup_timeout_defaults_and_env() -> None:
    s = Settings.from_env({"SCHEMABUS_NATS_URL": "nats://n:4222"})
    assert s.redis is not None and s.nats is not None
    assert s.redis.startup_timeout_s == s.nats.startup_timeout_s == DEFAULT_STARTUP_TIMEOUT_S
    s = Settings.from_env(
        {"SCHEMABUS_NATS_URL": "nats://n:4222", "SCHEMABUS_STARTUP_TIMEOUT_S": "2.5"}
    )
    assert s.redis is not None and s.nats is not None
    assert s.redis.startup_timeout_s == s.nats.startup_timeout_s == 2.5


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "nan", "inf"])
def test_startup_timeout_must_be_a_positive_number(raw: str) -> None:
    with pytest.raises(ConfigError, match="SCHEMABUS_STARTUP_TIMEOUT_S"):
        Settings.from_env({"SCHEMABUS_STARTUP_TIMEOUT_S": raw})

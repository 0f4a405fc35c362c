"""Connection and consumer settings, from URLs and the environment.

Secrets (passwords, tokens) are held in `Secret`, whose repr and str never show the
value, so settings can be logged and printed safely.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

from runtime.constants import IDEMPOTENCY_TTL_S, MAX_PAYLOAD_BYTES
from runtime.errors import ConfigError

#: Room for the envelope's own fields beside a payload at the size limit.
ENVELOPE_HEADROOM = 65_536

#: Default deadline of every start-up and health path (SCHEMABUS_STARTUP_TIMEOUT_S).
DEFAULT_STARTUP_TIMEOUT_S = 10.0


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


#: How the runtime reaches Redis: one server, a Redis Cluster, or a primary found through
#: Sentinels (the URL scheme picks it: redis[s]://, redis+cluster://, redis+sentinel://).
RedisMode = Literal["single", "cluster", "sentinel"]
_MODE_OF_SCHEME: dict[str, tuple[RedisMode, bool]] = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "redis+cluster": ("cluster", False),
    "redis+sentinel": ("sentinel", False),
}
_SCHEME_OF_MODE = {"cluster": "redis+cluster", "sentinel": "redis+sentinel"}
_URL_FORMS = (
    "redis://host[:port][/db], rediss://... (TLS), redis+cluster://host:port[,host:port...] "
    "or redis+sentinel://host:port[,host:port...]/<master>[/db]"
)
DEFAULT_REDIS_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class RedisSettings:
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    #: "single" (host/port), "cluster" (`nodes` are seed nodes) or "sentinel" (`nodes` are
    #: the Sentinels watching `master_name`). host/port repeat the first node.
    mode: RedisMode = "single"
    nodes: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    #: AUTH for the Sentinels themselves (the URL's credentials are for the data nodes).
    sentinel_password: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_verify: bool = True
    # No per-command timeout by default: redis-py arms a timer per send and per read,
    # measurably slowing every command. Dead peers are found by TCP keepalive instead
    # (about 25 s), connection refusals and resets at once.
    socket_timeout_s: float | None = None
    connect_timeout_s: float = 10.0
    # Start-up and health paths get a deadline instead (asyncio timeouts, no per-command
    # timer on the hot path): the first connection (TCP, TLS, AUTH/HELLO, PING) and every
    # command of `schemabus status` / `schemabus dlq`. A server that accepts TCP but never
    # answers (stopped, or a proxy without a backend) then fails with one clear line.
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    keepalive: bool = True
    max_connections: int = 64
    # Publishing refuses an event whose stream entry (all fields) is larger; the same
    # SCHEMABUS_MAX_PAYLOAD_BYTES as ConsumerSettings.max_payload_bytes, so that what one
    # service publishes the others accept.
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    # Streams with `durability: replicated`: how long a publish or an ack waits for a
    # replica's acknowledgement (WAIT) before it counts as not replicated and is retried.
    replica_wait_ms: int = 1000

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> RedisSettings:
        """Parse `redis://[user[:password]@]host[:port][/db]`, `rediss://...` (TLS),
        `redis+cluster://[user[:password]@]host:port[,host:port...]` or
        `redis+sentinel://[user[:password]@]host:port[,host:port...]/<master>[/db]`."""
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in _MODE_OF_SCHEME:
            if scheme.lower() in ("rediss+cluster", "rediss+sentinel"):
                raise ConfigError(
                    f"TLS to a Redis Cluster or Sentinel is not supported yet, got "
                    f"{_redact(url)!r}; use {scheme.lower().replace('rediss', 'redis')}://"
                )
            raise ConfigError(f"Redis URL must look like {_URL_FORMS}; got {_redact(url)!r}")
        mode, tls = _MODE_OF_SCHEME[scheme.lower()]
        if mode == "single":
            settings = _single_from_url(cls, url, tls)
        else:
            settings = _multi_from_url(cls, url, mode, rest)
        return replace(settings, **overrides)

    @property
    def uses_tls(self) -> bool:
        """`rediss://`, or any TLS file given: a CA, certificate or key is never ignored
        (connecting in plaintext while TLS files are configured would be silent)."""
        return self.tls or bool(self.tls_ca_file or self.tls_cert_file or self.tls_key_file)

    @property
    def url(self) -> str:
        """The URL without its password, fit for logs."""
        auth = (
            f"{self.username or ''}{':***' if self.password else ''}@"
            if (self.username or self.password)
            else ""
        )
        if self.mode == "single":
            scheme = "rediss" if self.uses_tls else "redis"
            return f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"
        hosts = ",".join(_host_port(h, p) for h, p in self.nodes)
        if self.mode == "cluster":
            return f"redis+cluster://{auth}{hosts}"
        return f"redis+sentinel://{auth}{hosts}/{self.master_name}/{self.db}"

    def connection_kwargs(self) -> dict[str, Any]:
        """What every connection gets, whatever the mode: auth, timeouts, keepalive."""
        kwargs: dict[str, Any] = {
            "username": self.username,
            "password": self.password.get() if self.password else None,
            "socket_timeout": self.socket_timeout_s,
            "socket_connect_timeout": self.connect_timeout_s,
            "socket_keepalive": self.keepalive,
            "socket_keepalive_options": _keepalive_options() if self.keepalive else None,
            "decode_responses": False,
        }
        if self.uses_tls:
            kwargs["ssl"] = True
            kwargs["ssl_ca_certs"] = self.tls_ca_file
            kwargs["ssl_certfile"] = self.tls_cert_file
            kwargs["ssl_keyfile"] = self.tls_key_file
            kwargs["ssl_cert_reqs"] = "required" if self.tls_verify else "none"
        return kwargs

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `redis.asyncio.Redis(...)` (single-server mode only; every
        mode: `runtime.redis_conn.make_client(settings)`)."""
        if self.mode != "single":
            raise ConfigError(
                f"{_SCHEME_OF_MODE[self.mode]}:// URLs need a cluster/sentinel client: build "
                "it with runtime.redis_conn.make_client(settings)"
            )
        return {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            **self.connection_kwargs(),
            "max_connections": self.max_connections,
        }


def _single_from_url(cls: type[RedisSettings], url: str, tls: bool) -> RedisSettings:
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    try:
        db = int(path) if path else 0
        port = parts.port or DEFAULT_REDIS_PORT
    except ValueError:
        raise ConfigError(f"bad port or database number in Redis URL {_redact(url)!r}") from None
    return cls(
        host=parts.hostname or "localhost",
        port=port,
        db=db,
        username=unquote(parts.username) if parts.username else None,
        password=_secret(unquote(parts.password) if parts.password else None),
        tls=tls,
    )


def _multi_from_url(
    cls: type[RedisSettings], url: str, mode: RedisMode, rest: str
) -> RedisSettings:
    """redis+cluster:// and redis+sentinel://: a node list, then mode-specific path."""
    netloc, _, path = rest.partition("/")
    path, _, _query = path.partition("?")
    userinfo, at, hostlist = netloc.rpartition("@")
    if not at:
        userinfo, hostlist = "", netloc
    username, _, password = userinfo.partition(":")
    default_port = DEFAULT_SENTINEL_PORT if mode == "sentinel" else DEFAULT_REDIS_PORT
    nodes = tuple(_parse_node(item, default_port, url) for item in hostlist.split(","))
    segments = [unquote(p) for p in path.split("/") if p]
    master_name: str | None = None
    db = 0
    if mode == "cluster":
        if segments not in ([], ["0"]):
            raise ConfigError(
                f"a Redis Cluster has only database 0; drop {'/' + '/'.join(segments)!r} "
                f"from {_redact(url)!r}"
            )
    else:
        if not segments or len(segments) > 2:
            raise ConfigError(
                f"a Sentinel URL names the master: redis+sentinel://host:port[,host:port...]"
                f"/<master>[/db], got {_redact(url)!r}"
            )
        master_name = segments[0]
        if len(segments) == 2:
            try:
                db = int(segments[1])
            except ValueError:
                raise ConfigError(
                    f"bad database number {segments[1]!r} in Redis URL {_redact(url)!r}"
                ) from None
    return cls(
        host=nodes[0][0],
        port=nodes[0][1],
        db=db,
        mode=mode,
        nodes=nodes,
        master_name=master_name,
        username=unquote(username) or None,
        password=_secret(unquote(password) or None),
    )


def _parse_node(item: str, default_port: int, url: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [IPv6]:port
        host, _, tail = item[1:].partition("]")
        port_text = tail.removeprefix(":")
    elif item.count(":") == 1:
        host, _, port_text = item.partition(":")
    else:
        host, port_text = item, ""
    if not host:
        raise ConfigError(f"empty host in the node list of Redis URL {_redact(url)!r}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigError(f"bad port {port_text!r} in Redis URL {_redact(url)!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} out of range in Redis URL {_redact(url)!r}")
    return host, port


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class NatsSettings:
    servers: tuple[str, ...] = ("nats://localhost:4222",)
    user: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    creds_file: str | None = None
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    name: str | None = None
    connect_timeout_s: float = 2.0  # per attempt (nats-py's connect_timeout)
    # The whole first connection, all attempts included: nats-py has no overall bound and
    # can wait forever (e.g. after a TLS verification failure).
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    max_reconnect_attempts: int = -1  # forever: a service outlives broker restarts

    @property
    def uses_tls(self) -> bool:
        """`tls://` (or `wss://`), or any TLS file given; TLS asked for is then enforced."""
        return self.tls or bool(self.tls_ca_file or self.tls_cert_file or self.tls_key_file)

    @classmethod
    def from_url(cls, urls: str, **overrides: Any) -> NatsSettings:
        """Parse a comma-separated server list; `user:password@` or `token@` in a URL is
        lifted into the settings (and removed from the stored server URLs)."""
        servers: list[str] = []
        user: str | None = None
        password: str | None = None
        token: str | None = None
        tls = False
        for raw in (u.strip() for u in urls.split(",")):
            if not raw:
                continue
            if "://" not in raw:
                raw = "nats://" + raw
            parts = urlsplit(raw)
            if parts.scheme not in ("nats", "tls", "ws", "wss"):
                raise ConfigError(
                    f"NATS URL must start with nats:// or tls://, got {_redact(raw)!r}"
                )
            tls = tls or parts.scheme in ("tls", "wss")
            if parts.username and parts.password:
                user, password = unquote(parts.username), unquote(parts.password)
            elif parts.username:
                token = unquote(parts.username)
            try:
                port = parts.port or 4222
            except ValueError:
                raise ConfigError(f"bad port in NATS URL {_redact(raw)!r}") from None
            servers.append(f"{parts.scheme}://{parts.hostname or 'localhost'}:{port}")
        if not servers:
            raise ConfigError("NATS server list is empty")
        return replace(
            cls(
                servers=tuple(servers),
                user=user,
                password=_secret(password),
                token=_secret(token),
                tls=tls,
            ),
            **overrides,
        )


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """How a service consumes. Defaults suit most services; the benchmark tunes batch."""

    batch: int = 200  # XREADGROUP COUNT
    block_ms: int = 1000  # XREADGROUP BLOCK; also bounds how fast stop() is noticed
    concurrency: int = 32  # aggregates handled in parallel
    visibility_timeout_ms: int = 30_000  # idle time after which another consumer reclaims
    reclaim_interval_ms: int = 5_000
    max_payload_bytes: int = MAX_PAYLOAD_BYTES  # larger entries are dead-lettered as oversized
    # Which deliveries are checked against idempotency markers before the handler runs:
    # "always" (also catches duplicate publishes, e.g. a publisher retry after a dropped
    # connection), "redelivered" (only deliveries with attempts > 1), "off". The check
    # rides in the same round trip as the previous batch's acks. Staged effects are
    # exactly-once in every mode: the settle script skips them for completed events.
    dedupe: Literal["always", "redelivered", "off"] = "always"
    idempotency_ttl_s: int = IDEMPOTENCY_TTL_S
    # A handler still running after this long is cancelled and counts as a failed attempt,
    # so one hung call cannot stall the consumer. 0 disables it.
    handler_timeout_ms: int = 60_000
    # Partition ownership (coordinated sources, see runtime/ownership.py). A member renews
    # its leases and heartbeat every `heartbeat_ms`; a member that stops (SIGKILL, a lost
    # host) has its partitions taken over once `lease_ttl_ms` passed without a renewal.
    lease_ttl_ms: int = 3_000
    heartbeat_ms: int = 1_000
    # Entries read from one partition and not yet settled: a hanging aggregate can hold
    # back at most this many entries of its partition before reading pauses.
    max_inflight: int = 1_000
    # Bounds on what one read may bring into memory: an entry larger than `max_entry_bytes`
    # (all fields) arrives as a bounded stand-in and is dead-lettered as oversized; a read
    # stops adding entries once `max_batch_bytes` is reached (the rest follow next read).
    max_entry_bytes: int = MAX_PAYLOAD_BYTES + ENVELOPE_HEADROOM
    max_batch_bytes: int = 16 * 1_048_576

    def __post_init__(self) -> None:
        if self.heartbeat_ms >= self.lease_ttl_ms:
            raise ConfigError(
                f"the heartbeat ({self.heartbeat_ms} ms) must be shorter than the lease TTL "
                f"({self.lease_ttl_ms} ms), or leases expire between renewals; "
                "set SCHEMABUS_HEARTBEAT_MS to about a third of SCHEMABUS_LEASE_TTL_MS"
            )


@dataclass(frozen=True, slots=True)
class Settings:
    redis: RedisSettings | None = field(default_factory=RedisSettings)
    nats: NatsSettings | None = None
    consumer: ConsumerSettings = field(default_factory=ConsumerSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `SCHEMABUS_*` variables (see README "Configuration").

        SCHEMABUS_REDIS_URL (or REDIS_URL; the literal `none` disables Redis; also
        redis+cluster:// and redis+sentinel:// URLs), SCHEMABUS_REDIS_SENTINEL_PASSWORD,
        SCHEMABUS_REDIS_TLS_CA / _TLS_CERT / _TLS_KEY (any of them turns TLS on, as the
        NATS ones do for NATS: a configured CA is never silently ignored),
        SCHEMABUS_NATS_URL (comma-separated; unset = no NATS), SCHEMABUS_NATS_USER,
        SCHEMABUS_NATS_PASSWORD, SCHEMABUS_NATS_TOKEN, SCHEMABUS_NATS_CREDS,
        SCHEMABUS_NATS_TLS_CA / _TLS_CERT / _TLS_KEY,
        SCHEMABUS_BATCH, SCHEMABUS_BLOCK_MS, SCHEMABUS_CONCURRENCY,
        SCHEMABUS_VISIBILITY_TIMEOUT_MS, SCHEMABUS_MAX_PAYLOAD_BYTES,
        SCHEMABUS_HANDLER_TIMEOUT_MS, SCHEMABUS_DEDUPE, SCHEMABUS_STARTUP_TIMEOUT_S,
        SCHEMABUS_REPLICA_WAIT_MS.
        """
        e = os.environ if env is None else env
        startup = _float(e, "SCHEMABUS_STARTUP_TIMEOUT_S", DEFAULT_STARTUP_TIMEOUT_S)
        max_payload = _int(e, "SCHEMABUS_MAX_PAYLOAD_BYTES", MAX_PAYLOAD_BYTES)
        return cls(
            redis=_redis_from_env(e, startup, max_payload),
            nats=_nats_from_env(e, startup),
            consumer=_consumer_from_env(e, max_payload),
        )


def _redis_from_env(e: Mapping[str, str], startup: float, max_payload: int) -> RedisSettings | None:
    url = e.get("SCHEMABUS_REDIS_URL") or e.get("REDIS_URL") or "redis://localhost:6379/0"
    if url.lower() == "none":
        return None
    redis = RedisSettings.from_url(url)
    return replace(
        redis,
        tls_ca_file=e.get("SCHEMABUS_REDIS_TLS_CA"),
        tls_cert_file=e.get("SCHEMABUS_REDIS_TLS_CERT"),
        tls_key_file=e.get("SCHEMABUS_REDIS_TLS_KEY"),
        startup_timeout_s=startup,
        max_payload_bytes=max_payload,
        sentinel_password=_secret(e.get("SCHEMABUS_REDIS_SENTINEL_PASSWORD")),
        replica_wait_ms=_int(e, "SCHEMABUS_REPLICA_WAIT_MS", redis.replica_wait_ms),
    )


def _nats_from_env(e: Mapping[str, str], startup: float) -> NatsSettings | None:
    url = e.get("SCHEMABUS_NATS_URL")
    if not url:
        return None
    overrides: dict[str, Any] = {}
    if v := e.get("SCHEMABUS_NATS_USER"):
        overrides["user"] = v
    if v := e.get("SCHEMABUS_NATS_PASSWORD"):
        overrides["password"] = Secret(v)
    if v := e.get("SCHEMABUS_NATS_TOKEN"):
        overrides["token"] = Secret(v)
    if v := e.get("SCHEMABUS_NATS_CREDS"):
        overrides["creds_file"] = v
    for name, key in (("CA", "tls_ca_file"), ("CERT", "tls_cert_file"), ("KEY", "tls_key_file")):
        if v := e.get(f"SCHEMABUS_NATS_TLS_{name}"):
            overrides[key] = v
            overrides["tls"] = True
    return replace(NatsSettings.from_url(url), startup_timeout_s=startup, **overrides)


def _consumer_from_env(e: Mapping[str, str], max_payload: int) -> ConsumerSettings:
    d = ConsumerSettings()
    dedupe = e.get("SCHEMABUS_DEDUPE", d.dedupe)
    if dedupe not in ("always", "redelivered", "off"):
        raise ConfigError(f"SCHEMABUS_DEDUPE must be always, redelivered or off, got {dedupe!r}")
    return ConsumerSettings(
        batch=_int(e, "SCHEMABUS_BATCH", d.batch),
        block_ms=_int(e, "SCHEMABUS_BLOCK_MS", d.block_ms),
        concurrency=_int(e, "SCHEMABUS_CONCURRENCY", d.concurrency),
        visibility_timeout_ms=_int(e, "SCHEMABUS_VISIBILITY_TIMEOUT_MS", d.visibility_timeout_ms),
        max_payload_bytes=max_payload,
        # The whole entry may carry the envelope's fields beside a payload at the limit.
        max_entry_bytes=max(d.max_entry_bytes, max_payload + ENVELOPE_HEADROOM),
        handler_timeout_ms=_int(e, "SCHEMABUS_HANDLER_TIMEOUT_MS", d.handler_timeout_ms),
        lease_ttl_ms=_int(e, "SCHEMABUS_LEASE_TTL_MS", d.lease_ttl_ms),
        heartbeat_ms=_int(e, "SCHEMABUS_HEARTBEAT_MS", d.heartbeat_ms),
        max_inflight=_int(e, "SCHEMABUS_MAX_INFLIGHT", d.max_inflight),
        dedupe=cast(Literal["always", "redelivered", "off"], dedupe),
    )


def _keepalive_options() -> dict[int, int]:
    """Probe an idle connection after 10 s, every 5 s, give up after 3 misses."""
    options: dict[int, int] = {}
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):  # Linux; other systems keep their defaults
            options[getattr(socket, name)] = value
    return options


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _redact(url: str) -> str:
    """Hide the password part of a URL for error messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    if parts.username and "@" in url:
        return url.replace(f"{parts.username}@", "***@", 1)
    return url

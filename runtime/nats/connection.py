"""Opening a nats-py connection from `NatsSettings`: auth, TLS, reconnects, buffering.

nats-py uses one `max_reconnect_attempts` for the first connection and for reconnects;
with "forever" a wrong password or a missing server would hang start-up. So the first
connection gets a few attempts and fails with a clear error, and only then is the limit
raised to the settings' value (forever by default) for the life of the connection.

The first connection is also bounded as a whole (`NatsSettings.startup_timeout_s`):
nats-py has no overall deadline and, after a failed TLS verification, waits forever for
its own transport to close. An untrusted certificate or rejected credentials end it at
once, since no retry fixes them. TLS asked for (tls:// or TLS files) is enforced: nats-py
would otherwise stay in plaintext with a server that does not require TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client

from runtime.errors import ConfigError, TransportError
from runtime.nats.fastclient import FastClient
from runtime.settings import NatsSettings

log = logging.getLogger("schemabus.nats")


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """Client tuning the settings do not carry (the defaults suit services and tests)."""

    #: Attempts per server for the first connection before giving up with an error.
    initial_attempts: int = 3
    #: Wait between reconnect attempts to the same server.
    reconnect_time_wait_s: float = 0.5
    #: Publishes made while disconnected are buffered up to this many bytes and sent on
    #: reconnect; beyond it publish fails instead of using unbounded memory.
    pending_size: int = 8 * 1024 * 1024
    #: Client PINGs detect a dead TCP connection (a killed server) within about
    #: ping_interval * max_outstanding_pings.
    ping_interval_s: int = 5
    max_outstanding_pings: int = 2


class LinkWatch:
    """Tells waiters when the connection drops.

    nats-py forgets a PING that was in flight when the connection died, so a flush would
    wait for its whole timeout; a publisher waits for the flush or the loss, whichever
    comes first.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def next_loss(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        waiter.add_done_callback(self._waiters.discard)
        return waiter

    def lost(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)


async def flush_in_order(nc: Client, timeout_s: float = 10.0) -> None:
    """Return once the server has processed everything sent on `nc` so far.

    nats-py's `flush()` writes its PING straight to the socket while SUB and PUB commands
    may still wait in the client's pending buffer, so the PONG can come back before the
    server saw them (a subscription then misses a publish made right after "flushing").
    Writing the pending buffer first restores the ordering.
    """
    write_pending = getattr(nc, "_flush_pending", None)
    if write_pending is not None and nc.is_connected:
        try:
            await asyncio.wait_for(write_pending(force_flush=True), timeout_s)
        except TimeoutError:
            raise nats.errors.FlushTimeoutError from None
    await nc.flush(timeout=math.ceil(timeout_s))


def _tls_context(settings: NatsSettings) -> ssl.SSLContext | None:
    if not settings.uses_tls:
        return None
    ctx = ssl.create_default_context(cafile=settings.tls_ca_file)
    if settings.tls_cert_file:
        ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return ctx


def client_options(settings: NatsSettings, options: ConnectionOptions) -> dict[str, Any]:
    """Keyword arguments for `nats.connect`, secrets included (never log them)."""
    kwargs: dict[str, Any] = {
        "servers": list(settings.servers),
        "name": settings.name,
        "connect_timeout": settings.connect_timeout_s,
        "reconnect_time_wait": options.reconnect_time_wait_s,
        "max_reconnect_attempts": options.initial_attempts,
        "pending_size": options.pending_size,
        "ping_interval": options.ping_interval_s,
        "max_outstanding_pings": options.max_outstanding_pings,
        # Fixed order: with one server it changes nothing, with several it makes
        # failover predictable in tests and logs.
        "dont_randomize": True,
    }
    if settings.user is not None and settings.password is not None:
        kwargs["user"] = settings.user
        kwargs["password"] = settings.password.get()
    elif settings.token is not None:
        kwargs["token"] = settings.token.get()
    if settings.creds_file:
        kwargs["user_credentials"] = settings.creds_file
    tls = _tls_context(settings)
    if tls is not None:
        kwargs["tls"] = tls
    return kwargs


async def open_client(
    settings: NatsSettings,
    options: ConnectionOptions | None = None,
    watch: LinkWatch | None = None,
) -> Client:
    """Connect, or raise `TransportError` naming the server and the cause.

    The whole first connection is bounded by `settings.startup_timeout_s`, and errors no
    retry can fix (an untrusted certificate, rejected credentials) end it at once:
    nats-py itself may wait forever after a TLS verification failure. Failed attempts
    are summed up in the one error line instead of being logged one by one.

    Long: the callbacks nats-py calls share this one connection's attempt bookkeeping, so
    they live here rather than being spread over module functions with shared state.
    """
    options = options or ConnectionOptions()
    where = ", ".join(settings.servers)
    try:
        kwargs = client_options(settings, options)
    except OSError as exc:  # a missing or unreadable TLS file
        raise ConfigError(
            f"cannot load the NATS TLS files: {exc}; check SCHEMABUS_NATS_TLS_CA, "
            "SCHEMABUS_NATS_TLS_CERT and SCHEMABUS_NATS_TLS_KEY"
        ) from None
    # Only the last few errors matter (for the start-up message); a long-lived
    # connection must not accumulate every reconnect error.
    errors: deque[Exception] = deque(maxlen=8)
    attempts = _Attempts(options.initial_attempts * len(settings.servers))

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        if attempts.connecting:
            attempts.failed(exc)
            return
        log.warning("NATS error: %s", exc)

    # The callbacks may run before `nats.connect` returns the client.
    client: list[Client] = []

    async def on_disconnected() -> None:
        if watch is not None:
            watch.lost()
        if not client or client[0].is_closed or client[0].is_draining:
            return  # a failed first connection (reported once, at the end) or our close()
        log.warning("disconnected from NATS; reconnecting (publishes are buffered)")

    async def on_reconnected() -> None:
        url = client[0].connected_url if client else None
        log.info("reconnected to NATS at %s", url.netloc if url else "?")

    # What `nats.connect` does, with the cheaper header codec (runtime/nats/fastclient.py).
    nc = FastClient()
    connecting = asyncio.ensure_future(
        nc.connect(
            **kwargs,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    )
    try:
        await asyncio.wait(
            [connecting, attempts.given_up],
            timeout=settings.startup_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
    except BaseException:
        await _abandon(nc, connecting)
        raise
    attempts.connecting = False
    if not connecting.done() or connecting.cancelled() or connecting.exception() is not None:
        failure = None
        if connecting.done() and not connecting.cancelled():
            failure = connecting.exception()
        await _abandon(nc, connecting)
        raise TransportError(_failure_line(settings, where, attempts, failure, list(errors)))
    if settings.uses_tls and not _uses_tls(nc):
        await _abandon(nc, connecting)
        raise TransportError(
            f"NATS at {where} accepted a plaintext connection, but TLS was asked for "
            "(tls:// or SCHEMABUS_NATS_TLS_*): enable TLS on the server, or use nats:// "
            "without TLS files"
        )
    if attempts.count:
        log.info("connected to NATS at %s after %d failed attempts", where, attempts.count)
    client.append(nc)
    # From now on keep reconnecting as the settings say (forever by default).
    nc.options["max_reconnect_attempts"] = settings.max_reconnect_attempts
    return nc


class _Attempts:
    """Failed attempts of the first connection; gives up after `limit`, or at once on an
    error that no retry can fix."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.count = 0
        self.connecting = True
        self.fatal: Exception | None = None
        self.given_up: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def failed(self, exc: Exception) -> None:
        self.count += 1
        if _is_fatal(exc):
            self.fatal = self.fatal or exc
        if (self.fatal is not None or self.count >= self.limit) and not self.given_up.done():
            self.given_up.set_result(None)


def _is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLCertVerificationError) or _is_auth(exc)


def _is_auth(exc: BaseException) -> bool:
    return isinstance(exc, nats.errors.AuthorizationError) or (
        "authorization violation" in str(exc).lower()
    )


def _failure_line(
    settings: NatsSettings,
    where: str,
    attempts: _Attempts,
    failure: BaseException | None,
    errors: list[Exception],
) -> str:
    causes: list[BaseException] = [e for e in (attempts.fatal, failure, *errors) if e is not None]
    if any(_is_auth(e) for e in causes):
        return (
            f"NATS at {where} rejected the credentials (Authorization Violation); "
            "check the user/password or token (SCHEMABUS_NATS_URL, SCHEMABUS_NATS_USER, "
            "SCHEMABUS_NATS_PASSWORD, SCHEMABUS_NATS_TOKEN)"
        )
    untrusted = next((e for e in causes if isinstance(e, ssl.SSLCertVerificationError)), None)
    if untrusted is not None:
        reason = untrusted.verify_message or str(untrusted)
        if not settings.uses_tls:
            return (
                f"NATS at {where} requires TLS and its certificate is not trusted ({reason}): "
                "use tls:// and set SCHEMABUS_NATS_TLS_CA to the CA file that signed the "
                "server's certificate"
            )
        if settings.tls_ca_file:
            return (
                f"NATS at {where} presented a TLS certificate that {settings.tls_ca_file} did "
                f"not sign ({reason}): check SCHEMABUS_NATS_TLS_CA"
            )
        return (
            f"NATS at {where} presented a TLS certificate this client does not trust "
            f"({reason}): set SCHEMABUS_NATS_TLS_CA to the CA file that signed it"
        )
    last = errors[-1] if errors else failure
    said = "" if last is None else type(last).__name__ + (f": {last}" if str(last) else "")
    plural = "s" if attempts.count != 1 else ""
    if not attempts.given_up.done() and failure is None:
        tried = f" ({attempts.count} failed attempt{plural}, last: {said})" if said else ""
        return (
            f"NATS at {where} did not complete the connection within "
            f"{settings.startup_timeout_s:g}s{tried}: check that it is a running NATS server "
            "(a stopped server or a proxy without its backend accepts connections but never "
            "replies); SCHEMABUS_STARTUP_TIMEOUT_S sets this deadline"
        )
    return (
        f"cannot connect to NATS at {where} after {attempts.count} attempt{plural}: "
        f"{said or 'no reason given'}; check that the server runs and the address is right"
    )


def _uses_tls(nc: Client) -> bool:
    """Whether the connection really is encrypted (nats-py silently stays in plaintext
    with tls:// when the server does not require TLS)."""
    transport = getattr(nc, "_transport", None)
    writer = getattr(transport, "_io_writer", None)
    if writer is None:
        return bool(getattr(nc, "_server_info", {}).get("tls_required"))
    return writer.get_extra_info("ssl_object") is not None


async def _abandon(nc: Client, connecting: asyncio.Future[None]) -> None:
    """Stop a connection attempt and release what it holds, without waiting long: after
    a failed TLS handshake nats-py's own close can wait forever."""
    connecting.cancel()
    await asyncio.wait([connecting], timeout=1.0)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await nc.close()

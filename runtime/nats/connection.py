"""Opening a nats-py connection from `NatsSettings`: auth, TLS, reconnects, buffering.

nats-py uses one `max_reconnect_attempts` for the first connection and for reconnects;
with "forever" a wrong password or a missing server would hang start-up. So the first
connection gets a few attempts and fails with a clear error, and only then is the limit
raised to the settings' value (forever by default) for the life of the connection.
"""

from __future__ import annotations

import asyncio
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
    if not settings.tls:
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
    """Connect, or raise `TransportError` naming the server and the cause."""
    options = options or ConnectionOptions()
    # Only the last few errors matter (for the start-up message); a long-lived
    # connection must not accumulate every reconnect error.
    errors: deque[Exception] = deque(maxlen=8)
    where = ", ".join(settings.servers)

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        log.warning("NATS error: %s", exc)

    # The callbacks may run before `nats.connect` returns the client.
    client: list[Client] = []

    async def on_disconnected() -> None:
        if watch is not None:
            watch.lost()
        if client and (client[0].is_closed or client[0].is_draining):
            return  # our own close(), not an outage
        log.warning("disconnected from NATS; reconnecting (publishes are buffered)")

    async def on_reconnected() -> None:
        url = client[0].connected_url if client else None
        log.info("reconnected to NATS at %s", url.netloc if url else "?")

    try:
        # What `nats.connect` does, with the cheaper header codec (runtime/nats/fastclient.py).
        nc = FastClient()
        await nc.connect(
            **client_options(settings, options),
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    except OSError as exc:  # a bad TLS file, for instance
        raise ConfigError(f"cannot set up the NATS connection to {where}: {exc}") from None
    except Exception as exc:
        causes = [exc, *errors]
        if any("authorization violation" in str(e).lower() for e in causes):
            raise TransportError(
                f"NATS at {where} rejected the credentials (Authorization Violation); "
                "check the user/password or token (SCHEMABUS_NATS_URL, SCHEMABUS_NATS_USER, "
                "SCHEMABUS_NATS_PASSWORD, SCHEMABUS_NATS_TOKEN)"
            ) from None
        last = errors[-1] if errors else exc
        raise TransportError(
            f"cannot connect to NATS at {where} after {options.initial_attempts} attempts: "
            f"{type(last).__name__}: {last}"
        ) from None
    client.append(nc)
    # From now on keep reconnecting as the settings say (forever by default).
    nc.options["max_reconnect_attempts"] = settings.max_reconnect_attempts
    return nc

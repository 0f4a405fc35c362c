"""The NATS transport: live fan-out, queue groups, request/reply, JetStream where asked.

The envelope travels as `ce-*` headers and the payload as the message body. Core publishes
are written to the connection and confirmed with one PING/PONG per batch; while the
connection is down they are buffered (up to `ConnectionOptions.pending_size`) and sent on
reconnect. JetStream publishes wait for the stream's acknowledgement and are retried
through a disconnect; the event id as `Nats-Msg-Id` makes a retried publish count once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from runtime import constants as C
from runtime.backoff import Backoff
from runtime.deadletter import dead_letter_fields
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.errors import NoRespondersError, RequestTimeoutError, TransportError
from runtime.settings import ConsumerSettings, NatsSettings
from runtime.spec import Registry
from runtime.transport import Capability, Closer, DeadLetter, Outbound, ReplyHandler, Source

from .connection import ConnectionOptions, LinkWatch, flush_in_order, open_client
from .jetstream import (
    JetStreamSubject,
    JetStreamUnavailableError,
    StreamKeeper,
    dead_letter_subject,
    jetstream_subjects,
)
from .source import NatsSource, SourceLink

log = logging.getLogger("schemabus.nats")

#: Header JetStream deduplicates publishes on.
MSG_ID_HEADER = "Nats-Msg-Id"


class NatsTransport:
    name = "nats"

    def __init__(
        self,
        nc: Client,
        *,
        jetstream: Mapping[str, JetStreamSubject] | None = None,
        publish_timeout_s: float = 30.0,
        flush_timeout_s: float = 5.0,
        responder_concurrency: int = 64,
        watch: LinkWatch | None = None,
    ) -> None:
        self.nc = nc
        self.watch = watch or LinkWatch()
        self.js = nc.jetstream()
        self.jetstream: dict[str, JetStreamSubject] = dict(jetstream or {})
        self.streams = StreamKeeper(self.js, self.jetstream)
        self.publish_timeout_s = publish_timeout_s
        self.flush_timeout_s = flush_timeout_s
        self.responder_concurrency = responder_concurrency
        caps: set[Capability] = {"live", "request"}
        if self.jetstream:
            caps.add("durable")
        self.capabilities: frozenset[Capability] = frozenset(caps)
        self._dlq_jetstream: bool | None = None
        # Closed with the transport, so no pull loop or responder outlives its connection.
        self._closers: list[Closer] = []

    @classmethod
    async def connect(
        cls,
        settings: NatsSettings,
        *,
        registry: Registry | None = None,
        jetstream: Sequence[str | JetStreamSubject] = (),
        options: ConnectionOptions | None = None,
        **transport_options: Any,
    ) -> NatsTransport:
        """Connect; subjects of events the registry marks `jetstream` (and `jetstream`
        extras) go through JetStream, everything else through core NATS."""
        watch = LinkWatch()
        nc = await open_client(settings, options, watch)
        return cls(
            nc, jetstream=jetstream_subjects(registry, jetstream), watch=watch, **transport_options
        )

    # --- publishing ---------------------------------------------------------------------

    async def publish(self, batch: Sequence[Outbound]) -> None:
        core = [o for o in batch if o.destination not in self.jetstream]
        durable = [o for o in batch if o.destination in self.jetstream]
        nc = self.nc
        try:
            for out in core:
                env = out.envelope
                await nc.publish(out.destination, env.data, headers=env.to_headers())
            if core and nc.is_connected:
                # One round trip proves the server took the whole batch. While
                # reconnecting the batch waits in the pending buffer instead.
                await self._flush()
        except nats.errors.OutboundBufferLimitError:
            raise TransportError(
                "NATS is unreachable and the publish buffer is full; events were not sent"
            ) from None
        except nats.errors.MaxPayloadError as exc:
            raise TransportError(f"event too large for NATS: {exc}") from None
        except nats.errors.ConnectionClosedError:
            raise TransportError("the NATS connection is closed") from None
        except nats.errors.TimeoutError:
            # Flush timed out: the connection dropped mid-batch; it is buffered and will
            # be sent on reconnect (core NATS is at-most-once either way).
            log.warning("NATS flush timed out; %d events left in the reconnect buffer", len(core))
        if durable:
            await self._publish_jetstream(durable)

    async def _flush(self) -> None:
        flush = asyncio.ensure_future(flush_in_order(self.nc, self.flush_timeout_s))
        loss = self.watch.next_loss()
        try:
            await asyncio.wait({flush, loss}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loss.cancel()
        if flush.done():
            flush.result()
            return
        # The connection dropped under the flush: what was written before is lost or
        # will go out after reconnect (core NATS is at-most-once); do not wait longer.
        flush.cancel()
        log.warning("NATS connection dropped during a publish; delivery not confirmed")

    async def _publish_jetstream(self, batch: Sequence[Outbound]) -> None:
        streams = {
            self.jetstream[o.destination].stream: self.jetstream[o.destination] for o in batch
        }
        for config in streams.values():
            await self._retrying(lambda c=config: self.streams.ensure(c), len(batch))
        todo = list(batch)
        deadline = time.monotonic() + self.publish_timeout_s
        backoff = Backoff(max_s=1.0)
        while True:
            errors = await self._js_publish_all(todo)
            failed = [o for o, e in zip(todo, errors, strict=True) if e is not None]
            if not failed:
                return
            first = next(e for e in errors if e is not None)
            fatal = next((e for e in errors if e is not None and not _retryable(e)), None)
            if fatal is not None:
                raise TransportError(f"JetStream refused {len(failed)} events: {fatal}") from fatal
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise TransportError(
                    f"publishing {len(failed)} events to JetStream failed for "
                    f"{self.publish_timeout_s:g}s: {first!r}"
                )
            log.warning("JetStream publish of %d events failed (%r); retrying", len(failed), first)
            await asyncio.sleep(delay)
            todo = failed

    async def _js_publish_all(self, batch: Sequence[Outbound]) -> list[BaseException | None]:
        """Publish concurrently; per event None or its error. A connection loss fails the
        unacknowledged ones at once (to be retried) instead of after their timeout."""
        pubs = [asyncio.ensure_future(self._js_publish(o)) for o in batch]
        everything: asyncio.Future[Any] = asyncio.gather(*pubs, return_exceptions=True)
        loss: asyncio.Future[Any] = self.watch.next_loss()
        try:
            await asyncio.wait({everything, loss}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loss.cancel()
        if not everything.done():
            for pub in pubs:
                pub.cancel()
            await asyncio.wait({everything})
        errors: list[BaseException | None] = []
        for pub in pubs:
            if pub.cancelled():
                errors.append(ConnectionError("NATS connection lost before the ack"))
            else:
                errors.append(pub.exception())
        return errors

    async def _js_publish(self, out: Outbound) -> None:
        env = out.envelope
        headers = env.to_headers()
        headers[MSG_ID_HEADER] = env.id
        await self.js.publish(
            out.destination,
            env.data,
            timeout=self.flush_timeout_s,
            stream=self.jetstream[out.destination].stream,
            headers=headers,
        )

    async def _retrying(self, op: Any, count: int) -> None:
        deadline = time.monotonic() + self.publish_timeout_s
        backoff = Backoff(max_s=1.0)
        while True:
            try:
                await op()
                return
            except JetStreamUnavailableError:
                raise
            except Exception as exc:
                delay = backoff.next()
                if not _retryable(exc) or time.monotonic() + delay > deadline:
                    raise TransportError(
                        f"JetStream is not available for {count} events: {exc!r}"
                    ) from exc
                await asyncio.sleep(delay)

    # --- consuming ----------------------------------------------------------------------

    def source(
        self,
        group: str,
        consumer: str,
        destinations: Sequence[str],
        settings: ConsumerSettings,
    ) -> Source:
        link = SourceLink(self.nc, self.js, self.streams, self.jetstream, self.dead_letter)
        source = NatsSource(link, group, consumer, tuple(destinations), settings)
        self._closers.append(source)
        return source

    async def dead_letter(self, dead: DeadLetter, group: str) -> None:
        """Publish the original message with `dlq_*` headers to `schemabus.dlq.<subject>`
        (kept by the SCHEMABUS_DLQ stream when the server has JetStream)."""
        inbound = dead.inbound
        msg = inbound.token if isinstance(inbound.token, Msg) else None
        headers: dict[str, str] = {}
        if msg is not None and msg.headers:
            # JetStream's own headers (Nats-Msg-Id...) would deduplicate dead letters of
            # one event from two groups away; they describe the old hop anyway.
            headers = {k: v for k, v in msg.headers.items() if not k.startswith("Nats-")}
        elif inbound.envelope is not None:
            headers = inbound.envelope.to_headers()
        headers.update(dead_letter_fields(dead, group))
        data = msg.data if msg is not None else (inbound.envelope.data if inbound.envelope else b"")
        subject = dead_letter_subject(inbound.destination)
        log.error(
            "dead-lettering %s %s for %s: %s (%s: %s)",
            inbound.destination,
            inbound.message_id,
            group,
            dead.reason,
            dead.error_type,
            dead.message[:200],
        )
        if self._dlq_jetstream is not False:
            try:
                await self.streams.ensure_dead_letters()
                await self.js.publish(subject, data, timeout=self.flush_timeout_s, headers=headers)
                self._dlq_jetstream = True
                return
            except (JetStreamUnavailableError, nats.js.errors.NoStreamResponseError):
                if self._dlq_jetstream is None:
                    log.warning("NATS has no JetStream: dead letters are published, not kept")
                self._dlq_jetstream = False
            except nats.errors.TimeoutError as exc:
                raise ConnectionError(f"JetStream did not store the dead letter: {exc}") from exc
        await self.nc.publish(subject, data, headers=headers)

    # --- request / reply ----------------------------------------------------------------

    async def request(self, subject: str, envelope: Envelope, timeout_s: float) -> Envelope:
        try:
            msg = await self.nc.request(
                subject, envelope.data, timeout=timeout_s, headers=envelope.to_headers()
            )
        except nats.errors.NoRespondersError:
            raise NoRespondersError(subject) from None
        except nats.errors.TimeoutError:
            raise RequestTimeoutError(subject, timeout_s) from None
        except nats.errors.ConnectionClosedError:
            raise TransportError("the NATS connection is closed") from None
        try:
            return Envelope.from_headers(msg.headers, msg.data)
        except MalformedEnvelope as exc:
            raise TransportError(f"the reply on {subject!r} is not an envelope: {exc}") from None

    def deployments(self) -> None:
        """NATS keeps no deployed registry; services advertise in Redis when they have it."""
        return None

    async def serve(self, subject: str, group: str, handler: ReplyHandler) -> Closer:
        responder = _Responder(self, handler)
        responder.sub = await self.nc.subscribe(subject, queue=group, cb=responder.on_request)
        await flush_in_order(self.nc)
        self._closers.append(responder)
        return responder

    async def close(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            with contextlib.suppress(Exception):
                await closer.close()
        if not self.nc.is_closed:
            # drain: unsubscribe, let in-flight callbacks finish, flush, then close.
            with contextlib.suppress(Exception):
                await self.nc.drain()
        if not self.nc.is_closed:
            await self.nc.close()


class _Responder:
    """Answers requests of one subject; handlers run concurrently up to a bound, so one
    slow request does not hold up the queue behind it."""

    def __init__(self, transport: NatsTransport, handler: ReplyHandler) -> None:
        self._t = transport
        self._handler = handler
        self._slots = asyncio.Semaphore(transport.responder_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sub: Subscription | None = None

    async def on_request(self, msg: Msg) -> None:
        if not msg.reply:
            return  # a plain publish on a request subject: nobody to answer
        await self._slots.acquire()
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        try:
            try:
                request = Envelope.from_headers(msg.headers, msg.data)
            except MalformedEnvelope as exc:
                reply = _error_envelope("MalformedEnvelope", str(exc))
            else:
                reply = await self._handler(request)
            await self._t.nc.publish(msg.reply, reply.data, headers=reply.to_headers())
        except Exception:
            log.exception("answering a request on %s failed", msg.subject)
        finally:
            self._slots.release()

    async def close(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._t.flush_timeout_s)


def _error_envelope(error_type: str, message: str) -> Envelope:
    data = orjson.dumps({"error_type": error_type, "message": message[:2000]})
    return Envelope.new(source="schemabus.nats", type=C.ERROR_TYPE, dataversion=1, data=data)


def _retryable(exc: BaseException) -> bool:
    """Errors a reconnect can cure (as opposed to a refused or malformed publish)."""
    return isinstance(
        exc,
        nats.errors.TimeoutError
        | nats.errors.NoRespondersError
        | nats.js.errors.NoStreamResponseError
        | nats.js.errors.ServiceUnavailableError
        | nats.errors.ConnectionReconnectingError
        | nats.errors.OutboundBufferLimitError
        | TimeoutError
        | ConnectionError,
    )

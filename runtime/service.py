"""Running one service: consumers for its subscriptions, responders for its operations.

`ServiceRunner` is what `schemabus run <service>` and tests use. Durable subscriptions
are consumed from the durable transport (one consumer group named after the service over
all the streams it reads); realtime subscriptions from the live transport (a queue group
named after the service over their subjects). Shutdown is graceful: stop reading, finish
and settle the batch in flight, close responders and transports.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.advertiser import Advertiser
from runtime.consumer import Consumer, drain
from runtime.context import Messenger
from runtime.deployed import advertisement
from runtime.dispatch import Dispatcher, UpcasterMap
from runtime.errors import ConfigError
from runtime.hooks import Hooks
from runtime.partitioning import partition_keys
from runtime.publisher import Publisher
from runtime.requests import request_transport
from runtime.responder import reply_handler
from runtime.settings import ConsumerSettings
from runtime.spec import Registry, ServiceWiring, Subscription
from runtime.transport import Closer, Deployments, Transport

log = logging.getLogger("schemabus.service")


def default_consumer_name() -> str:
    """`SCHEMABUS_CONSUMER` if set, else host-pid. A stable name (a pod name, say) lets a
    restarted process pick up its own unacknowledged entries at once instead of waiting
    for the visibility timeout."""
    return os.environ.get("SCHEMABUS_CONSUMER") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ServiceParts:
    """What a runner needs, handed over explicitly (a `Bus` assembles it)."""

    registry: Registry
    upcasters: UpcasterMap
    hooks: Hooks
    durable: Transport | None
    live: Transport | None
    publisher: Publisher
    messenger: Messenger  # what handlers' contexts publish and request through
    consumer: ConsumerSettings


class ServiceRunner:
    def __init__(
        self,
        parts: ServiceParts,
        wiring: ServiceWiring,
        *,
        consumer_name: str | None = None,
        settings: ConsumerSettings | None = None,
        group: str | None = None,
        live_only: bool = False,
    ) -> None:
        self.parts = parts
        self.wiring = wiring
        self.group = group or wiring.name
        self.consumer_name = consumer_name or default_consumer_name()
        self.settings = settings or parts.consumer
        self.consumers: list[Consumer] = []
        self._closers: list[Closer] = []
        #: What this member advertises with its heartbeat (see `schemabus status`).
        self.info = {
            "host": socket.gethostname(),
            "pid": str(os.getpid()),
            "service": wiring.name,
        }
        #: Keeps this replica in the deployed registry while it runs (see start()).
        self.advertiser: Advertiser | None = None
        self._started = False
        # live_only: take durable events from their NATS mirror instead of the Redis log
        # (a dashboard that wants what happens now, not a replay of history).
        durable = [
            s for s in wiring.subscriptions if s.spec.delivery == "durable" and not live_only
        ]
        live = [s for s in wiring.subscriptions if s not in durable]
        if durable:
            self._add_consumer(durable, durable=True)
        if live:
            self._add_consumer(live, durable=False)

    def _add_consumer(self, subs: Sequence[Subscription], *, durable: bool) -> None:
        transport = self.parts.durable if durable else self.parts.live
        if transport is None:
            kind = "Redis (SCHEMABUS_REDIS_URL)" if durable else "NATS (SCHEMABUS_NATS_URL)"
            names = ", ".join(s.spec.type for s in subs)
            raise ConfigError(f"service {self.wiring.name!r} consumes {names}; that needs {kind}")
        dispatcher = Dispatcher(
            subs,
            self.parts.registry,
            self.parts.upcasters,
            messenger=self.parts.messenger,
            max_payload_bytes=self.settings.max_payload_bytes,
            hooks=self.parts.hooks,
        )
        destinations = _partitions(subs) if durable else sorted({s.spec.subject for s in subs})
        source = transport.source(self.group, self.consumer_name, destinations, self.settings)
        kind = "durable" if durable else "live"
        self.consumers.append(
            Consumer(
                source,
                dispatcher,
                self.settings,
                name=f"{self.wiring.name}/{kind}",
                member=self.consumer_name,
                info=self.info,
            )
        )

    @property
    def handled(self) -> int:
        return sum(c.handled for c in self.consumers)

    @property
    def dead_lettered(self) -> int:
        return sum(c.dead_lettered for c in self.consumers)

    async def start(self) -> None:
        """Open responders and start consuming in background tasks."""
        if self._started:
            return
        self._started = True
        if self.wiring.responders:
            parts = self.parts
            transport = request_transport(parts.live, parts.durable)
            for responder in self.wiring.responders:
                handler = reply_handler(
                    responder,
                    registry=parts.registry,
                    upcasters=parts.upcasters,
                    publisher=parts.publisher,
                    messenger=parts.messenger,
                )
                closer = await transport.serve(responder.operation.subject, self.group, handler)
                self._closers.append(closer)
        for consumer in self.consumers:
            consumer.start()
        store = self._deployments()
        if store is not None:
            document = advertisement(
                self.wiring,
                self.parts.registry,
                self.parts.upcasters,
                replica=self.consumer_name,
                group=self.group,
                host=self.info["host"],
                pid=os.getpid(),
            )
            self.advertiser = Advertiser(
                store,
                document,
                ttl_ms=self.settings.lease_ttl_ms,
                heartbeat_ms=self.settings.heartbeat_ms,
            )
            self.advertiser.start()

    def _deployments(self) -> Deployments | None:
        for transport in (self.parts.durable, self.parts.live):
            store = transport.deployments() if transport is not None else None
            if store is not None:
                return store
        return None

    async def stop(self) -> None:
        """Graceful: stop reading, finish and settle in-flight work, close responders,
        leave the deployed registry."""
        for consumer in self.consumers:
            consumer.stop()
        for consumer in self.consumers:
            try:
                await consumer.wait_closed()
            except Exception:
                log.exception("%s stopped with an error", consumer.name)
        for closer in self._closers:
            await closer.close()
        self._closers.clear()
        if self.advertiser is not None:
            await self.advertiser.stop()
            self.advertiser = None

    async def drain(self) -> None:
        """Handle everything currently available, in this task, then return (tests)."""
        for consumer in self.consumers:
            await drain(consumer)

    async def run_forever(self, *, install_signals: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or until a consumer fails), then stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        await self.start()
        tasks = [c.start() for c in self.consumers]
        waiter = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            log.info("%s: stopping", self.wiring.name)
            await self.stop()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


def _partitions(subs: Sequence[Subscription]) -> list[str]:
    """Every stream partition the subscriptions read. Streams are shared by event types,
    so their partition counts must agree (the catalog lint makes sure they do)."""
    streams: dict[str, int] = {}
    for sub in subs:
        spec = sub.spec
        if spec.delivery == "durable" and spec.stream:
            known = streams.setdefault(spec.stream, spec.partitions)
            if known != spec.partitions:
                raise ConfigError(
                    f"stream {spec.stream!r} is declared with {known} and "
                    f"{spec.partitions} partitions; one stream has one partition count"
                )
    return sorted(key for stream, n in streams.items() for key in partition_keys(stream, n))

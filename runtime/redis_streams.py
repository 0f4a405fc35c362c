"""Redis Streams transport: the durable log.

Publishing pipelines every XADD of a batch into one round trip (one per node on a Redis
Cluster, sent concurrently), trimming each stream approximately (MAXLEN ~ or MINID ~) as
the catalog's retention says. A publish that hits a dropped connection (a Redis restart,
a failover) is retried with backoff until `publish_timeout_s`; a retried batch may append
an entry twice, which consumers absorb through idempotency (the event id, not the entry
id, is what they remember).

Streams with `durability: replicated` in the catalog also wait, on the connection that
wrote them, until a replica acknowledged the writes (`WAIT 1 <replica_wait_ms>`, see
`runtime.redis_pipeline`): `publish` returns only once the events would survive a
failover. Entries no replica confirmed in time are appended again on the retry (same
event ids), until one does or `publish_timeout_s` passes; a shard without a live replica
therefore refuses replicated publishes, as Redis's `min-replicas-to-write` would.

Consumption is in `runtime.redis_source`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from runtime.backoff import Backoff
from runtime.constants import MAX_PAYLOAD_BYTES
from runtime.envelope import Envelope, flat_size_over
from runtime.errors import EventTooLarge, NotSupportedError, TransportError
from runtime.partitioning import split_partition
from runtime.redis_conn import RedisClient, make_client, open_checked
from runtime.redis_errors import is_transient
from runtime.redis_pipeline import DEFAULT_REPLICA_WAIT_MS, ReplicaWait, Unconfirmed, pipeline
from runtime.redis_scripts import SCRIPTS, Call, run_many
from runtime.settings import ConsumerSettings, RedisSettings
from runtime.spec import Registry
from runtime.transport import Capability, Closer, Deployments, Outbound, ReplyHandler, Source

log = logging.getLogger("schemabus.redis")


def _xadd_args(out: Outbound, now_ms: int, max_bytes: int) -> list[Any]:
    """XADD with the catalog's approximate trimming: MAXLEN ~ n, else MINID ~ (now - age).
    Raises `EventTooLarge` when the entry would be over `max_bytes`."""
    args: list[Any] = ["XADD", out.destination]
    r = out.retention
    if r is not None:
        if r.maxlen is not None:
            args += ("MAXLEN", "~", r.maxlen)
        elif r.max_age_ms is not None:
            now_ms = now_ms or int(time.time() * 1000)
            args += ("MINID", "~", f"{now_ms - r.max_age_ms}-0")
    args.append("*")
    flat = out.envelope.to_flat()
    size = flat_size_over(flat, max_bytes)
    if size is not None:
        env = out.envelope
        raise EventTooLarge(env.type, env.dataversion, env.id, size, max_bytes)
    args += flat
    return args


def _append_calls(commands: list[list[Any]]) -> list[Call]:
    """XADD commands (from `_xadd_args`) as one APPEND call per stream and trimming, in
    the order of their first event (events of one partition keep their order)."""
    grouped: dict[tuple[Any, ...], list[Any]] = {}
    for cmd in commands:
        star = cmd.index("*", 2)
        trim = tuple(cmd[1:star])  # (stream,) or (stream, MAXLEN|MINID, ~, value)
        args = grouped.get(trim)
        if args is None:
            args = grouped[trim] = [trim[1], trim[3]] if len(trim) == 4 else ["", ""]
        args.append(len(cmd) - star - 1)
        args.extend(cmd[star + 1 :])
    script = SCRIPTS["append"]
    return [(script, [trim[0]], args) for trim, args in grouped.items()]


def replicated_streams(registry: Registry) -> frozenset[str]:
    """Streams that hold an event the catalog marks `durability: replicated`: their
    publishes and acks wait for a replica (a stream is one log, so one such event type
    makes all of its writes wait)."""
    return frozenset(
        spec.stream
        for spec in registry.events.values()
        if spec.stream and spec.delivery == "durable" and spec.durability == "replicated"
    )


class RedisTransport:
    name = "redis"
    capabilities: frozenset[Capability] = frozenset({"durable", "effects"})

    def __init__(
        self,
        client: RedisClient,
        settings: RedisSettings | None = None,
        *,
        publish_timeout_s: float = 30.0,
        replicated: Iterable[str] = (),
    ) -> None:
        self.client = client
        self.settings = settings
        self.publish_timeout_s = publish_timeout_s
        self.max_payload_bytes = settings.max_payload_bytes if settings else MAX_PAYLOAD_BYTES
        #: Streams (catalog names) whose writes wait for a replica: `durability: replicated`.
        self.replicated = frozenset(replicated)
        self.replica_wait = ReplicaWait(
            1, settings.replica_wait_ms if settings else DEFAULT_REPLICA_WAIT_MS
        )

    @classmethod
    async def connect(
        cls, settings: RedisSettings, *, registry: Registry | None = None, **options: Any
    ) -> RedisTransport:
        """Connect (any URL kind) within `settings.startup_timeout_s`, or raise
        `TransportError` with one line saying what failed (no answer, refused, password,
        TLS). With the `registry`, streams the catalog marks `durability: replicated` wait
        for a replica on every publish and ack."""
        if registry is not None and "replicated" not in options:
            options["replicated"] = replicated_streams(registry)
        return cls(await open_checked(settings), settings, **options)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisTransport:
        """Without a connectivity check (tests, scripts)."""
        settings = RedisSettings.from_url(url)
        return cls(make_client(settings), settings, **options)

    async def publish(self, batch: Sequence[Outbound]) -> None:
        if not batch:
            return
        deadline = time.monotonic() + self.publish_timeout_s
        backoff = Backoff(max_s=1.0)
        left = list(batch)
        while True:
            try:
                left, failure = await self._publish_once(left)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                failure = exc
            if failure is None:
                return
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise TransportError(
                    f"publishing {len(left)} of {len(batch)} events failed for "
                    f"{self.publish_timeout_s:g}s: {failure}"
                ) from failure
            log.warning(
                "publishing %d events failed (%s); retrying in %.2fs", len(left), failure, delay
            )
            await asyncio.sleep(delay)

    async def _publish_once(
        self, batch: list[Outbound]
    ) -> tuple[list[Outbound], BaseException | None]:
        """Send `batch`; return what is left to retry and why (only when some destinations
        wait for replicas: a plain batch either succeeds whole or raises)."""
        limit = self.max_payload_bytes
        now_ms = 0
        for out in batch:
            if out.retention is not None and out.retention.maxlen is None:
                now_ms = int(time.time() * 1000)
                break
        commands = [_xadd_args(out, now_ms, limit) for out in batch]  # size checks first
        replicated = self.replicated
        if replicated and any(split_partition(o.destination)[0] in replicated for o in batch):
            keyed = [(out.destination, cmd) for out, cmd in zip(batch, commands, strict=True)]
            results = await pipeline(self.client, keyed, self.replica_wait)
            left: list[Outbound] = []
            failure: BaseException | None = None
            for out, r in zip(batch, results, strict=True):
                if isinstance(r, Unconfirmed):
                    failure = r.why
                elif isinstance(r, Exception):
                    if not is_transient(r):
                        raise r
                    failure = r
                else:
                    continue
                # Only what was not confirmed goes again: on a cluster, the other nodes'
                # part of the batch is not appended twice.
                left.append(out)
            return left, failure
        # Any: redis-py's command methods are untyped for raw commands.
        client: Any = self.client
        if len(batch) == 1:
            # One event: a plain command; a script call costs more than it saves.
            await client.execute_command(*commands[0])
            return [], None
        # One APPEND script call per partition, all in one round trip (per node).
        replies = await run_many(client, _append_calls(commands))
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return [], None

    def source(
        self,
        group: str,
        consumer: str,
        destinations: Sequence[str],
        settings: ConsumerSettings,
    ) -> Source:
        from runtime.redis_source import RedisSource

        # Partitions are leased: each is read by exactly one member of the group.
        replicated = frozenset(d for d in destinations if split_partition(d)[0] in self.replicated)
        return RedisSource(
            self.client,
            group,
            consumer,
            tuple(destinations),
            settings,
            replicated=replicated,
            replica_wait=self.replica_wait,
        )

    async def request(self, subject: str, envelope: Envelope, timeout_s: float) -> Envelope:
        raise NotSupportedError("request/reply runs over NATS, not Redis: set SCHEMABUS_NATS_URL")

    async def serve(self, subject: str, group: str, handler: ReplyHandler) -> Closer:
        raise NotSupportedError("request/reply runs over NATS, not Redis: set SCHEMABUS_NATS_URL")

    def deployments(self) -> Deployments:
        from runtime.redis_deployed import RedisDeployments

        return RedisDeployments(self.client)

    async def close(self) -> None:
        await self.client.aclose()

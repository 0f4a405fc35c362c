"""Which subjects travel over JetStream, and the streams and consumers that hold them.

The catalog marks an event `jetstream: true`; its NATS subject then gets a stream of its
own (retention from the catalog), published to with acknowledgements and consumed through
a durable pull consumer named after the consuming service, so a service that was down
catches up, and instances of one service share the work.

Dead letters of NATS consumers go to `schemabus.dlq.<subject>`, kept by one stream when
the server has JetStream.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError, ServiceUnavailableError

from runtime.errors import TransportError
from runtime.spec import EventSpec, Registry

log = logging.getLogger("schemabus.nats")

#: Stream names are `SB_` + the subject with every character NATS forbids replaced.
STREAM_PREFIX = "SB_"
#: Dead letters of NATS consumers: `schemabus.dlq.<original subject>`.
DEAD_LETTER_SUBJECT_PREFIX = "schemabus.dlq."
DEAD_LETTER_STREAM = "SCHEMABUS_DLQ"
DEAD_LETTER_MAX_MSGS = 100_000
#: Publishes carry the event id as `Nats-Msg-Id`, so a publish retried within this window
#: (after a lost ack, a reconnect) is stored once.
DUPLICATE_WINDOW_S = 120.0


class JetStreamUnavailableError(TransportError):
    """A subject is configured for JetStream but the server does not offer it."""


_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(subject: str) -> str:
    return STREAM_PREFIX + _NAME_UNSAFE.sub("_", subject)


def consumer_name(group: str) -> str:
    """Durable names follow the same character rules as stream names."""
    return _NAME_UNSAFE.sub("_", group)


def dead_letter_subject(subject: str) -> str:
    return DEAD_LETTER_SUBJECT_PREFIX + subject


@dataclass(frozen=True, slots=True)
class JetStreamSubject:
    """One subject kept by JetStream, with the catalog's retention."""

    subject: str
    stream: str
    max_msgs: int | None = None
    max_age_s: float | None = None
    #: Copies of the stream on a NATS cluster (catalog `replicas`); its consumers inherit it.
    replicas: int = 1

    @classmethod
    def for_spec(cls, spec: EventSpec) -> JetStreamSubject:
        r = spec.retention
        return cls(
            subject=spec.subject,
            stream=stream_name(spec.subject),
            max_msgs=r.maxlen,
            max_age_s=r.max_age_ms / 1000 if r.max_age_ms is not None else None,
            replicas=spec.replicas,
        )


def jetstream_subjects(
    registry: Registry | None = None, extra: Iterable[str | JetStreamSubject] = ()
) -> dict[str, JetStreamSubject]:
    """Subject -> JetStream config for every event the catalog marks `jetstream: true`
    (versions of one type share a subject and a stream), plus `extra` subjects."""
    out: dict[str, JetStreamSubject] = {}
    if registry is not None:
        for spec in sorted(registry.events.values(), key=lambda s: s.key):
            if spec.jetstream:
                out[spec.subject] = JetStreamSubject.for_spec(spec)
    for item in extra:
        config = item if isinstance(item, JetStreamSubject) else None
        subject = item.subject if isinstance(item, JetStreamSubject) else item
        out[subject] = config or JetStreamSubject(subject, stream_name(subject))
    return out


class StreamKeeper:
    """Creates each stream once per process (idempotent on the server too)."""

    def __init__(self, js: JetStreamContext, subjects: Mapping[str, JetStreamSubject]) -> None:
        self.js = js
        self.subjects = subjects
        self._ready: set[str] = set()

    async def ensure(self, config: JetStreamSubject) -> None:
        if config.stream in self._ready:
            return
        await self._ensure_stream(
            config.stream,
            [config.subject],
            max_msgs=config.max_msgs,
            max_age_s=config.max_age_s,
            replicas=config.replicas,
        )
        self._ready.add(config.stream)

    def forget(self, config: JetStreamSubject) -> None:
        """Check the stream again next time (it may have been deleted meanwhile)."""
        self._ready.discard(config.stream)

    async def ensure_dead_letters(self) -> None:
        if DEAD_LETTER_STREAM in self._ready:
            return
        # As safe as the safest stream whose dead letters it keeps.
        replicas = max((c.replicas for c in self.subjects.values()), default=1)
        await self._ensure_stream(
            DEAD_LETTER_STREAM,
            [DEAD_LETTER_SUBJECT_PREFIX + ">"],
            max_msgs=DEAD_LETTER_MAX_MSGS,
            max_age_s=None,
            replicas=replicas,
        )
        self._ready.add(DEAD_LETTER_STREAM)

    async def _ensure_stream(
        self,
        name: str,
        subjects: list[str],
        *,
        max_msgs: int | None,
        max_age_s: float | None,
        replicas: int = 1,
    ) -> None:
        try:
            info = await self.js.stream_info(name)
            have = info.config.num_replicas or 1
            if have != replicas:
                # Changing it is an operator's decision (`nats stream edit --replicas`).
                log.warning(
                    "JetStream stream %s has %d replica(s), the catalog asks for %d; "
                    "left unchanged",
                    name,
                    have,
                    replicas,
                )
            return
        except NotFoundError:
            pass
        except ServiceUnavailableError:
            # Nobody answers the JetStream API: the server runs without JetStream. Not
            # something a retry cures, so say what to change.
            raise JetStreamUnavailableError(
                f"the NATS server has no JetStream, needed for {', '.join(subjects)}; "
                "start nats-server with -js (or a jetstream block in its config), or set "
                "jetstream: false for these events in schemas/catalog.yaml"
            ) from None
        config = js_api.StreamConfig(
            name=name,
            subjects=subjects,
            storage=js_api.StorageType.FILE,
            max_msgs=max_msgs if max_msgs is not None else -1,
            max_age=max_age_s if max_age_s is not None else 0,
            # The server refuses a duplicate window longer than the retention.
            duplicate_window=min(DUPLICATE_WINDOW_S, max_age_s or DUPLICATE_WINDOW_S),
            # R3 on a 3-node cluster: a write is acknowledged once a majority stored it,
            # so losing one node loses nothing (a single server accepts only 1).
            num_replicas=replicas,
        )
        # Two processes may race to create it; the server accepts an identical config.
        await self.js.add_stream(config)
        log.info("created JetStream stream %s (R%d) for %s", name, replicas, ", ".join(subjects))

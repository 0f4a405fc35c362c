"""JetStream: durable consumers named after the service, acks, redelivery, restarts."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from runtime.errors import TransportError
from runtime.nats import NatsTransport, jetstream_subjects, stream_name
from runtime.settings import ConsumerSettings
from runtime.spec import EventSpec, Registry, Retention
from runtime.testkit import NatsServer
from runtime.testkit.pytest_plugin import NatsFactory
from runtime.transport import DeadLetter, Outbound
from tests.runtime_nats.helpers import FAST, collect, connect, envelope, unique

pytestmark = pytest.mark.nats


async def _publish(transport: NatsTransport, subject: str, first: int, count: int) -> list[str]:
    sent = [envelope(i, aggregate=f"o-{i}") for i in range(first, first + count)]
    await transport.publish([Outbound(subject, e) for e in sent])
    return [e.id for e in sent]


def _ids(batch: list) -> list[str]:  # type: ignore[type-arg]
    return [i.envelope.id for i in batch if i.envelope]


async def test_durable_consumer_resumes_after_consumer_restart(nats_url: str) -> None:
    subject = unique("evt.js.resume")
    publisher = await connect(nats_url, jetstream=[subject])
    try:
        first = await _publish(publisher, subject, 0, 10)

        consumer = await connect(nats_url, jetstream=[subject])
        source = consumer.source("billing", "c1", [subject], FAST)
        await source.open()
        got = await collect(source, 10)
        assert _ids(got) == first
        assert all(i.attempts == 1 for i in got)
        await source.settle(got[:6], [])  # the last 4 were handled but never acked
        await source.close()
        await consumer.close()

        # The service was down while these were published; it must not miss them.
        later = await _publish(publisher, subject, 10, 5)

        consumer = await connect(nats_url, jetstream=[subject])
        source = consumer.source("billing", "c2", [subject], FAST)
        await source.open()
        got = await collect(source, 9)
        # Unacked ones come back (counted as a second delivery), acked ones never do.
        assert sorted(_ids(got)) == sorted(first[6:] + later)
        attempts = {i.envelope.id: i.attempts for i in got if i.envelope}
        assert all(attempts[i] == 2 for i in first[6:])
        assert all(attempts[i] == 1 for i in later)
        await source.settle(got, [])
        assert await source.fetch(10, 200) == []
        await source.close()
        await consumer.close()
    finally:
        await publisher.close()


async def test_dead_process_messages_redelivered_after_visibility_timeout(nats_url: str) -> None:
    subject = unique("evt.js.crash")
    settings = ConsumerSettings(batch=10, block_ms=50, visibility_timeout_ms=500)
    publisher = await connect(nats_url, jetstream=[subject])
    crashed = await connect(nats_url, jetstream=[subject])
    survivor = await connect(nats_url, jetstream=[subject])
    try:
        sent = await _publish(publisher, subject, 0, 3)
        doomed = crashed.source("billing", "c1", [subject], settings)
        await doomed.open()
        assert _ids(await collect(doomed, 3)) == sent
        # The process dies: no ack, no nak, its connection just goes away.
        await crashed.nc.close()

        source = survivor.source("billing", "c2", [subject], settings)
        await source.open()
        got = await collect(source, 3)
        assert _ids(got) == sent
        assert [i.attempts for i in got] == [2, 2, 2]
        await source.settle(got, [])
        await source.close()
    finally:
        await publisher.close()
        await survivor.close()


async def test_instances_of_a_service_share_one_durable_consumer(nats_url: str) -> None:
    subject = unique("evt.js.share")
    transports = [await connect(nats_url, jetstream=[subject]) for _ in range(2)]
    try:
        sources = [t.source("billing", f"c{n}", [subject], FAST) for n, t in enumerate(transports)]
        for s in sources:
            await s.open()
        sent = await _publish(transports[0], subject, 0, 100)
        seen: list[str] = []
        for _ in range(400):
            for s in sources:
                batch = await s.fetch(20, 20)
                await s.settle(batch, [])
                seen.extend(_ids(batch))
            if len(seen) >= 100:
                break
        assert sorted(seen) == sorted(sent)  # each event once across the instances
        for s in sources:
            await s.close()
    finally:
        for t in transports:
            await t.close()


async def test_retrying_handler_keeps_its_message(nats_url: str) -> None:
    subject = unique("evt.js.retry")
    settings = ConsumerSettings(batch=10, block_ms=50, visibility_timeout_ms=300)
    transport = await connect(nats_url, jetstream=[subject])
    try:
        source = transport.source("billing", "c1", [subject], settings)
        await source.open()
        await _publish(transport, subject, 0, 1)
        [inbound] = await collect(source, 1)
        # A handler that keeps failing for several visibility timeouts: the source tells
        # the server the message is in progress, so it is not redelivered meanwhile.
        for _ in range(4):
            await source.redeliver(inbound)
            assert await source.fetch(10, 300) == []
        assert inbound.attempts == 5
        await source.settle([], [DeadLetter(inbound, "handler_failed", "ValueError", "x")])
        await source.close()
    finally:
        await transport.close()


async def test_publish_is_deduplicated_by_event_id(nats_url: str) -> None:
    subject = unique("evt.js.dedupe")
    transport = await connect(nats_url, jetstream=[subject])
    try:
        event = envelope(1)
        await transport.publish([Outbound(subject, event)])
        await transport.publish([Outbound(subject, event)])  # a retried publish
        info = await transport.js.stream_info(stream_name(subject))
        assert info.state.messages == 1
    finally:
        await transport.close()


async def test_streams_survive_a_server_restart(nats_server_fresh: NatsServer) -> None:
    server = nats_server_fresh
    subject = unique("evt.js.restart")
    transport = await connect(server.url, jetstream=[subject])
    try:
        source = transport.source("billing", "c1", [subject], FAST)
        await source.open()
        before = await _publish(transport, subject, 0, 5)
        server.restart()
        # Published across the restart: retried until JetStream acknowledges.
        after = await _publish(transport, subject, 5, 5)
        got = await collect(source, 10, timeout=30)
        # Redeliveries of messages this source still holds are not handed out twice.
        assert sorted(_ids(got)) == sorted(before + after)
        await source.settle(got, [])
        await source.close()
    finally:
        await transport.close()


class _Tick(BaseModel):
    n: int


def test_registry_selects_jetstream_subjects() -> None:
    def spec(type_: str, version: int, jetstream: bool, retention: Retention) -> EventSpec:
        return EventSpec(
            type=type_,
            version=version,
            model=_Tick,
            schema_json="{}",
            fingerprint="fp",
            delivery="realtime",
            stream=None,
            subject=f"evt.{type_}",
            aggregate_field=None,
            retention=retention,
            jetstream=jetstream,
        )

    registry = Registry.build(
        [
            spec("tick", 1, True, Retention(max_age_ms=60_000)),
            spec("tick", 2, True, Retention(max_age_ms=60_000)),
            spec("ping", 1, False, Retention()),
        ]
    )
    subjects = jetstream_subjects(registry, ["extra.subject"])
    assert sorted(subjects) == ["evt.tick", "extra.subject"]
    tick = subjects["evt.tick"]
    assert (tick.stream, tick.max_age_s, tick.max_msgs) == ("SB_evt_tick", 60.0, None)
    assert subjects["extra.subject"].stream == "SB_extra_subject"


async def test_server_without_jetstream_is_a_clear_error(nats_server_factory: NatsFactory) -> None:
    server = nats_server_factory(jetstream=False)
    subject = unique("evt.js.none")
    transport = await connect(server.url, jetstream=[subject])
    try:
        with pytest.raises(TransportError, match="start nats-server with -js"):
            await transport.publish([Outbound(subject, envelope())])
        source = transport.source("billing", "c1", [subject], FAST)
        with pytest.raises(TransportError, match="has no JetStream"):
            await source.open()
        # Dead letters still go out (published, not kept) instead of failing the settle.
        core = unique("evt.core")
        core_source = transport.source("billing", "c1", [core], FAST)
        await core_source.open()
        await transport.publish([Outbound(core, envelope())])
        [inbound] = await collect(core_source, 1)
        await core_source.settle([], [DeadLetter(inbound, "malformed", "X", "y")])
    finally:
        await transport.close()

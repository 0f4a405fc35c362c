"""Core NATS publish/subscribe: envelope in headers, queue groups, dead letters."""

from __future__ import annotations

import nats
import pytest

from runtime.envelope import Envelope
from runtime.nats import DEAD_LETTER_STREAM, NatsTransport, dead_letter_subject
from runtime.nats.connection import flush_in_order
from runtime.transport import DeadLetter, Outbound
from tests.runtime_nats.helpers import FAST, collect, connect, envelope, eventually, unique

pytestmark = pytest.mark.nats


async def test_round_trip_carries_envelope_in_headers(nats_url: str) -> None:
    subject = unique("evt.pubsub")
    transport = await connect(nats_url)
    raw = await nats.connect(nats_url)
    try:
        source = transport.source("svc", "c1", [subject], FAST)
        await source.open()
        wire = await raw.subscribe(subject)
        await flush_in_order(raw)
        sent = envelope(7)
        await transport.publish([Outbound(subject, sent)])

        [got] = await collect(source, 1)
        assert got.envelope == sent
        assert got.destination == subject
        assert got.attempts == 1
        assert got.error is None

        # On the wire: CloudEvents binary mode, the payload is the JSON data untouched.
        msg = await wire.next_msg(timeout=5)
        assert msg.data == sent.data
        assert msg.headers is not None
        assert msg.headers["ce-id"] == sent.id
        assert msg.headers["ce-type"] == "order.created"
        assert msg.headers["ce-dataversion"] == "1"
        assert msg.headers["ce-specversion"] == "1.0"
        assert msg.headers["traceparent"] == sent.traceparent
        await source.close()
    finally:
        await raw.close()
        await transport.close()


async def test_batch_publish_keeps_order(nats_url: str) -> None:
    subject = unique("evt.batch")
    transport = await connect(nats_url)
    try:
        source = transport.source("svc", "c1", [subject], FAST)
        await source.open()
        sent = [envelope(i) for i in range(300)]
        await transport.publish([Outbound(subject, e) for e in sent])
        got = await collect(source, 300)
        assert [i.envelope.id for i in got if i.envelope] == [e.id for e in sent]
        await source.close()
    finally:
        await transport.close()


async def test_queue_group_balances_instances_and_fans_out_to_services(nats_url: str) -> None:
    subject = unique("evt.balance")
    instances = [await connect(nats_url) for _ in range(2)]
    other_service = await connect(nats_url)
    publisher = await connect(nats_url)
    try:
        sources = [t.source("billing", f"c{n}", [subject], FAST) for n, t in enumerate(instances)]
        audit = other_service.source("audit", "c1", [subject], FAST)
        for s in [*sources, audit]:
            await s.open()
        sent = [envelope(i, aggregate=f"o-{i}") for i in range(200)]
        await publisher.publish([Outbound(subject, e) for e in sent])

        audit_got = await collect(audit, 200)
        per_instance: list[list[str]] = [[], []]

        async def all_arrived() -> bool:
            for n, s in enumerate(sources):
                per_instance[n].extend(i.envelope.id for i in await s.fetch(200, 20) if i.envelope)
            return sum(map(len, per_instance)) >= 200

        await eventually(all_arrived)
        ids = per_instance[0] + per_instance[1]
        # Each event went to exactly one instance of the group, and both took a share.
        assert sorted(ids) == sorted(e.id for e in sent)
        assert per_instance[0] and per_instance[1]
        # Another service (another group) sees every event.
        assert len(audit_got) == 200
        for s in [*sources, audit]:
            await s.close()
    finally:
        for t in [*instances, other_service, publisher]:
            await t.close()


async def test_message_without_envelope_is_reported_not_raised(nats_url: str) -> None:
    subject = unique("evt.malformed")
    transport = await connect(nats_url)
    try:
        source = transport.source("svc", "c1", [subject], FAST)
        await source.open()
        await transport.nc.publish(subject, b'{"not": "an envelope"}')
        await transport.nc.publish(subject, b"{}", headers={"ce-specversion": "1.0"})
        got = await collect(source, 2)
        assert [i.envelope for i in got] == [None, None]
        assert got[0].error == "message has no CloudEvents headers"
        assert got[1].error is not None and "ce-id" in got[1].error
        await source.close()
    finally:
        await transport.close()


async def test_dead_letter_keeps_original_and_reason(nats_url: str) -> None:
    subject = unique("evt.dead")
    transport = await connect(nats_url)
    try:
        source = transport.source("svc", "c1", [subject], FAST)
        await source.open()
        sent = envelope(1)
        await transport.publish([Outbound(subject, sent)])
        [inbound] = await collect(source, 1)
        await source.settle([], [DeadLetter(inbound, "handler_failed", "ValueError", "boom")])

        info = await transport.js.stream_info(DEAD_LETTER_STREAM)
        assert info.config.subjects == ["schemabus.dlq.>"]
        msg = await transport.js.get_last_msg(DEAD_LETTER_STREAM, dead_letter_subject(subject))
        assert msg.data == sent.data
        headers = msg.headers or {}
        assert headers["dlq_reason"] == "handler_failed"
        assert headers["dlq_error_type"] == "ValueError"
        assert headers["dlq_error_message"] == "boom"
        assert headers["dlq_group"] == "svc"
        assert headers["dlq_stream"] == subject
        # The original envelope survives, so the event can be replayed as it was.
        assert Envelope.from_headers(headers, msg.data) == sent
        await source.close()
    finally:
        await transport.close()


async def test_completed_events_are_remembered(nats_url: str) -> None:
    subject = unique("evt.dedupe")
    transport = await connect(nats_url)
    try:
        source = transport.source("svc", "c1", [subject], FAST)
        await source.open()
        sent = envelope(1)
        await transport.publish([Outbound(subject, sent)])
        (first,) = await collect(source, 1)
        assert not first.completed
        await source.settle([first], [])
        await transport.publish([Outbound(subject, sent)])  # a publisher retry
        (second,) = await collect(source, 1)
        assert second.completed
        await source.close()
    finally:
        await transport.close()


async def test_capabilities(nats_url: str) -> None:
    core = await connect(nats_url)
    durable = await connect(nats_url, jetstream=["evt.js"])
    try:
        assert core.capabilities == {"live", "request"}
        assert durable.capabilities == {"live", "request", "durable"}
        assert isinstance(core, NatsTransport)
    finally:
        await core.close()
        await durable.close()

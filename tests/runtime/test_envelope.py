from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.envelope import Envelope, MalformedEnvelope


def _full() -> Envelope:
    return Envelope.new(
        source="order",
        type="order.created",
        dataversion=2,
        data=b'{"order_id":"o1"}',
        subject="o1",
        dataschema="schemas/events/order.created/v2.json",
        causationid="cause",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def _as_redis(fields: dict[str, str | bytes]) -> dict[bytes, bytes]:
    return {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}


def test_new_sets_cloudevents_attributes() -> None:
    env = _full()
    uuid.UUID(env.id)
    assert env.specversion == "1.0"
    assert env.correlationid == env.id  # a new event starts its own correlation
    assert env.time.endswith("Z") and "T" in env.time


def test_redis_fields_round_trip() -> None:
    env = _full()
    fields = env.to_fields()
    assert fields["data"] == env.data and fields["type"] == "order.created"
    assert Envelope.from_fields(_as_redis(fields)) == env


def test_optional_attributes_omitted() -> None:
    env = Envelope.new(source="s", type="t", dataversion=1, data=b"{}")
    fields = env.to_fields()
    assert "subject" not in fields and "traceparent" not in fields and "causationid" not in fields
    assert Envelope.from_fields(_as_redis(fields)) == env


def test_nats_headers_round_trip() -> None:
    env = _full()
    headers = env.to_headers()
    assert headers["ce-type"] == "order.created" and headers["traceparent"] == env.traceparent
    assert headers["content-type"] == "application/json"
    assert Envelope.from_headers(headers, env.data) == env


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no 'specversion'"),
        ({"specversion": "0.3"}, "specversion"),
        (
            {"specversion": "1.0", "id": "x", "source": "s", "type": "t", "data": "{}"},
            "dataversion",
        ),
        (
            {
                "specversion": "1.0",
                "id": "x",
                "source": "s",
                "type": "t",
                "dataversion": "v2",
                "data": "{}",
            },
            "bad attribute",
        ),
        (
            {"specversion": "1.0", "id": "x", "source": "s", "type": "t", "dataversion": "1"},
            "'data'",
        ),
    ],
)
def test_malformed_entries_named(fields: dict[str, str], message: str) -> None:
    with pytest.raises(MalformedEnvelope, match=message):
        Envelope.from_fields(_as_redis(fields))  # type: ignore[arg-type]


def test_non_utf8_attribute_is_malformed() -> None:
    fields = _as_redis(_full().to_fields())
    fields[b"type"] = b"\xff\xfe"
    with pytest.raises(MalformedEnvelope):
        Envelope.from_fields(fields)


def test_headers_missing() -> None:
    with pytest.raises(MalformedEnvelope):
        Envelope.from_headers(None, b"{}")
    with pytest.raises(MalformedEnvelope, match="ce-id"):
        Envelope.from_headers({"ce-specversion": "1.0"}, b"{}")


@given(
    subject=st.none() | st.text(min_size=1),
    data=st.binary(),
    version=st.integers(min_value=1, max_value=10_000),
)
def test_round_trip_any_text(subject: str | None, data: bytes, version: int) -> None:
    env = Envelope.new(source="s", type="a.b", dataversion=version, data=data, subject=subject)
    assert Envelope.from_fields(_as_redis(env.to_fields())) == env
    assert Envelope.from_headers(env.to_headers(), data) == env

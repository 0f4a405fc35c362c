"""Event ids must be present and short; events over the size limit are refused at publish.

The size of an event is that of its stream entry, every field name and value counted (a
20 MB extra attribute is as bad as 20 MB of data); the consumer bounds the same measure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from runtime import constants as C
from runtime.envelope import Envelope, MalformedEnvelope, entry_size, entry_size_over
from runtime.errors import EventTooLarge
from runtime.redis_conn import make_client
from runtime.redis_streams import RedisTransport
from runtime.settings import RedisSettings, Settings
from runtime.transport import Outbound


def _env(data: bytes = b'{"order_id":"o1"}', **attrs: Any) -> Envelope:
    env = Envelope.new(source="order", type="order.created", dataversion=2, data=data)
    return replace(env, **attrs) if attrs else env


def _as_redis(fields: dict[str, str | bytes]) -> dict[bytes, bytes]:
    return {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}


# --- event ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_id", "message"),
    [("", "event id is empty"), ("x" * (C.MAX_EVENT_ID_LENGTH + 1), "at most 256")],
)
def test_empty_or_overlong_id_is_malformed(event_id: str, message: str) -> None:
    env = _env(id=event_id)
    with pytest.raises(MalformedEnvelope, match=message):
        Envelope.from_fields(_as_redis(env.to_fields()))
    with pytest.raises(MalformedEnvelope, match=message):
        Envelope.from_headers(env.to_headers(), env.data)


def test_longest_id_is_accepted() -> None:
    env = _env(id="i" * C.MAX_EVENT_ID_LENGTH)
    assert Envelope.from_fields(_as_redis(env.to_fields())) == env
    assert Envelope.from_headers(env.to_headers(), env.data) == env


# --- size measure -------------------------------------------------------------------------


def test_entry_size_counts_every_name_and_value_in_utf8() -> None:
    env = _env(data=b"12345", subject="äöü€")  # 2 + 2 + 2 + 3 bytes
    fields = env.to_fields()
    expected = sum(
        len(k.encode()) + len(v if isinstance(v, bytes) else v.encode()) for k, v in fields.items()
    )
    assert entry_size(fields) == expected == entry_size(_as_redis(fields))


@pytest.mark.parametrize("subject", ["plain-ascii", "ünïcödé-€-𝄞" * 50])
def test_entry_size_over_is_exact_at_the_boundary(subject: str) -> None:
    fields = _env(data=b"x" * 5000, subject=subject).to_fields()
    size = entry_size(fields)
    assert entry_size_over(fields, size) is None
    assert entry_size_over(fields, size - 1) == size


# --- publish ----------------------------------------------------------------------------


def _transport(url: str, limit: int) -> RedisTransport:
    settings = replace(RedisSettings.from_url(url), max_payload_bytes=limit)
    return RedisTransport(make_client(settings.client_kwargs()), settings)


@pytest.mark.redis
async def test_oversized_event_is_refused_and_nothing_of_its_batch_written(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    limit = 4096
    transport = _transport(redis_url, limit)
    ok = _env()
    big_data = _env(data=b"x" * limit)
    big_attr = _env(subject="s" * limit)  # not only data counts
    try:
        for bad in (big_data, big_attr):
            with pytest.raises(EventTooLarge) as failure:
                await transport.publish([Outbound("orders", ok), Outbound("orders", bad)])
            message = str(failure.value)
            assert "\n" not in message
            assert f"order.created v2 (id {bad.id})" in message
            assert f"over the limit of {limit} bytes" in message
            assert "SCHEMABUS_MAX_PAYLOAD_BYTES" in message
            with pytest.raises(EventTooLarge):
                await transport.publish([Outbound("orders", bad)])
        assert await redis_client.xlen("orders") == 0

        # Exactly at the limit is published, and is what a consumer accepts.
        fits = replace(ok, data=ok.data + b" " * (limit - entry_size(ok.to_fields())))
        await transport.publish([Outbound("orders", fits)])
        rows: Any = await redis_client.xrange("orders")
        assert len(rows) == 1 and entry_size(rows[0][1]) == limit
    finally:
        await transport.close()


def test_limit_is_shared_with_the_consumer() -> None:
    s = Settings.from_env({"SCHEMABUS_MAX_PAYLOAD_BYTES": "2048"})
    assert s.redis is not None
    assert s.redis.max_payload_bytes == s.consumer.max_payload_bytes == 2048
    d = Settings.from_env({})
    assert d.redis is not None
    assert d.redis.max_payload_bytes == d.consumer.max_payload_bytes == C.MAX_PAYLOAD_BYTES

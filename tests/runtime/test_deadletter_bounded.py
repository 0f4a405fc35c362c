"""The bounded dead-letter form of an oversized entry (pure functions, no server)."""

from __future__ import annotations

import hashlib

import pytest

from runtime import constants as C
from runtime.deadletter import (
    BUDGET_BYTES,
    MAX_SUMMARIES,
    PREFIX_BYTES,
    bounded_fields,
    dead_letter_entry,
    original_fields,
    truncation,
)
from runtime.envelope import Envelope, entry_size
from runtime.transport import DeadLetter, Inbound

#: What a bounded form may hold at most, whatever the input: the kept fields' budget plus
#: the summaries (names up to 256 bytes, escaped) and the dlq_* fields.
BOUND = BUDGET_BYTES + 64 * 1024

MB = 1024 * 1024


def _entry(data: bytes, **extra: bytes) -> dict[bytes, bytes]:
    env = Envelope.new(source="order", type="order.created", dataversion=2, data=data)
    fields = {
        k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in env.to_fields().items()
    }
    fields.update({k.encode(): v for k, v in extra.items()})
    return fields


def _dead(raw: dict[bytes, bytes]) -> DeadLetter:
    inbound = Inbound("orders", "1-1", 1, None, "too large", raw)
    return DeadLetter(inbound, C.REASON_OVERSIZED, "Oversized", "entry over the limit")


def test_forty_megabytes_of_data_and_a_twenty_megabyte_field() -> None:
    data = b"d" * (40 * MB)
    extra = b"e" * (20 * MB)
    raw = _entry(data, blob=extra)
    fields = dead_letter_entry(_dead(raw), "payment", max_bytes=C.MAX_PAYLOAD_BYTES)

    assert entry_size(fields) < BOUND
    assert fields[b"data"] == data[:PREFIX_BYTES] and fields[b"blob"] == extra[:PREFIX_BYTES]
    assert fields[b"id"] == raw[b"id"] and fields[b"type"] == b"order.created"  # small: kept
    assert fields[C.DLQ_REASON.encode()] == C.REASON_OVERSIZED.encode()
    record = truncation(fields)
    assert record is not None
    assert record["entry_bytes"] == entry_size(raw) and record["entry_fields"] == len(raw)
    cut = {c["field"]: c for c in record["cut"]}
    assert cut["data"] == {
        "field": "data",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "kept": PREFIX_BYTES,
    }
    assert cut["blob"]["size"] == len(extra)
    assert cut["blob"]["sha256"] == hashlib.sha256(extra).hexdigest()
    # Replay strips the dlq_* fields, but what is left is not the event: it must be refused.
    assert original_fields(fields)[b"data"] != data


def test_an_entry_within_the_limit_is_kept_whole() -> None:
    raw = _entry(b'{"order_id":"o1"}')
    fields = dead_letter_entry(_dead(raw), "payment", max_bytes=C.MAX_PAYLOAD_BYTES)
    assert original_fields(fields) == raw and truncation(fields) is None


def test_many_small_fields_stay_within_the_budget() -> None:
    raw = {b"f%06d" % i: b"v" * 100 for i in range(100_000)}  # ~11 MB in small pieces
    fields = bounded_fields(raw)
    assert entry_size(fields) < BOUND
    record = truncation(fields)
    assert record is not None
    kept = [k for k in fields if k != C.DLQ_TRUNCATED.encode()]
    assert len(kept) + len(record["cut"]) + record["rest"]["fields"] == len(raw)
    assert len(record["cut"]) == MAX_SUMMARIES
    assert all(raw[k] == fields[k] for k in kept)  # what is kept is kept exactly


def test_huge_field_names_are_summarised_not_kept() -> None:
    name = b"\xff" * (5 * MB)  # not even UTF-8
    raw = {**_entry(b"{}"), name: b"v"}
    fields = bounded_fields(raw)
    assert name not in fields and entry_size(fields) < BOUND
    record = truncation(fields)
    assert record is not None
    (summary,) = record["cut"]
    assert summary["name_size"] == len(name) and summary["kept"] == 0
    assert summary["field"].startswith("\\xff")


def test_a_forged_truncation_field_is_replaced() -> None:
    raw = _entry(b"x" * (2 * MB), dlq_truncated=b'{"entry_bytes": 1}')
    record = truncation(dead_letter_entry(_dead(raw), "g", max_bytes=C.MAX_PAYLOAD_BYTES))
    assert record is not None and record["entry_bytes"] == entry_size(raw)


def test_deterministic() -> None:
    """No clock or randomness: the same entry gives the same bytes (dlq_time is added
    beside it by `dead_letter_fields`)."""
    raw = _entry(b"z" * (3 * MB), other=b"o" * (2 * PREFIX_BYTES))
    assert bounded_fields(raw) == bounded_fields(dict(raw))


@pytest.mark.parametrize("prefix", [0, 1, 10])
def test_prefix_size_is_a_parameter(prefix: int) -> None:
    raw = _entry(b"abcdefghijklmnop" * 100)
    fields = bounded_fields(raw, prefix_bytes=prefix)
    if prefix:
        assert fields[b"data"] == raw[b"data"][:prefix]
    else:
        assert b"data" not in fields

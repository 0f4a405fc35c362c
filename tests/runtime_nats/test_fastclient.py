"""`runtime.nats.fastclient` encodes and parses headers exactly as nats-py does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

from runtime.envelope import Envelope
from runtime.nats.fastclient import FastClient, parse_header_lines

_names = st.sampled_from(
    ["ce-id", "ce-type", "traceparent", "Nats-Msg-Id", " ce-id ", "", " ", "a b", "x:y", "é"]
) | st.text(max_size=12)
_values = st.text(max_size=30) | st.sampled_from(["", " v ", "a\r\nb", "\n", "x\ry"])


async def _sent(cls: type[Client], headers: dict[str, Any] | None) -> bytes | str:
    """The HPUB/PUB command `cls` writes for `headers`, or the error it raises."""
    client = cls()
    out: list[bytes] = []

    async def capture(cmd: bytes, priority: bool = False) -> None:
        out.append(cmd)

    client._send_command = capture  # type: ignore[method-assign]
    try:
        await client._send_publish("subj", "inbox", b"payload", 7, headers)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    assert client.stats["out_msgs"] == 1 and client.stats["out_bytes"] == 7
    [cmd] = out
    return cmd


@given(headers=st.dictionaries(_names, _values, max_size=8))
async def test_encoding_matches_nats_py(headers: dict[str, str]) -> None:
    assert await _sent(FastClient, headers) == await _sent(Client, headers)


async def test_envelope_and_no_headers_encode_like_nats_py() -> None:
    env = Envelope.new(source="s", type="t", dataversion=1, data=b"{}", subject="x\r\ny")
    for headers in (env.to_headers(), None, {}):
        assert await _sent(FastClient, headers) == await _sent(Client, headers)


_raw_names = st.sampled_from(
    [b"ce-id", b" ce-id", b"ce-id ", b"", b" ", b"a b", b"a\x1cb", b"b\x1c", b"\xc3\xa9", b"\t"]
) | st.binary(max_size=10).filter(lambda b: b"\r\n" not in b)
_raw_values = st.binary(max_size=20).filter(lambda b: b"\r\n" not in b) | st.sampled_from(
    [b"", b" v ", b"\xff", b"a:b"]
)
_lines = st.tuples(_raw_names, st.sampled_from([b":", b": ", b":\t", b""]), _raw_values).map(
    lambda t: t[0] + t[1] + t[2]
)


@given(lines=st.lists(_lines, max_size=10), blank=st.booleans())
def test_parsing_matches_nats_py(lines: list[bytes], blank: bool) -> None:
    raw = b"\r\n".join(lines) + (b"\r\n\r\n" if blank else b"")
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)
    # Twice: the second time names come from the cache.
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"a: 1\r\nb:2\r\n\r\n", b": empty\r\n", b"x\r\n"])
def test_parsing_edge_cases(raw: bytes) -> None:
    assert parse_header_lines(raw) == Client._parse_header_lines(raw)

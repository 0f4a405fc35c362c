"""nats-py's client with cheaper header encoding and parsing.

Every envelope travels as ~8 headers, and nats-py re-validates each header name with a
regular expression on every publish and checks each received name character by
character (together ~3 µs per header). The header names schemabus sends are the same few
on every message, so both directions remember what they worked out per name (a bounded
cache) and do only the per-value work. The output is byte-for-byte and dict-for-dict what
nats-py produces for any headers (tests/runtime_nats/test_fastclient.py compares them).
"""

from __future__ import annotations

from typing import Any

from nats import errors

# The same rules as nats-py 2.16: header names are RFC 7230 tokens, values are trimmed and
# may not contain CR/LF.
from nats.aio.client import _HEADER_KEY_RE, _HEADER_VALUE_NEWLINES, Client
from nats.protocol import command as prot_command

_CRLF = b"\r\n"
_HDR_START = b"NATS/1.0\r\n"
_CACHE_LIMIT = 1024
# Cached for a received name nats-py drops; never a key it returns (those have no spaces).
_DROP = " "

# Header name as given to publish -> b"Name: ".
_send_names: dict[str, bytes] = {}
# Raw name bytes as received (before the colon) -> the key nats-py would produce, or _DROP.
_recv_names: dict[bytes, str] = {}


def encode_headers(headers: dict[str, Any]) -> bytearray:
    """The header block nats-py's `Client._send_publish` builds, or its error."""
    hdr = bytearray(_HDR_START)
    names = _send_names
    for k, v in headers.items():
        prefix = names.get(k)
        if prefix is None:
            key = k.strip()
            if not key:
                continue  # nats-py skips empty names
            if not _HEADER_KEY_RE.fullmatch(key):
                raise errors.BadHeaderError(key)
            prefix = key.encode() + b": "
            if len(names) < _CACHE_LIMIT:
                names[k] = prefix
        value = v.strip()
        if "\r" in value or "\n" in value:
            value = value.translate(_HEADER_VALUE_NEWLINES)
        hdr += prefix
        hdr += value.encode()
        hdr += _CRLF
    hdr += _CRLF
    return hdr


def _received_name(name: bytes) -> str:
    key_bytes = name.strip()
    if not key_bytes.isascii():
        return _DROP  # nats-py skips names that are not ASCII
    key = key_bytes.decode("ascii")
    # nats-py skips names containing whitespace (str.isspace); an empty name it keeps.
    if key and key.split() != [key]:
        return _DROP
    return key


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """What nats-py's `Client._parse_header_lines` returns for `raw`."""
    out: dict[str, str] = {}
    names = _recv_names
    for line in raw.split(_CRLF):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = names.get(name)
        if key is None:
            key = _received_name(name)
            if len(names) < _CACHE_LIMIT:
                names[name] = key
        if key == _DROP:
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


class FastClient(Client):
    """`nats.aio.client.Client` with `encode_headers` / `parse_header_lines`."""

    _parse_header_lines = staticmethod(parse_header_lines)

    async def _send_publish(
        self,
        subject: str,
        reply: str,
        payload: bytes,
        payload_size: int,
        headers: dict[str, Any] | None,
    ) -> None:
        # nats-py 2.16's method with the header loop replaced by `encode_headers`.
        if subject == "":
            raise errors.BadSubjectError
        if headers is None:
            pub_cmd = prot_command.pub_cmd(subject, reply, payload)
        else:
            pub_cmd = prot_command.hpub_cmd(subject, reply, encode_headers(headers), payload)
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += payload_size
        await self._send_command(pub_cmd)
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()

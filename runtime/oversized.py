"""Entries over the consumer's size limit: what is kept of them.

A consumer never holds an oversized entry whole: the Redis read script (and the in-memory
transport, the same way) replaces it with a bounded stand-in before it leaves the broker,
and that stand-in is what the dead-letter stream receives. It keeps a prefix of each
field (enough to see what the entry was), the entry's size, and the SHA-1 of its values
so the original can be matched while it is still in the stream (Redis's Lua offers SHA-1,
not SHA-256, and the point is to never ship the bytes to the client).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

#: Bytes of each field kept in the stand-in of an oversized entry (as on Redis).
OVERSIZED_PREFIX = 1024


def bounded_stand_in(fields: Mapping[bytes, bytes], size: int) -> dict[bytes, bytes]:
    """What the Redis read script returns for an oversized entry: each field cut to a
    prefix, the entry's size and the SHA-1 of its values."""
    out: dict[bytes, bytes] = {b"schemabus-oversized": str(size).encode()}
    for key, value in fields.items():
        out[key[:OVERSIZED_PREFIX]] = value[:OVERSIZED_PREFIX]
    out[b"schemabus-sha1"] = hashlib.sha1(b"".join(fields.values())).hexdigest().encode()
    return out


def oversized_error(size: int) -> str:
    return (
        f"entry is {size} bytes, over the consumer's limit; kept: a prefix of each field, "
        "the size and the SHA-1 of its values"
    )

"""Samples of what really sits in the streams: the last K entries of each stream.

A stream with `partitions: N` is N Redis streams; its newest K entries over all of them
are read (K per partition with XREVRANGE, then the newest K of those by entry id, which
is the broker's clock; entries of two partitions written in the same millisecond have
no order between them, because sequence numbers count per stream). `schemabus sample
--out FILE` writes them as JSON lines, one entry per line, for gates that cannot reach
the broker:

    {"stream": "orders", "key": "orders:{2}", "id": "1712345678901-0",
     "fields": {"specversion": "1.0", "type": "order.created", ..., "data": "{...}"}}

A field value that is not UTF-8 is written as {"base64": "..."}; nothing is lost.
"""

from __future__ import annotations

import base64
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from runtime.partitioning import partition_keys

#: Entries read per stream unless told otherwise.
DEFAULT_COUNT = 1000


@dataclass(frozen=True, slots=True)
class Sample:
    stream: str  # the catalog's stream name
    key: str  # the Redis key of its partition
    id: str  # the entry id
    fields: dict[bytes, bytes]


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read_stream(client: Any, stream: str, partitions: int, count: int) -> list[Sample]:
    """The newest `count` entries of `stream` over all its partitions, oldest first."""
    found: list[Sample] = []
    for key in partition_keys(stream, partitions):
        rows = await client.xrevrange(key, count=count)
        for entry_id, fields in rows:
            found.append(Sample(stream, key, _s(entry_id), dict(fields)))
    newest = heapq.nlargest(count, found, key=lambda s: _id(s.id))
    return sorted(newest, key=lambda s: (_id(s.id), s.key))


async def read_streams(client: Any, streams: Iterable[tuple[str, int]], count: int) -> list[Sample]:
    out: list[Sample] = []
    for stream, partitions in sorted(set(streams)):
        out += await read_stream(client, stream, partitions, count)
    return out


def _field(value: bytes) -> Any:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


def _unfield(value: Any) -> bytes:
    if isinstance(value, dict):
        return base64.b64decode(value["base64"])
    return str(value).encode("utf-8")


def to_line(sample: Sample) -> bytes:
    doc = {
        "stream": sample.stream,
        "key": sample.key,
        "id": sample.id,
        "fields": {_s(k): _field(v) for k, v in sample.fields.items()},
    }
    return orjson.dumps(doc) + b"\n"


def write_jsonl(samples: Iterable[Sample], out: IO[bytes]) -> int:
    n = 0
    for sample in samples:
        out.write(to_line(sample))
        n += 1
    return n


class SampleFileError(ValueError):
    """A line of a sample file that is not a sample (the message names file and line)."""


def read_jsonl(path: Path) -> Iterator[Sample]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
                fields = {str(k).encode(): _unfield(v) for k, v in doc["fields"].items()}
                stream = str(doc["stream"])
                yield Sample(stream, str(doc.get("key", stream)), str(doc["id"]), fields)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise SampleFileError(
                    f"{path}:{number}: not a sample line ({type(exc).__name__}: {exc}); "
                    "write sample files with `schemabus sample --out FILE`"
                ) from None


def durable_streams(specs: Sequence[Any]) -> list[tuple[str, int]]:
    """(stream, partitions) of every durable event spec."""
    return sorted({(s.stream, s.partitions) for s in specs if s.delivery == "durable" and s.stream})

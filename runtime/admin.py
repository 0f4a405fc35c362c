"""Dead letters: inspection, replay and purge (`schemabus dlq ...`).

Plain async functions over a redis client so that tests and scripts can call them too.
Stream status (`schemabus status`) is in `runtime.status`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from runtime import constants as C
from runtime.deadletter import original_fields
from runtime.envelope import Envelope, MalformedEnvelope


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def streams(client: Any) -> tuple[list[str], list[str]]:
    """(event streams, dead-letter streams), sorted."""
    names: set[str] = set()
    async for key in client.scan_iter(count=1000, _type="stream"):
        names.add(_s(key))
    dlq = sorted(n for n in names if n.startswith(C.DEAD_LETTER_PREFIX))
    return sorted(names - set(dlq)), dlq


# --- dead letters -----------------------------------------------------------------------


@dataclass(slots=True)
class DeadLetterEntry:
    dlq_stream: str
    dlq_id: str
    fields: dict[bytes, bytes]

    def get(self, name: str) -> str:
        value = self.fields.get(name.encode())
        return "" if value is None else value.decode(errors="replace")

    @property
    def stream(self) -> str:
        return self.get(C.DLQ_ORIGINAL_STREAM) or C.source_of_dead_letter_stream(self.dlq_stream)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.dlq_id,
            "stream": self.stream,
            "original_id": self.get(C.DLQ_ORIGINAL_ID),
            "type": self.get("type"),
            "version": self.get("dataversion"),
            "event_id": self.get("id"),
            "reason": self.get(C.DLQ_REASON),
            "error_type": self.get(C.DLQ_ERROR_TYPE),
            "error": self.get(C.DLQ_ERROR_MESSAGE),
            "attempts": self.get(C.DLQ_ATTEMPTS),
            "group": self.get(C.DLQ_GROUP),
            "time": self.get(C.DLQ_TIME),
        }

    def detail(self) -> dict[str, Any]:
        out = self.summary()
        data = self.fields.get(b"data")
        try:
            out["data"] = orjson.loads(data) if data is not None else None
        except orjson.JSONDecodeError:
            out["data"] = (data or b"").decode(errors="replace")
        dlq_names = {f.encode() for f in C.DLQ_FIELDS} | {b"data"}
        out["attributes"] = {
            k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in self.fields.items()
            if k not in dlq_names
        }
        return out


async def dead_letters(
    client: Any, stream: str | None = None, *, count: int = 100
) -> list[DeadLetterEntry]:
    """Dead letters, oldest first; of one source stream, or of all."""
    names = [C.dead_letter_stream(stream)] if stream else (await streams(client))[1]
    out: list[DeadLetterEntry] = []
    for name in names:
        for entry_id, fields in await client.xrange(name, count=count):
            out.append(DeadLetterEntry(name, _s(entry_id), dict(fields)))
    return out


async def find_dead_letter(client: Any, dlq_id: str, stream: str | None = None) -> DeadLetterEntry:
    names = [C.dead_letter_stream(stream)] if stream else (await streams(client))[1]
    for name in names:
        rows = await client.xrange(name, min=dlq_id, max=dlq_id)
        if rows:
            return DeadLetterEntry(name, _s(rows[0][0]), dict(rows[0][1]))
    raise LookupError(f"no dead letter {dlq_id!r}; `schemabus dlq list` shows the ids")


Validator = Callable[[Envelope], None]


@dataclass(slots=True)
class ReplayResult:
    replayed: list[tuple[str, str]] = field(default_factory=list)  # (dlq id, new entry id)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (dlq id, why)


async def replay(
    client: Any, entries: Sequence[DeadLetterEntry], *, validate: Validator | None = None
) -> ReplayResult:
    """Append each entry's original fields to its original stream, then delete it from the
    dead-letter stream (both in one MULTI per entry, so an entry is never in both or
    neither). With `validate`, entries whose envelope or payload is invalid stay put."""
    result = ReplayResult()
    for entry in entries:
        fields = original_fields(entry.fields)
        if validate is not None:
            try:
                validate(Envelope.from_fields(fields))
            except (MalformedEnvelope, LookupError, ValueError) as exc:
                result.rejected.append((entry.dlq_id, f"{type(exc).__name__}: {exc}"))
                continue
        pipe = client.pipeline(transaction=True)
        pipe.xadd(entry.stream, fields)
        pipe.xdel(entry.dlq_stream, entry.dlq_id)
        new_id, _ = await pipe.execute()
        result.replayed.append((entry.dlq_id, _s(new_id)))
    return result


async def purge(client: Any, entries: Sequence[DeadLetterEntry]) -> int:
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        pipe.xdel(entry.dlq_stream, entry.dlq_id)
    return sum(int(n) for n in await pipe.execute()) if entries else 0

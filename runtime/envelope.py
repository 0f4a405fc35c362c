"""The CloudEvents 1.0 envelope every event travels in, and its two wire forms.

On Redis an envelope is one stream entry whose fields are the attribute names and whose
`data` field is the JSON payload; on NATS the attributes are `ce-<name>` headers (the
CloudEvents NATS binding, binary mode) and the payload is the message body. The payload
stays raw JSON bytes here: the envelope never parses or re-serialises it.

This module is on the hot path of every publish and every delivery, so it is plain
code over a slotted dataclass: no validation library, no per-field indirection.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.constants import DATA_FIELD, MAX_EVENT_ID_LENGTH, NATS_HEADER_PREFIX

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
#: Names the derivable attributes (`dataschema`, `correlationid`) an envelope really
#: lacks, so a compact encoding that leaves them out still round-trips.
ABSENT_HEADER = "schemabus-absent"


class MalformedEnvelope(ValueError):
    """A stream entry or NATS message that is not a schemabus envelope."""


_pool = ""  # hex digits of OS entropy, 32 per id
_offset = 0
_VARIANT = "89ab" * 4  # indexed by a hex digit: the RFC 4122 variant bits 10xx
_HEX = {c: i for i, c in enumerate("0123456789abcdef")}


def new_id() -> str:
    """A random (version 4) UUID string.

    Same format and randomness source as `str(uuid.uuid4())` at a quarter of the cost:
    entropy is drawn from the OS 4 KiB at a time and formatted without a UUID object.
    The pool is per process; a fork would share it, so it is dropped after fork.
    """
    global _pool, _offset
    o = _offset
    if o >= len(_pool):
        _pool, o = os.urandom(4096).hex(), 0
    _offset = o + 32
    h = _pool
    return (
        f"{h[o : o + 8]}-{h[o + 8 : o + 12]}-4{h[o + 13 : o + 16]}-"
        f"{_VARIANT[_HEX[h[o + 16]]]}{h[o + 17 : o + 20]}-{h[o + 20 : o + 32]}"
    )


def _reset_pool() -> None:
    global _pool, _offset
    _pool, _offset = "", 0


os.register_at_fork(after_in_child=_reset_pool)

_last_ms = -1
_last_stamp = ""


def now() -> str:
    """RFC 3339 UTC timestamp with milliseconds (formatted once per millisecond)."""
    global _last_ms, _last_stamp
    ms = int(_time.time() * 1000)
    if ms != _last_ms:
        stamp = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
        _last_ms, _last_stamp = ms, stamp.replace("+00:00", "Z")
    return _last_stamp


@dataclass(slots=True)
class Envelope:
    id: str
    source: str
    type: str
    dataversion: int
    data: bytes
    time: str = ""
    subject: str | None = None
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    specversion: str = SPECVERSION

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,
        dataversion: int,
        data: bytes,
        subject: str | None = None,
        dataschema: str | None = None,
        correlationid: str | None = None,
        causationid: str | None = None,
        traceparent: str | None = None,
        time: str | None = None,
    ) -> Envelope:
        """A fresh envelope; a new event starts its own correlation unless given one."""
        event_id = new_id()
        return cls(
            id=event_id,
            source=source,
            type=type,
            dataversion=dataversion,
            data=data,
            time=time or now(),
            subject=subject,
            dataschema=dataschema,
            correlationid=correlationid or event_id,
            causationid=causationid,
            traceparent=traceparent,
        )

    # --- Redis stream entry -------------------------------------------------------------

    def to_fields(self) -> dict[str, str | bytes]:
        """Stream-entry fields; absent optional attributes are omitted."""
        fields: dict[str, str | bytes] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "dataversion": str(self.dataversion),
            "time": self.time,
        }
        if self.subject is not None:
            fields["subject"] = self.subject
        if self.dataschema is not None:
            fields["dataschema"] = self.dataschema
        if self.correlationid is not None:
            fields["correlationid"] = self.correlationid
        if self.causationid is not None:
            fields["causationid"] = self.causationid
        if self.traceparent is not None:
            fields["traceparent"] = self.traceparent
        fields[DATA_FIELD] = self.data
        return fields

    def to_flat(self) -> list[str | bytes]:
        """`to_fields()` as one flat [name, value, ...] list (what XADD takes), built
        directly: the publish hot path."""
        flat: list[str | bytes] = [
            "specversion",
            self.specversion,
            "id",
            self.id,
            "source",
            self.source,
            "type",
            self.type,
            "dataversion",
            str(self.dataversion),
            "time",
            self.time,
        ]
        if self.subject is not None:
            flat += ("subject", self.subject)
        if self.dataschema is not None:
            flat += ("dataschema", self.dataschema)
        if self.correlationid is not None:
            flat += ("correlationid", self.correlationid)
        if self.causationid is not None:
            flat += ("causationid", self.causationid)
        if self.traceparent is not None:
            flat += ("traceparent", self.traceparent)
        flat += (DATA_FIELD, self.data)
        return flat

    @classmethod
    def from_fields(cls, fields: Mapping[bytes, bytes]) -> Envelope:
        """Parse a stream entry as returned by redis-py (bytes keys and values)."""
        # Hot path of every delivery: optional attributes are inlined, not helper calls.
        try:
            specversion = fields[b"specversion"].decode()
            if specversion != SPECVERSION:
                raise MalformedEnvelope(f"unsupported specversion {specversion!r}")
            get = fields.get
            time = get(b"time")
            subject = get(b"subject")
            dataschema = get(b"dataschema")
            correlationid = get(b"correlationid")
            causationid = get(b"causationid")
            traceparent = get(b"traceparent")
            event_id = fields[b"id"].decode()
            if not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
                raise MalformedEnvelope(_bad_id(event_id))
            return cls(
                event_id,
                fields[b"source"].decode(),
                fields[b"type"].decode(),
                int(fields[b"dataversion"]),
                fields[b"data"],
                "" if time is None else time.decode(),
                None if subject is None else subject.decode(),
                None if dataschema is None else dataschema.decode(),
                None if correlationid is None else correlationid.decode(),
                None if causationid is None else causationid.decode(),
                None if traceparent is None else traceparent.decode(),
                specversion,
            )
        except KeyError as exc:
            key = exc.args[0]
            name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            raise MalformedEnvelope(f"entry has no {name!r} field") from None
        except (ValueError, UnicodeDecodeError, AttributeError) as exc:
            if isinstance(exc, MalformedEnvelope):
                raise
            raise MalformedEnvelope(f"entry has a bad attribute: {exc}") from None

    # --- NATS headers (CloudEvents NATS binding, binary mode) ----------------------------

    def to_headers(self) -> dict[str, str]:
        """`ce-*` headers. Per header nats-py spends ~3 µs encoding and parsing, so
        attributes the receiver can derive are left out: `ce-correlationid` when it is the
        event's own id and `ce-dataschema` when it is `default_dataschema(type, version)`.
        An envelope that really has neither is marked with `ABSENT_HEADER`, so
        `from_headers` always returns an equal envelope."""
        p = NATS_HEADER_PREFIX
        headers = {
            p + "specversion": self.specversion,
            p + "id": self.id,
            p + "source": self.source,
            p + "type": self.type,
            p + "dataversion": str(self.dataversion),
            p + "time": self.time,
            "content-type": CONTENT_TYPE,
        }
        if self.subject is not None:
            headers[p + "subject"] = self.subject
        absent = _absent(self)
        dataschema = self.dataschema
        if dataschema is not None and dataschema != default_dataschema(self.type, self.dataversion):
            headers[p + "dataschema"] = dataschema
        correlationid = self.correlationid
        if correlationid is not None and correlationid != self.id:
            headers[p + "correlationid"] = correlationid
        if absent:
            headers[ABSENT_HEADER] = absent
        if self.causationid is not None:
            headers[p + "causationid"] = self.causationid
        if self.traceparent is not None:
            # W3C name as well, so non-schemabus NATS tooling picks the trace up.
            headers["traceparent"] = self.traceparent
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None, data: bytes) -> Envelope:
        """Parse `ce-*` headers, full (older producers, other CloudEvents tooling) or
        compact (see `to_headers`): a missing `ce-correlationid` is the event id, a
        missing `ce-dataschema` the type's default, unless `ABSENT_HEADER` names them."""
        if not headers:
            raise MalformedEnvelope("message has no CloudEvents headers")
        p = NATS_HEADER_PREFIX
        try:
            specversion = headers[p + "specversion"]
            if specversion != SPECVERSION:
                raise MalformedEnvelope(f"unsupported specversion {specversion!r}")
            get = headers.get
            event_id = headers[p + "id"]
            if not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
                raise MalformedEnvelope(_bad_id(event_id))
            type_ = headers[p + "type"]
            dataversion = int(headers[p + "dataversion"])
            dataschema = get(p + "dataschema")
            correlationid = get(p + "correlationid")
            if dataschema is None or correlationid is None:
                absent = get(ABSENT_HEADER) or ""
                if dataschema is None and "dataschema" not in absent:
                    dataschema = default_dataschema(type_, dataversion)
                if correlationid is None and "correlationid" not in absent:
                    correlationid = event_id
            return cls(
                id=event_id,
                source=headers[p + "source"],
                type=type_,
                dataversion=dataversion,
                data=data,
                time=get(p + "time") or "",
                subject=get(p + "subject"),
                dataschema=dataschema,
                correlationid=correlationid,
                causationid=get(p + "causationid"),
                traceparent=get(p + "traceparent") or get("traceparent"),
                specversion=specversion,
            )
        except KeyError as exc:
            raise MalformedEnvelope(f"message has no {exc.args[0]!r} header") from None
        except ValueError as exc:
            if isinstance(exc, MalformedEnvelope):
                raise
            raise MalformedEnvelope(f"message has a bad header: {exc}") from None


def _bad_id(event_id: str) -> str:
    if not event_id:
        return "the event id is empty"
    return f"the event id is {len(event_id)} characters long (at most {MAX_EVENT_ID_LENGTH})"


#: Bytes of the field names `Envelope.to_fields` writes when every attribute is present.
_NAMES_BYTES = sum(map(len, Envelope("", "", "", 1, b"", "", "", "", "", "", "").to_fields()))


def entry_size(fields: Mapping[str, str | bytes] | Mapping[bytes, bytes]) -> int:
    """Bytes of a stream entry: every field name and value, str counted as UTF-8. The
    measure `max_payload_bytes` bounds, at publish and at consumption alike."""
    size = 0
    for name, value in fields.items():
        for part in (name, value):
            size += len(part) if isinstance(part, bytes) or part.isascii() else len(part.encode())
    return size


def entry_size_over(fields: Mapping[str, str | bytes], limit: int) -> int | None:
    """`entry_size(fields)` when it is over `limit`, else None; cheap for the common case
    (one C-level pass over the values: a UTF-8 character is at most 4 bytes)."""
    data = fields.get(DATA_FIELD, b"")
    chars = sum(map(len, fields.values()))
    if len(data) + 4 * (chars - len(data)) + _NAMES_BYTES <= limit:
        return None
    size = entry_size(fields)
    return size if size > limit else None


def flat_size_over(flat: list[str | bytes], limit: int) -> int | None:
    """`entry_size_over` for a flat [name, value, ...] list."""
    chars = sum(map(len, flat))
    data = len(flat[-1])  # the payload is last
    if data + 4 * (chars - data) <= limit:
        return None
    size = entry_size(dict(zip(flat[::2], flat[1::2], strict=True)))  # type: ignore[arg-type]
    return size if size > limit else None


def default_dataschema(type: str, dataversion: int) -> str:
    """Where the schema of a type's version lives (`EventSpec.dataschema`): the value a
    compact envelope leaves out."""
    return f"schemas/events/{type}/v{dataversion}.json"


def _absent(env: Envelope) -> str:
    """Which derivable attributes `env` really lacks (comma-separated), "" for none."""
    if env.dataschema is None:
        return "dataschema,correlationid" if env.correlationid is None else "dataschema"
    return "correlationid" if env.correlationid is None else ""

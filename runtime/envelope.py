"""The CloudEvents 1.0 envelope every event travels in, and its two wire forms.

On Redis an envelope is one stream entry whose fields are the attribute names and whose
`data` field is the JSON payload; on NATS the attributes are `ce-<name>` headers (the
CloudEvents NATS binding, binary mode) and the payload is the message body. The payload
stays raw JSON bytes here: the envelope never parses or re-serialises it.

This module is on the hot path of every publish and every delivery, so it is plain
code over a slotted dataclass: no validation library, no per-field indirection.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.constants import DATA_FIELD, NATS_HEADER_PREFIX

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class MalformedEnvelope(ValueError):
    """A stream entry or NATS message that is not a schemabus envelope."""


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> str:
    """RFC 3339 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    @classmethod
    def from_fields(cls, fields: Mapping[bytes, bytes]) -> Envelope:
        """Parse a stream entry as returned by redis-py (bytes keys and values)."""
        try:
            get = fields.get
            specversion = fields[b"specversion"].decode()
            if specversion != SPECVERSION:
                raise MalformedEnvelope(f"unsupported specversion {specversion!r}")
            return cls(
                id=fields[b"id"].decode(),
                source=fields[b"source"].decode(),
                type=fields[b"type"].decode(),
                dataversion=int(fields[b"dataversion"]),
                data=fields[b"data"],
                time=_opt(get(b"time")) or "",
                subject=_opt(get(b"subject")),
                dataschema=_opt(get(b"dataschema")),
                correlationid=_opt(get(b"correlationid")),
                causationid=_opt(get(b"causationid")),
                traceparent=_opt(get(b"traceparent")),
                specversion=specversion,
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
        if self.dataschema is not None:
            headers[p + "dataschema"] = self.dataschema
        if self.correlationid is not None:
            headers[p + "correlationid"] = self.correlationid
        if self.causationid is not None:
            headers[p + "causationid"] = self.causationid
        if self.traceparent is not None:
            # W3C name as well, so non-schemabus NATS tooling picks the trace up.
            headers["traceparent"] = self.traceparent
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None, data: bytes) -> Envelope:
        if not headers:
            raise MalformedEnvelope("message has no CloudEvents headers")
        p = NATS_HEADER_PREFIX
        try:
            specversion = headers[p + "specversion"]
            if specversion != SPECVERSION:
                raise MalformedEnvelope(f"unsupported specversion {specversion!r}")
            get = headers.get
            return cls(
                id=headers[p + "id"],
                source=headers[p + "source"],
                type=headers[p + "type"],
                dataversion=int(headers[p + "dataversion"]),
                data=data,
                time=get(p + "time") or "",
                subject=get(p + "subject"),
                dataschema=get(p + "dataschema"),
                correlationid=get(p + "correlationid"),
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


def _opt(value: bytes | None) -> str | None:
    return None if value is None else value.decode()

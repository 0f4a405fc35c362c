"""Structured logs: one JSON object per line (or plain text for a terminal).

`configure("json")` installs a formatter on the `schemabus` logger tree. Records carry
the logger, level, message and any `extra=` fields; settings objects never print secrets
(see `runtime.settings.Secret`), so logging them is safe.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def event_fields(inbound: Any) -> dict[str, Any]:
    """`extra=` fields that locate a delivery in logs: event id, type, version, aggregate
    id, trace and span ids (from its traceparent). Never the payload."""
    fields: dict[str, Any] = {
        "destination": inbound.destination,
        "message_id": inbound.message_id,
        "attempts": inbound.attempts,
    }
    env = inbound.envelope
    if env is not None:
        fields.update(
            event_id=env.id,
            event_type=env.type,
            event_version=env.dataversion,
            aggregate_id=env.subject,
            correlation_id=env.correlationid,
        )
        parts = (env.traceparent or "").split("-")
        if len(parts) == 4:
            fields.update(trace_id=parts[1], span_id=parts[2])
    return fields


def configure(fmt: str = "json", level: str | int = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("schemabus")
    root.handlers[:] = [handler]
    root.setLevel(level if isinstance(level, int) else level.upper())
    root.propagate = False

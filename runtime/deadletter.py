"""What a dead-letter entry holds, shared by every transport and the `dlq` command.

A dead-letter entry is the original entry's fields, unchanged, plus `dlq_*` fields that
say why it was given up on, so that replaying it restores the original event exactly.

An oversized entry is the exception: copying 60 MB into the dead-letter stream would
double the memory and the damage. Its dead letter keeps a bounded form instead
(`bounded_fields`): small fields as they are, a prefix of each large one, and, in
`dlq_truncated`, the entry's size and each cut field's size and sha256, so an operator
can still tell what it was and match it against the producer's copy. It cannot be
replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from runtime import constants as C
from runtime.envelope import entry_size, now
from runtime.transport import DeadLetter

MAX_ERROR_MESSAGE = 4000  # keep one huge exception text from bloating the stream

#: How much of each large field value the bounded form keeps.
PREFIX_BYTES = 1024
#: Longer field names are not kept as fields (a name can be as large as a value); the
#: summary shows their first bytes.
MAX_NAME_BYTES = 256
#: What all kept fields together may hold; beyond it fields are only counted and hashed.
BUDGET_BYTES = 64 * 1024
#: Per-field summaries in `dlq_truncated`; further cut fields are counted with the omitted.
MAX_SUMMARIES = 32


def dead_letter_fields(dead: DeadLetter, group: str) -> dict[str, str]:
    """The `dlq_*` fields a dead-letter entry carries beside the original fields."""
    return {
        C.DLQ_REASON: dead.reason,
        C.DLQ_ERROR_TYPE: dead.error_type,
        C.DLQ_ERROR_MESSAGE: dead.message[:MAX_ERROR_MESSAGE],
        C.DLQ_ATTEMPTS: str(dead.inbound.attempts),
        C.DLQ_ORIGINAL_STREAM: dead.inbound.destination,
        C.DLQ_ORIGINAL_ID: dead.inbound.message_id,
        C.DLQ_GROUP: group,
        C.DLQ_TIME: now(),
    }


def dead_letter_entry(dead: DeadLetter, group: str, *, max_bytes: int) -> dict[bytes, bytes]:
    """The whole dead-letter entry for `dead`: its original fields (`inbound.raw`), or
    their bounded form when they are over `max_bytes`, plus the `dlq_*` fields."""
    raw = dead.inbound.raw or {}
    fields = dict(raw) if entry_size(raw) <= max_bytes else bounded_fields(raw)
    for name, value in dead_letter_fields(dead, group).items():
        fields[name.encode()] = value.encode()
    return fields


def bounded_fields(
    fields: Mapping[bytes, bytes],
    *,
    prefix_bytes: int = PREFIX_BYTES,
    budget_bytes: int = BUDGET_BYTES,
) -> dict[bytes, bytes]:
    """A bounded stand-in for an oversized entry's fields (at most about `budget_bytes`
    plus a summary of a few KiB, whatever the input).

    Fields with a short name and value are kept as they are; a large value is cut to its
    first `prefix_bytes`; once the budget is spent (or the name itself is large) a field
    is left out. `dlq_truncated` (JSON) records the entry's size and field count, per cut
    or left-out field its name (cut), size and sha256, and the fields beyond
    `MAX_SUMMARIES` as a count, their bytes and one sha256 over them.

    Long: one pass over the fields keeps the budget, the summaries and the overflow count
    consistent with each other; split up they would need to share all three.
    """
    out: dict[bytes, bytes] = {}
    kept = 0
    summaries: list[dict[str, Any]] = []
    rest_count = rest_bytes = 0
    rest_hash = hashlib.sha256()
    total = 0
    for name, value in fields.items():
        total += len(name) + len(value)
        small_name = len(name) <= MAX_NAME_BYTES
        if (
            small_name
            and len(value) <= prefix_bytes
            and kept + len(name) + len(value) <= budget_bytes
        ):
            out[name] = value
            kept += len(name) + len(value)
            continue
        keep = min(len(value), prefix_bytes) if small_name else 0
        if keep and kept + len(name) + keep > budget_bytes:
            keep = 0
        if len(summaries) < MAX_SUMMARIES:
            summary: dict[str, Any] = {
                "field": name[:MAX_NAME_BYTES].decode(errors="backslashreplace"),
                "size": len(value),
                "sha256": hashlib.sha256(value).hexdigest(),
                "kept": keep,
            }
            if not small_name:
                summary["name_size"] = len(name)
            summaries.append(summary)
        else:
            keep = 0
            rest_count += 1
            rest_bytes += len(name) + len(value)
            # Length-prefixed, so that the digest identifies the fields unambiguously.
            rest_hash.update(b"%d:%s%d:%s" % (len(name), name, len(value), value))
        if keep:
            out[name] = value[:keep]
            kept += len(name) + keep
    record: dict[str, Any] = {"entry_bytes": total, "entry_fields": len(fields), "cut": summaries}
    if rest_count:
        record["rest"] = {
            "fields": rest_count,
            "bytes": rest_bytes,
            "sha256": rest_hash.hexdigest(),
        }
    out[C.DLQ_TRUNCATED.encode()] = orjson.dumps(record)
    return out


def truncation(entry: Mapping[bytes, bytes]) -> dict[str, Any] | None:
    """The `dlq_truncated` record of a dead letter, None when it holds the whole entry."""
    raw = entry.get(C.DLQ_TRUNCATED.encode())
    if raw is None:
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"unreadable": raw[:200].decode(errors="backslashreplace")}
    return record if isinstance(record, dict) else {"unreadable": str(record)[:200]}


def original_fields(entry: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """The entry as it was before dead-lettering (for replay)."""
    dlq = {f.encode() for f in C.DLQ_FIELDS}
    return {k: v for k, v in entry.items() if k not in dlq}

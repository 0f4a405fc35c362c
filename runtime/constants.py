"""Every Redis key, stream-name convention and NATS header name the runtime uses.

Kept in one place so that operators (and `schemabus status` / `schemabus dlq`) can find
everything the framework writes, and so that a prefix change is one edit.
"""

from __future__ import annotations

#: Prefix of every key the framework itself owns (not the event streams, which are named
#: in the catalog).
KEY_PREFIX = "schemabus:"

#: Dead-letter stream of a source stream: `schemabus:dlq:<stream>`.
DEAD_LETTER_PREFIX = KEY_PREFIX + "dlq:"

#: Idempotency marker of a completed event: `schemabus:done:<group>:<event id>`.
IDEMPOTENCY_PREFIX = KEY_PREFIX + "done:"

#: How long a completed event id is remembered per consumer group. Redeliveries after this
#: would rerun the handler; it only has to outlive the visibility timeout plus retries, and a
#: publisher retry window, so a day is generous.
IDEMPOTENCY_TTL_S = 24 * 3600

#: Default bound on one event's stream entry, all field names and values counted
#: (`SCHEMABUS_MAX_PAYLOAD_BYTES`): publishing refuses larger events, consumers
#: dead-letter larger entries as `oversized`.
MAX_PAYLOAD_BYTES = 1_048_576

#: Longest accepted event id. Ids are UUIDs (36 characters) when the framework makes
#: them; an empty or longer id is malformed (it keys idempotency markers).
MAX_EVENT_ID_LENGTH = 256

#: Fields added to a dead-letter entry beside the original entry's fields.
DLQ_ERROR_TYPE = "dlq_error_type"
DLQ_ERROR_MESSAGE = "dlq_error_message"
DLQ_REASON = "dlq_reason"
DLQ_ATTEMPTS = "dlq_attempts"
DLQ_ORIGINAL_STREAM = "dlq_stream"
DLQ_ORIGINAL_ID = "dlq_id"
DLQ_GROUP = "dlq_group"
DLQ_TIME = "dlq_time"
#: Present when the dead letter holds only a bounded form of an oversized entry (JSON:
#: the entry's size, and per cut field its size and sha256); such a dead letter cannot
#: be replayed.
DLQ_TRUNCATED = "dlq_truncated"
DLQ_FIELDS = (
    DLQ_TRUNCATED,
    DLQ_ERROR_TYPE,
    DLQ_ERROR_MESSAGE,
    DLQ_REASON,
    DLQ_ATTEMPTS,
    DLQ_ORIGINAL_STREAM,
    DLQ_ORIGINAL_ID,
    DLQ_GROUP,
    DLQ_TIME,
)

#: Reasons recorded in `dlq_reason`.
REASON_HANDLER_FAILED = "handler_failed"  # max deliveries reached
REASON_MALFORMED = "malformed"  # not an envelope at all
REASON_OVERSIZED = "oversized"  # entry larger than the configured limit
REASON_UNKNOWN_EVENT = "unknown_event"  # type/version not in the registry
REASON_UNREADABLE = "unreadable"  # no read plan from the written to the declared version
REASON_INVALID = "invalid_payload"  # the model rejected the data

#: CloudEvents NATS protocol binding: attributes travel as `ce-<name>` headers.
NATS_HEADER_PREFIX = "ce-"

#: Stream-entry field holding the JSON data.
DATA_FIELD = "data"


def dead_letter_stream(stream: str) -> str:
    return DEAD_LETTER_PREFIX + stream


def source_of_dead_letter_stream(dlq: str) -> str:
    return dlq[len(DEAD_LETTER_PREFIX) :] if dlq.startswith(DEAD_LETTER_PREFIX) else dlq


def idempotency_key(group: str, event_id: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{group}:{event_id}"

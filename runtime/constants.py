"""Every Redis key, stream-name convention and NATS header name the runtime uses.

Kept in one place so that operators (and `schemabus status` / `schemabus dlq`) can find
everything the framework writes, and so that a prefix change is one edit.
"""

from __future__ import annotations

from runtime.partitioning import hash_tag

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
REASON_EFFECT_FAILED = "effect_failed"  # Redis refused a staged effect (a wrong command)

#: Envelope type of a reply that carries a responder's failure instead of a reply model.
ERROR_TYPE = "schemabus.error"

#: CloudEvents NATS protocol binding: attributes travel as `ce-<name>` headers.
NATS_HEADER_PREFIX = "ce-"

#: Stream-entry field holding the JSON data.
DATA_FIELD = "data"


#: Lease on one partition for one group: hash {owner, epoch, expires, since}.
#: `schemabus:lease:<tagged partition>:<group>`.
LEASE_PREFIX = KEY_PREFIX + "lease:"

#: Live members of a group: sorted set member -> expiry (ms, broker time).
#: `schemabus:members:{<group>}`; each member's details in `schemabus:member:{<group>}:<name>`.
MEMBERS_PREFIX = KEY_PREFIX + "members:"
MEMBER_PREFIX = KEY_PREFIX + "member:"

#: The deployed registry (runtime.deployed): sorted set `<service>/<replica>` -> expiry
#: (ms, broker time), and per replica a hash with its advertisement, `since` and `seen`
#: (`schemabus:deployed:{all}:<service>/<replica>`; one hash tag, one cluster slot).
DEPLOYED_KEY = KEY_PREFIX + "deployed:{all}"

# Every key derived from a stream partition embeds the partition's Redis Cluster hash tag
# (runtime.partitioning.hash_tag), so it lives in the partition's slot and one Lua call
# can touch the stream, its lease, its marks and its dead letters together.


def dead_letter_stream(partition: str) -> str:
    """`schemabus:dlq:orders:{2}` for partition 2 of `orders`; `schemabus:dlq:{orders}`
    for an unpartitioned stream."""
    return DEAD_LETTER_PREFIX + hash_tag(partition)


def source_of_dead_letter_stream(dlq: str) -> str:
    """The partition key a dead-letter stream belongs to (inverse of dead_letter_stream)."""
    if not dlq.startswith(DEAD_LETTER_PREFIX):
        return dlq
    key = dlq[len(DEAD_LETTER_PREFIX) :]
    if key.startswith("{") and key.endswith("}") and key.count("{") == 1:
        return key[1:-1]
    return key


def idempotency_prefix(partition: str, group: str) -> str:
    """Marks of events `group` completed from `partition`: prefix + event id."""
    return f"{IDEMPOTENCY_PREFIX}{hash_tag(partition)}:{group}:"


def idempotency_key(partition: str, group: str, event_id: str) -> str:
    return idempotency_prefix(partition, group) + event_id


def lease_key(partition: str, group: str) -> str:
    return f"{LEASE_PREFIX}{hash_tag(partition)}:{group}"


def members_key(group: str) -> str:
    return f"{MEMBERS_PREFIX}{{{group}}}"


def member_key(group: str, member: str) -> str:
    return f"{MEMBER_PREFIX}{{{group}}}:{member}"


def deployed_key(member: str) -> str:
    """The advertisement hash of one replica (`member` = `<service>/<replica>`)."""
    return f"{DEPLOYED_KEY}:{member}"

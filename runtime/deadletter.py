"""What a dead-letter entry holds, shared by every transport and the `dlq` command.

A dead-letter entry is the original entry's fields, unchanged, plus `dlq_*` fields that
say why it was given up on, so that replaying it restores the original event exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

from runtime import constants as C
from runtime.envelope import now
from runtime.transport import DeadLetter

MAX_ERROR_MESSAGE = 4000  # keep one huge exception text from bloating the stream


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


def original_fields(entry: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """The entry as it was before dead-lettering (for replay)."""
    dlq = {f.encode() for f in C.DLQ_FIELDS}
    return {k: v for k, v in entry.items() if k not in dlq}

"""Exceptions a user of the runtime can cause or has to handle; each says what to do next."""

from __future__ import annotations


class SchemabusError(Exception):
    """Base of every error the runtime raises on purpose."""


class ConfigError(SchemabusError):
    """Bad settings: a URL, an environment variable, an import path."""


class TransportError(SchemabusError):
    """The broker could not be reached or refused the operation."""


class BrokerUnavailable(TransportError, ConnectionError):
    """A transient broker failure (connection lost, server loading its data after a
    restart). The consumer engine waits and retries; nothing is lost."""


class EventTooLarge(SchemabusError, ValueError):
    """An event whose stream entry is over the size limit: refused before anything of its
    batch is sent, since every consumer would dead-letter it as `oversized`."""

    def __init__(self, type: str, version: int, event_id: str, size: int, limit: int) -> None:
        super().__init__(
            f"event {type} v{version} (id {event_id[:64]}) is {size} bytes as a stream entry, "
            f"over the limit of {limit} bytes (SCHEMABUS_MAX_PAYLOAD_BYTES); nothing of its "
            "batch was published: keep large content elsewhere and publish a reference to it"
        )
        self.size = size
        self.limit = limit


class NotSupportedError(SchemabusError):
    """The transport does not offer this feature (e.g. request/reply over Redis)."""


class RequestTimeoutError(SchemabusError, TimeoutError):
    def __init__(self, subject: str, timeout_s: float) -> None:
        super().__init__(f"no reply on {subject!r} within {timeout_s:g}s")
        self.subject = subject
        self.timeout_s = timeout_s


class NoRespondersError(SchemabusError):
    def __init__(self, subject: str) -> None:
        super().__init__(f"no service is serving {subject!r}; start the service that serves it")
        self.subject = subject


class RemoteError(SchemabusError):
    """The responder's handler raised; its error type and message are carried back."""

    def __init__(self, subject: str, error_type: str, message: str) -> None:
        super().__init__(f"{subject!r} failed remotely: {error_type}: {message}")
        self.subject = subject
        self.error_type = error_type
        self.remote_message = message


class Undeliverable(SchemabusError):
    """An inbound message no handler can be given; it goes to the dead-letter stream.

    `reason` is one of the `REASON_*` constants in `runtime.constants`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

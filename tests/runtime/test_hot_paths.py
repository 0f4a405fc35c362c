"""Hot-path shortcuts keep their observable behaviour: compact envelopes decode to the
envelope that was sent, full (older) encodings still decode, tracing notices a provider
installed later."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from runtime import tracing
from runtime.envelope import ABSENT_HEADER, Envelope, default_dataschema
from runtime.tracing import tracing_hooks

SCHEMA = "schemas/events/order.created/v2.json"


def _env(**kw: object) -> Envelope:
    args: dict[str, object] = {
        "source": "order",
        "type": "order.created",
        "dataversion": 2,
        "data": b'{"order_id":"o1"}',
        "subject": "o1",
        "dataschema": SCHEMA,
    }
    args.update(kw)
    return Envelope.new(**args)  # type: ignore[arg-type]


def _full_headers(env: Envelope) -> dict[str, str]:
    """What producers before the compact encoding sent: every attribute present."""
    headers = {
        "ce-specversion": env.specversion,
        "ce-id": env.id,
        "ce-source": env.source,
        "ce-type": env.type,
        "ce-dataversion": str(env.dataversion),
        "ce-time": env.time,
        "content-type": "application/json",
    }
    for name in ("subject", "dataschema", "correlationid", "causationid"):
        value = getattr(env, name)
        if value is not None:
            headers["ce-" + name] = value
    if env.traceparent is not None:
        headers["traceparent"] = env.traceparent
    return headers


def test_default_dataschema_matches_event_spec() -> None:
    from tests.runtime.models import ORDER_V2

    assert default_dataschema(ORDER_V2.type, ORDER_V2.version) == ORDER_V2.dataschema


def test_derivable_headers_are_left_out_and_restored() -> None:
    env = _env()
    headers = env.to_headers()
    assert "ce-dataschema" not in headers and "ce-correlationid" not in headers
    assert ABSENT_HEADER not in headers
    decoded = Envelope.from_headers(headers, env.data)
    assert decoded == env
    assert decoded.dataschema == SCHEMA and decoded.correlationid == env.id


def test_non_default_values_are_sent() -> None:
    env = _env(dataschema="https://example.com/s.json", correlationid="corr-1", causationid="c")
    headers = env.to_headers()
    assert headers["ce-dataschema"] == "https://example.com/s.json"
    assert headers["ce-correlationid"] == "corr-1"
    assert Envelope.from_headers(headers, env.data) == env


@pytest.mark.parametrize(
    ("dataschema", "correlationid"),
    [(None, "same"), (SCHEMA, None), (None, None), (None, "other")],
)
def test_really_absent_attributes_stay_absent(
    dataschema: str | None, correlationid: str | None
) -> None:
    env = _env(dataschema=dataschema)
    env.correlationid = env.id if correlationid == "same" else correlationid
    headers = env.to_headers()
    assert ABSENT_HEADER in headers
    decoded = Envelope.from_headers(headers, env.data)
    assert decoded == env
    assert decoded.dataschema == dataschema and decoded.correlationid == env.correlationid


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"correlationid": "corr-1", "causationid": "cause"},
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    ],
)
def test_full_headers_of_older_producers_decode(kw: dict[str, object]) -> None:
    env = _env(**kw)
    assert Envelope.from_headers(_full_headers(env), env.data) == env


def test_older_headers_without_dataschema_read_as_the_default() -> None:
    # Older producers sent error replies without `ce-dataschema`; such a message cannot
    # be told from a compact one, so it reads with the type's default (nothing uses it).
    env = _env(dataschema=None)
    decoded = Envelope.from_headers(_full_headers(env), env.data)
    assert decoded.dataschema == SCHEMA
    decoded.dataschema = None
    assert decoded == env


def test_foreign_headers_without_derivable_attributes_get_the_defaults() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "e1",
        "ce-source": "elsewhere",
        "ce-type": "order.created",
        "ce-dataversion": "2",
    }
    env = Envelope.from_headers(headers, b"{}")
    assert env.correlationid == "e1" and env.dataschema == SCHEMA


async def test_tracing_switches_on_after_a_global_provider_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(tracing, "_clock", lambda: clock[0])
    monkeypatch.setattr(tracing, "_checked_at", float("-inf"))
    monkeypatch.setattr(tracing, "_global_off", True)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    hooks = tracing_hooks()
    [around] = hooks.around_publish
    [current] = hooks.traceparent
    sent: list[str | None] = []  # the traceparent the publisher would stamp, per batch

    async def send() -> None:
        sent.append(current())

    await around([_env()], send)
    assert sent[-1] is None  # no SDK: the hook steps aside

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    clock[0] += tracing.RECHECK_S / 2
    await around([_env()], send)
    assert sent[-1] is None  # the answer is reused for RECHECK_S

    clock[0] += tracing.RECHECK_S
    await around([_env()], send)
    assert sent[-1] is not None
    assert len(exporter.get_finished_spans()) == 1
    assert len(sent) == 3

"""`schemabus dlq`: replay goes only where it may, reports every id, reads bounded, and
prints broker-supplied text with control characters escaped. Real Redis throughout."""

from __future__ import annotations

import asyncio
import os
import signal
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from runtime import cli, dlq
from runtime import constants as C
from runtime.envelope import Envelope
from runtime.redis_conn import open_checked
from runtime.settings import RedisSettings
from runtime.testkit.pytest_plugin import RedisFactory

pytestmark = pytest.mark.redis

DLQ = C.dead_letter_stream("orders")
REGISTRY_ARGS = ["--registry", "tests.runtime.models:REGISTRY"]


def _fields(data: bytes = b'{"order_id":"o1","total":5}', **dlq_fields: str) -> dict[str, Any]:
    env = Envelope.new(source="t", type="order.created", dataversion=2, data=data, subject="o1")
    fields: dict[str, Any] = dict(env.to_fields())
    fields.update(
        {
            C.DLQ_REASON: C.REASON_HANDLER_FAILED,
            C.DLQ_ERROR_TYPE: "RuntimeError",
            C.DLQ_ERROR_MESSAGE: "boom",
            C.DLQ_ATTEMPTS: "3",
            C.DLQ_ORIGINAL_STREAM: "orders",
            C.DLQ_ORIGINAL_ID: "1-1",
            C.DLQ_GROUP: "payment",
            C.DLQ_TIME: "2026-01-01T00:00:00.000Z",
        }
    )
    fields.update(dlq_fields)
    return fields


async def _setup(
    url: str, *entries: dict[str, Any], streams: tuple[str, ...] = ("orders",)
) -> list[str]:
    client: Any = aioredis.Redis.from_url(url)
    await client.flushall()
    for name in streams:  # existing, empty streams (a consumer group would have made them)
        await client.xgroup_create(name, "g", id="0", mkstream=True)
    ids = [(await client.xadd(DLQ, e)).decode() for e in entries]
    await client.aclose()
    return ids


async def _lengths(url: str, *names: str) -> dict[str, int]:
    client = aioredis.Redis.from_url(url)
    out = {n: int(await client.xlen(n)) for n in names}
    await client.aclose()
    return out


@pytest.fixture
def cli_run(redis_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--redis-url", redis_url, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run


def test_entry_naming_a_foreign_stream_is_not_replayed_there(redis_url: str, cli_run: Any) -> None:
    (dlq_id,) = asyncio.run(
        _setup(redis_url, _fields(dlq_stream="payments"), streams=("orders", "payments"))
    )
    code, out, err = cli_run("dlq", "replay", dlq_id)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"kept {dlq_id}: it names stream 'payments' but is a dead letter of 'orders'; replay "
        "sends entries only to the stream whose dead letters they are, unless --to names a target"
    ]
    assert asyncio.run(_lengths(redis_url, "orders", "payments", DLQ)) == {
        "orders": 0,
        "payments": 0,
        DLQ: 1,
    }
    # Named explicitly, it goes there.
    code, out, _ = cli_run("dlq", "replay", dlq_id, "--to", "payments")
    assert code == 0 and out.startswith(f"replayed {dlq_id} -> ")
    assert asyncio.run(_lengths(redis_url, "orders", "payments", DLQ)) == {
        "orders": 0,
        "payments": 1,
        DLQ: 0,
    }


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        (lambda c: c.set("orders", "x"), "the target 'orders' is a string, not a stream"),
        (lambda c: c.hset("orders", "a", "b"), "the target 'orders' is a hash, not a stream"),
        (lambda c: c.delete("orders"), "the target stream 'orders' does not exist"),
    ],
)
def test_target_must_be_a_stream_before_anything_is_written(
    redis_url: str, cli_run: Any, prepare: Any, reason: str
) -> None:
    ids = asyncio.run(_setup(redis_url, _fields(), _fields()))

    async def spoil() -> None:
        client = aioredis.Redis.from_url(redis_url)
        await client.delete("orders")
        await prepare(client)
        await client.aclose()

    asyncio.run(spoil())
    code, out, err = cli_run("dlq", "replay", "--all")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [f"kept {i}" for i in ids]
    assert all(reason in line for line in lines)
    assert asyncio.run(_lengths(redis_url, DLQ)) == {DLQ: 2}


def test_every_id_is_reported(redis_url: str, cli_run: Any) -> None:
    good, foreign, truncated = asyncio.run(
        _setup(
            redis_url,
            _fields(),
            _fields(dlq_stream="elsewhere"),
            _fields(dlq_truncated='{"entry_bytes": 50000000}'),
        )
    )
    code, out, err = cli_run("dlq", "replay", good, foreign, truncated, "99-0")
    assert code == 1
    assert out.splitlines()[0].startswith(f"replayed {good} -> ")
    kept = {line.split(":", 1)[0]: line for line in err.splitlines()}
    assert set(kept) == {f"kept {foreign}", f"kept {truncated}", "kept 99-0"}
    assert "bounded prefix of an oversized entry" in kept[f"kept {truncated}"]
    assert "no dead letter has this id" in kept["kept 99-0"]


def test_validate_checks_size_and_prints_one_line_per_entry(
    redis_url: str, cli_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b'{"order_id":"o1","total":5,"pad":"' + b"x" * 5000 + b'"}'
    bad = b'{"order_id": 1, "total": "many", "currency": 3}'  # three field errors
    ok, large, invalid = asyncio.run(_setup(redis_url, _fields(), _fields(big), _fields(bad)))
    monkeypatch.setenv("SCHEMABUS_MAX_PAYLOAD_BYTES", "4096")
    code, out, err = cli_run("dlq", "replay", "--all", "--validate", *REGISTRY_ARGS)
    assert code == 1
    assert [line.split(" ->")[0] for line in out.splitlines()] == [f"replayed {ok}"]
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert (
        lines[0].startswith(f"kept {large}: the event is ") and "over the limit of 4096" in lines[0]
    )
    assert lines[1].startswith(f"kept {invalid}: invalid OrderCreatedV2 payload: order_id: ")
    assert "(and 2 more)" in lines[1]
    # Without --validate the size is not checked: the operator asked for it as it is.
    code, out, _ = cli_run("dlq", "replay", large)
    assert code == 0 and out.startswith(f"replayed {large}")


def test_control_characters_are_escaped(redis_url: str, cli_run: Any) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J\u202eevil\x9b31m"
    (dlq_id,) = asyncio.run(
        _setup(redis_url, _fields(dlq_error_message=hostile, type="order.\x1b[31mcreated"))
    )
    for args in (("dlq", "list"), ("dlq", "list", "--json"), ("dlq", "show", dlq_id)):
        code, out, err = cli_run(*args)
        assert code == 0, err
        for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
            assert raw not in out, (args, out)
    _, table, _ = cli_run("dlq", "list")
    assert "\\x1b]0;owned\\x07" in table and "\\u202eevil" in table
    _, listed, _ = cli_run("dlq", "list", "--json")
    assert orjson.loads(listed)[0]["error"] == hostile  # escaped, not altered


def test_invalid_id_says_so(redis_url: str, cli_run: Any) -> None:
    asyncio.run(_setup(redis_url))
    for args in (("dlq", "show", "abc"), ("dlq", "replay", "1-x"), ("dlq", "purge", "-1")):
        code, _, err = cli_run(*args)
        assert code == 2 and "is not a dead-letter id" in err and "broker" not in err, err
        assert err.count("\n") == 1


def test_list_and_show_read_a_bounded_part_of_a_huge_dead_letter(redis_url: str) -> None:
    data = b'{"order_id":"o1","pad":"' + b"p" * (20 * 1024 * 1024) + b'"}'
    (dlq_id,) = asyncio.run(_setup(redis_url, _fields(data, extra="e" * (5 * 1024 * 1024))))

    async def read() -> tuple[list[dlq.DeadLetterEntry], dlq.DeadLetterEntry, int]:
        client = await open_checked(RedisSettings.from_url(redis_url))
        tracemalloc.start()
        try:
            listed = await dlq.dead_letters(client)
            shown = await dlq.find_dead_letter(client, dlq_id, detail=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            await client.aclose()
        return listed, shown, peak

    listed, shown, peak = asyncio.run(read())
    assert peak < 2 * 1024 * 1024  # the entry is 25 MB
    assert listed[0].entry_bytes > 25 * 1024 * 1024
    detail = shown.detail()
    assert detail["cut_fields"] == {"data": len(data), "extra": 5 * 1024 * 1024}
    assert len(shown.fields[b"data"]) == dlq.DETAIL_VALUE_BYTES


def test_connection_failure_mid_replay_reports_every_entry(
    redis_server_factory: RedisFactory,
) -> None:
    """The server stops answering while the second entry is replayed: the first is
    replayed, the second unknown, the third kept, and the error is returned."""
    server = redis_server_factory()
    ids = asyncio.run(_setup(server.url, _fields(), _fields(), _fields()))
    assert server.pid is not None
    validated: list[str] = []

    def stop_server_on_second(env: Envelope) -> None:
        validated.append(env.id)
        if len(validated) == 2:
            os.kill(server.pid or 0, signal.SIGSTOP)

    async def go() -> dlq.ReplayResult:
        settings = replace(RedisSettings.from_url(server.url), startup_timeout_s=1.0)
        client = await open_checked(settings, command_timeouts=True)
        try:
            entries = [await dlq.find_dead_letter(client, i) for i in ids]
            return await dlq.replay(client, entries, validate=stop_server_on_second)
        finally:
            os.kill(server.pid or 0, signal.SIGCONT)
            await client.aclose()

    result = asyncio.run(go())
    assert [(i, o) for i, o, _ in result.outcomes] == [
        (ids[0], "replayed"),
        (ids[1], "unknown"),
        (ids[2], "kept"),
    ]
    assert result.error is not None
    assert "not attempted" in result.outcomes[2][2]

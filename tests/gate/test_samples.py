"""`codegen check --samples`: entries written by a producer outside schemabus, found by
decoding them the way every reader will.

The contracts: `order.created` v1 {order_id, total}, v2 adds an optional `channel` enum,
v3 closes the object (`additionalProperties: false`). Under the gate's runtime semantics
all three are FULL compatible, because generated writers never send undeclared
properties. payment reads v3. A foreign producer writes, among valid entries:

* a v2 event with `"channel": null` (the schema says string);
* a v2 event with an undeclared `coupon` (fine for the v2 schema, rejected by v3's
  closed object);
* a v1 event with `"channel": "fax"` (fine for v1's open object under strict semantics,
  not for the v3 reader, which decodes v1 as is because the gate proved it safe for
  generated writers).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from runtime.envelope import Envelope
from runtime.partitioning import partition_key, partition_of
from tests.codegen.golden import run_codegen
from tests.gate import builds as B
from tests.gate import project as P

pytestmark = pytest.mark.redis

TOTAL = {"total": {"type": "integer", "minimum": 0}}
CHANNEL = {"channel": {"type": "string", "enum": ["web", "mobile", "store"]}}
VERSIONS = [
    P.schema(1, TOTAL),
    P.schema(2, {**TOTAL, **CHANNEL}),
    P.schema(3, {**TOTAL, **CHANNEL}, additionalProperties=False),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return P.build(tmp_path / "repo", VERSIONS, writes=3, reads=3)


async def _xadd(client: aioredis.Redis, version: int, data: dict[str, Any]) -> str:
    env = Envelope.new(
        source="foreign",
        type=P.TYPE,
        dataversion=version,
        data=json.dumps(data).encode(),
        subject=data["order_id"],
    )
    key = partition_key("orders", partition_of(data["order_id"], 2), 2)
    raw: Any = await client.xadd(key, env.to_fields())  # type: ignore[arg-type]
    entry_id = raw.decode()
    # Entry ids are per partition (two partitions can both have `<ms>-0`): name both.
    return f"{key} entry {entry_id}"


async def _fill(client: aioredis.Redis) -> tuple[set[str], dict[str, str]]:
    good: set[str] = set()
    for i in range(30):
        v = 1 + i % 3
        data: dict[str, Any] = {"order_id": f"ok-{i}", "total": i}
        if v > 1 and i % 2:
            data["channel"] = "web"
        good.add(await _xadd(client, v, data))
    # Entry ids order entries across partitions only by their millisecond (sequence
    # numbers are per stream), so the bad entries start in a later millisecond.
    await asyncio.sleep(0.005)
    bad = {
        "null": await _xadd(client, 2, {"order_id": "n-1", "total": 1, "channel": None}),
        "closed": await _xadd(client, 2, {"order_id": "c-1", "total": 1, "coupon": "X"}),
        "strict": await _xadd(client, 1, {"order_id": "s-1", "total": 1, "channel": "fax"}),
    }
    return good, bad


def _ids(out: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        rule = line.rsplit("(", 1)[1].rstrip(")")
        match = re.search(r"orders:\{\d\} entry \S+", line)
        assert match, line
        found.setdefault(match.group(0), set()).add(rule)
    return found


async def test_check_samples_reports_exactly_the_foreign_entries(
    project: Path, redis_client: aioredis.Redis, redis_url: str
) -> None:
    good, bad = await _fill(redis_client)
    code, out, err = run_codegen(project, "check", "--samples", redis_url)
    assert code == 1, out + err
    assert _ids(out) == {
        bad["null"]: {"SAMPLE_OFF_CONTRACT"},
        bad["closed"]: {"SAMPLE_UNDECLARED_PROPERTY", "SAMPLE_UNREADABLE"},
        bad["strict"]: {"SAMPLE_UNDECLARED_PROPERTY", "SAMPLE_UNREADABLE"},
    }
    lines = out.splitlines()
    null = next(x for x in lines if bad["null"] in x)
    assert null.startswith("schemas/events/order.created/v2.json: orders:{")
    assert "/channel is null, which the schema does not allow" in null
    closed = next(x for x in lines if bad["closed"] in x and "UNREADABLE" in x)
    assert "payment (reads v3 in these contracts) would dead-letter it (invalid_payload)" in closed
    assert "coupon: Extra inputs are not permitted" in closed
    strict = next(x for x in lines if bad["strict"] in x and "UNREADABLE" in x)
    assert "channel: Input should be 'web', 'mobile' or 'store'" in strict
    assert "Payload" not in out and '"fax"' not in out, "payloads only with --show-payloads"
    assert f"samples: {redis_url}: orders: {len(good) + 3} checked, {len(good)} passed" in err

    _, shown, _ = run_codegen(project, "check", "--samples", redis_url, "--show-payloads")
    assert 'Payload: {"order_id": "s-1", "total": 1, "channel": "fax"}' in shown


async def test_the_last_k_entries_over_all_partitions(
    project: Path, redis_client: aioredis.Redis, redis_url: str
) -> None:
    _, bad = await _fill(redis_client)  # the three bad entries are the newest
    code, out, err = run_codegen(project, "check", "--samples", redis_url, "--sample-count", "3")
    assert code == 1 and set(_ids(out)) == set(bad.values())
    assert "orders: 3 checked, 0 passed" in err
    with pytest.raises(SystemExit) as exc:  # a usage error, from argparse
        run_codegen(project, "check", "--samples", redis_url, "--sample-count", "0")
    assert exc.value.code == 2


async def test_a_sample_file_gives_the_same_findings(
    project: Path, redis_client: aioredis.Redis, redis_url: str, tmp_path: Path
) -> None:
    await _fill(redis_client)
    sample = tmp_path / "samples.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.cli",
            "--redis-url",
            redis_url,
            "sample",
            "--out",
            str(sample),
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "sampled 33 entries (orders)" in done.stderr
    assert len(sample.read_text().splitlines()) == 33
    from_url = run_codegen(project, "check", "--samples", redis_url)
    from_file = run_codegen(project, "check", "--samples", str(sample))
    assert from_file[:2] == from_url[:2]
    assert f"samples: {sample}: orders: 33 checked, 30 passed" in from_file[2]
    code, gh, _ = run_codegen(project, "check", "--samples", str(sample), "--format", "github")
    assert code == 1 and gh.startswith("::error file=schemas/events/order.created/")
    assert f"::notice title=schemabus::samples: {sample}: orders: 33 checked, 30 passed" in gh


async def test_deployed_readers_decode_as_their_build_does(
    project: Path, redis_client: aioredis.Redis, redis_url: str, tmp_path: Path
) -> None:
    # A deployed payment still on an older build that reads v1 and knows only v1 and v2:
    # v3 entries are unknown to it, and v2's `channel` it ignores.
    old = B.replicas(tmp_path / "old", VERSIONS[:2], {"payment": ["p-old"]}, writes=2, reads=1)
    snap = tmp_path / "deployed.json"
    snap.write_text(B.to_json(B.snapshot(old)))
    v3 = await _xadd(redis_client, 3, {"order_id": "v3-1", "total": 2})
    v2 = await _xadd(redis_client, 2, {"order_id": "v2-1", "total": 2, "channel": "web"})
    code, out, _ = run_codegen(project, "check", "--samples", redis_url, "--deployed", str(snap))
    assert code == 1
    unreadable = [x for x in out.splitlines() if x.endswith("(SAMPLE_UNREADABLE)")]
    assert len(unreadable) == 1 and v3 in unreadable[0] and v2 not in out
    assert (
        "deployed payment replica p-old (reads v1) would dead-letter it (unknown_event)"
        in (unreadable[0])
    )


def test_samples_are_not_decoded_with_a_stale_generated_tree(project: Path) -> None:
    (project / "schemas" / "events" / P.TYPE / "v4.json").write_text(
        json.dumps(P.schema(4, TOTAL), indent=2)
    )
    code, out, _ = run_codegen(project, "check", "--samples", "redis://127.0.0.1:1/0")
    assert code == 1 and "(SAMPLES_NOT_CHECKED)" in out


def test_unreachable_samples_are_one_clear_line(project: Path, tmp_path: Path) -> None:
    code, out, _ = run_codegen(project, "check", "--samples", "redis://127.0.0.1:1/0")
    assert code == 2
    (line,) = out.splitlines()
    assert line.startswith("redis://127.0.0.1:1/0: Cannot check samples: ")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"stream": "orders"}\n')
    code, out, _ = run_codegen(project, "check", "--samples", str(bad))
    assert code == 2 and f"{bad}:1: not a sample line" in out

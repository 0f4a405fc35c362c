"""`codegen check --samples` over a full stream: wall time of the whole command.

A copy of the example contracts gets an `order.created` v3 (v2 plus an optional note),
and two more consumers, so that three reader versions read the stream: `audit` on v1,
`payment` on v2, `ledger` on v3. N order events (v1, v2 and v3 mixed, about 370 bytes of
payload each, the example's real shapes) are written over the four `orders` partitions;
then `codegen check --samples URL --sample-count N` reads them all back and decodes every
entry once against its own contract and once per reader version, through the
Dispatcher's decode path. The probe's own split (read from Redis / check) is recorded
beside the command's wall time, which includes both interpreter start-ups and the gate.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Workload

REPO = Path(__file__).resolve().parents[1]
READERS = "\n".join(
    [
        "  audit:",
        "    consumes:",
        "      order.created: 1",
        "  ledger:",
        "    consumes:",
        "      order.created: 3",
        "",
    ]
)


def write_tree(root: Path) -> None:
    """The example contracts plus v3 and the two extra readers, generated."""
    shutil.copytree(REPO / "schemas", root / "schemas")
    (root / "services").mkdir()
    shutil.copy(REPO / "services" / "upcasters.py", root / "services" / "upcasters.py")
    (root / "services" / "__init__.py").write_text("")
    folder = root / "schemas" / "events" / "order.created"
    v3 = json.loads((folder / "v2.json").read_text())
    v3["$id"] = v3["$id"].replace("/v2.json", "/v3.json")
    v3["properties"]["note"] = {"type": "string", "maxLength": 200}
    (folder / "v3.json").write_text(json.dumps(v3, indent=2) + "\n")
    catalog = root / "schemas" / "catalog.yaml"
    catalog.write_text(catalog.read_text().rstrip("\n") + "\n" + READERS)
    done = subprocess.run(
        [sys.executable, "-m", "codegen.cli", "--root", str(root), "gen"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"codegen gen failed: {done.stdout[-800:]}{done.stderr[-800:]}")


def _payload(i: int, version: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    total = 0
    for k in range(1 + i % 3):
        quantity, price = 1 + (i + k) % 3, 250 + (i % 9) * 125
        total += quantity * price
        items.append(
            {
                "sku": f"SKU-{(i + k) % 50:04d}",
                "quantity": quantity,
                "unit_price": {"amount_minor": price, "currency": "EUR"},
            }
        )
    doc: dict[str, Any] = {
        "order_id": f"ord-{i:07d}",
        "customer_id": f"cust-{i % 97}",
        "items": items,
        "total": {"amount_minor": total, "currency": "EUR"},
    }
    if version >= 2:
        doc["channel"] = ("web", "mobile", "store")[i % 3]
    if version >= 3 and i % 2:
        doc["note"] = "leave at the door"
    return doc


async def fill(url: str, n: int) -> None:
    import redis.asyncio as aioredis

    from runtime.envelope import Envelope
    from runtime.partitioning import partition_key, partition_of

    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            version = 1 + i % 3
            doc = _payload(i, version)
            env = Envelope.new(
                source="bench",
                type="order.created",
                dataversion=version,
                data=json.dumps(doc, separators=(",", ":")).encode(),
                subject=doc["order_id"],
            )
            key = partition_key("orders", partition_of(doc["order_id"], 4), 4)
            pipe.xadd(key, env.to_fields())  # type: ignore[arg-type]
            if len(pipe) >= 1000:
                await pipe.execute()
        await pipe.execute()
    finally:
        await client.aclose()


def _probe_seconds(root: Path, url: str, n: int, env: dict[str, str]) -> dict[str, float]:
    """The probe alone (what `check --samples` runs), for its own read/check split."""
    request = {
        "sources": [{"where": url, "label": "bench"}],
        "streams": [["orders", 4]],
        "count": n,
        "readers": [
            {"label": name, "type": "order.created", "version": v}
            for name, v in (("audit", 1), ("payment", 2), ("ledger", 3))
        ],
        "semantics": {"order.created": "runtime"},
    }
    done = subprocess.run(
        [sys.executable, "-m", "runtime.probe"],
        cwd=root,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
    )
    answer = json.loads(done.stdout)
    result = answer["results"][0]
    checked = result["streams"]["orders"]["checked"]
    if checked != n or result["findings"]:
        raise RuntimeError(f"probe checked {checked}/{n}, findings: {result['findings'][:3]}")
    seconds: dict[str, float] = result["seconds"]
    return seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(rounds: int, redis_url: str, *, n: int = 10_000) -> list[Workload]:
    wall = Workload(
        f"codegen check --samples, {n:,} entries x 3 reader versions",
        "s",
        False,
        target="< 5 s",
        limit=5.0,
    )
    with tempfile.TemporaryDirectory(prefix="schemabus-gate-bench-") as tmp:
        root = Path(tmp) / "tree"
        env = {**os.environ, "SCHEMABUS_CACHE_DIR": str(Path(tmp) / "cache")}
        write_tree(root)
        asyncio.run(fill(redis_url, n))
        args = [sys.executable, "-m", "codegen.cli", "--root", str(root), "check"]
        args += ["--samples", redis_url, "--sample-count", str(n)]
        subprocess.run(args, capture_output=True, env=env)  # warm-up (verdict cache, imports)
        reads, checks, cpu = [], [], []
        for _ in range(rounds):
            before = _children_cpu()
            started = time.perf_counter()
            done = subprocess.run(args, capture_output=True, text=True, env=env)
            wall.framework.append(time.perf_counter() - started)
            cpu.append(_children_cpu() - before)
            if done.returncode != 0 or f"orders: {n} checked, {n} passed" not in done.stderr:
                raise RuntimeError(f"check --samples failed: {done.stdout[-500:]}{done.stderr}")
            split = _probe_seconds(root, redis_url, n, env)
            reads.append(split["read"])
            checks.append(split["check"])
        wall.extra = {"framework": {"cpu s": cpu, "probe read s": reads, "probe check s": checks}}
    wall.note = (
        f"{n:,} order.created entries (v1/v2/v3) over 4 partitions, 3 reader versions + "
        "each entry's own contract; wall time of the command (two interpreter start-ups, "
        "the offline gate, XREVRANGE, decoding); extra: CPU seconds of the command and its "
        "helper process (steadier than wall time on a busy machine), the probe's read and "
        "check seconds"
    )
    return [wall]

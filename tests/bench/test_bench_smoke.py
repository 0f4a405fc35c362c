"""Every benchmark workload runs end to end with tiny sizes and fills its result.

Structure only: timings are never asserted (shared, noisy machines). Private servers,
because the workloads FLUSHALL Redis between rounds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import codegen_bench
from bench.__main__ import SUITES
from bench.report import Workload, machine_info, write_results
from bench.suite import Env, run_suite
from runtime.testkit.pytest_plugin import NatsFactory, RedisFactory

pytestmark = [pytest.mark.redis, pytest.mark.nats]


def _filled(w: Workload, rounds: int) -> None:
    assert len(w.framework) == rounds and len(w.baseline) == rounds, w.name
    assert all(math.isfinite(x) and x > 0 for x in w.framework + w.baseline), w
    assert w.ratio is not None and w.ratio > 0


@pytest.fixture
def env(redis_server_factory: RedisFactory, nats_server_factory: NatsFactory) -> Env:
    redis = redis_server_factory()
    nats = nats_server_factory(jetstream=False)
    return Env(redis.url, nats.url, n=200, seconds=0.1, requests=20)


@pytest.mark.parametrize("name", sorted(SUITES))
async def test_suite_fills_its_workloads(name: str, env: Env, tmp_path: Path) -> None:
    workloads = await run_suite(SUITES[name], env, rounds=1, warmup=False)
    assert workloads
    for w in workloads:
        _filled(w, 1)
        assert w.note
    extra = workloads[0].extra
    if "lost" in extra.get("framework", {}):
        assert extra["framework"]["lost"] == [0] and extra["baseline"]["lost"] == [0]
    out = tmp_path / "results.json"
    write_results(workloads, machine_info({}), out)
    doc = json.loads(out.read_text())
    row = doc["workloads"][workloads[0].name]
    assert {"framework", "baseline", "ratio", "target", "note"} <= row.keys()
    assert doc["machine"]["cores"]


def test_codegen_workloads_run_on_a_tiny_tree() -> None:
    workloads = codegen_bench.run(1, types=2, versions=2, pair_types=1, pair_versions=3)
    assert len(workloads) == 6
    for w in workloads:
        assert len(w.framework) == 1 and w.framework[0] > 0, w.name


def test_gate_workload_runs_on_a_short_stream(redis_server_factory: RedisFactory) -> None:
    from bench import gate_bench

    redis = redis_server_factory()
    (w,) = gate_bench.run(1, redis.url, n=60)
    assert len(w.framework) == 1 and w.framework[0] > 0
    assert w.extra["framework"]["cpu s"][0] > 0
    assert w.extra["framework"]["probe check s"][0] > 0

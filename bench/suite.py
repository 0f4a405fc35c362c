"""How a paired workload is described and run: framework and baseline, interleaved.

A `Suite` has two sides with the same signature, `side(env) -> {metric: value}`; one run
of a side yields every metric of the suite (a request/reply run gives throughput and
latency percentiles at once). Rounds alternate framework and baseline in the same
process (A B A B ...) after one untimed warm-up of each, so both see the same machine
state; medians over the rounds are reported.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bench.report import Workload


@dataclass(frozen=True)
class Env:
    """What a side needs: server URLs and the size of the run."""

    redis_url: str
    nats_url: str
    n: int  # events per throughput round
    rate: int = 1000  # events/s of latency runs
    seconds: float = 1.0  # length of one latency round (5 rounds = 5 s per side)
    requests: int = 0  # request/reply round trips per round (0: n // 5)
    # Framework configuration; the defaults are what the issue asks to measure, other
    # values only run with `--ablation` to show what each feature costs.
    dedupe: Literal["always", "redelivered", "off"] = "always"
    tracing: bool = True

    @property
    def n_requests(self) -> int:
        return self.requests or max(50, self.n // 5)


Side = Callable[[Env], Awaitable[dict[str, float]]]


class Interrupted(Exception):
    """Ctrl-C was pressed: stop after the side that is running."""


#: Set by the Ctrl-C handler of `python -m bench`. Cancelling the main task is not enough
#: on Python 3.11: `asyncio.wait_for` (used inside redis-py and here) can swallow a
#: cancellation that arrives as its inner task completes, and the run would go on.
STOP = asyncio.Event()

#: "p99 latency <= 1.3x raw"; time ratios are baseline/framework, so that is >= 1/1.3.
P99_GOAL = round(1 / 1.3, 3)
P99_TARGET = "p99 <= 1.3x raw (ratio >= 0.77)"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    target: str = ""
    goal: float | None = None  # the ratio the issue asks for
    floor: float | None = None  # the lowest ratio it accepts


@dataclass(frozen=True)
class Suite:
    name: str  # what `--only` matches
    metrics: tuple[Metric, ...]
    framework: Side
    baseline: Side
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)


async def run_suite(suite: Suite, env: Env, rounds: int, *, warmup: bool = True) -> list[Workload]:
    """Run `suite` for `rounds` rounds (A B A B ...) and return one Workload per metric."""
    workloads = [
        Workload(
            f"{suite.name}: {m.label}",
            m.unit,
            m.higher_is_better,
            target=m.target,
            note=suite.note,
            goal=m.goal,
            floor=m.floor,
        )
        for m in suite.metrics
    ]
    if warmup:
        await suite.framework(env)
        await suite.baseline(env)
        if STOP.is_set():
            raise Interrupted
    keys = {m.key for m in suite.metrics}
    for _ in range(rounds):
        for label, side, pick in (
            ("framework", suite.framework, _framework),
            ("baseline", suite.baseline, _baseline),
        ):
            if STOP.is_set():
                raise Interrupted
            result = await side(env)
            if result.get("lost"):
                print(f"warning: {suite.name} ({label}) lost {result['lost']:.0f} events")
            for metric, workload in zip(suite.metrics, workloads, strict=True):
                pick(workload).append(result[metric.key])
            extra = workloads[0].extra.setdefault(label, {})
            for key, value in result.items():
                if key not in keys:
                    extra.setdefault(key, []).append(value)
            await asyncio.sleep(0)
    return workloads


def _framework(w: Workload) -> list[float]:
    return w.framework


def _baseline(w: Workload) -> list[float]:
    return w.baseline


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank; NaN when there are no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_stats(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds."""
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }

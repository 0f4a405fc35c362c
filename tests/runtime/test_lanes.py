from __future__ import annotations

import asyncio
import contextvars

import pytest

from runtime.lanes import run_lanes

var: contextvars.ContextVar[str | None] = contextvars.ContextVar("var", default=None)


async def test_inline_lanes_run_in_order_without_tasks() -> None:
    seen: list[int] = []

    async def lane(items: list[int]) -> None:
        seen.extend(items)

    await run_lanes([[1, 2], [3], [4, 5]], lane, 8)
    assert seen == [1, 2, 3, 4, 5]


async def test_suspending_lanes_run_in_parallel_bounded() -> None:
    active = 0
    peak = 0
    order: dict[str, list[int]] = {}

    async def lane(items: tuple[str, list[int]]) -> None:
        nonlocal active, peak
        key, values = items
        for v in values:
            token = var.set(f"{key}:{v}")
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.001)
            # The context variable survives the suspension, and reset works: the lane
            # resumed in the same context it started in.
            assert var.get() == f"{key}:{v}"
            active -= 1
            var.reset(token)
            order.setdefault(key, []).append(v)

    lanes = [(f"k{i}", list(range(5))) for i in range(20)]
    await run_lanes(lanes, lane, 4)
    assert peak == 4
    assert all(v == list(range(5)) for v in order.values()) and len(order) == 20
    assert var.get() is None  # nothing leaked into the caller's context


async def test_errors_propagate() -> None:
    async def lane(n: int) -> None:
        if n == 3:
            await asyncio.sleep(0)
            raise RuntimeError("lane 3")

    with pytest.raises(RuntimeError, match="lane 3"):
        await run_lanes([1, 2, 3, 4], lane, 2)


async def test_cancellation_reaches_suspended_lane() -> None:
    cancelled = asyncio.Event()

    async def lane(n: int) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.create_task(run_lanes([1, 2], lane, 2))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()

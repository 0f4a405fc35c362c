from __future__ import annotations

import asyncio
import contextvars
from collections import deque

from runtime.lanes import Lanes

var: contextvars.ContextVar[str | None] = contextvars.ContextVar("var", default=None)


async def test_inline_lanes_run_in_order_without_tasks() -> None:
    seen: list[int] = []

    async def run(key: str, queue: deque[int]) -> None:
        while queue:
            seen.append(queue.popleft())

    lanes: Lanes[str, int] = Lanes(run, 8)
    for key, item in [("a", 1), ("a", 2), ("b", 3), ("c", 4), ("c", 5)]:
        await lanes.submit(key, item)
    assert seen == [1, 2, 3, 4, 5]
    assert lanes.suspended == 0 and len(lanes) == 0


async def test_suspending_lanes_run_in_parallel_bounded_and_in_order() -> None:
    active = 0
    peak = 0
    order: dict[str, list[int]] = {}

    async def run(key: str, queue: deque[int]) -> None:
        nonlocal active, peak
        while queue:
            v = queue[0]
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
            queue.popleft()

    lanes: Lanes[str, int] = Lanes(run, 4)
    for v in range(5):
        for i in range(20):
            await lanes.submit(f"k{i}", v)
    await lanes.join()
    assert peak == 4
    assert all(v == list(range(5)) for v in order.values()) and len(order) == 20
    assert var.get() is None  # nothing leaked into the caller's context


async def test_a_hanging_lane_holds_back_only_its_key() -> None:
    release = asyncio.Event()
    seen: list[tuple[str, int]] = []

    async def run(key: str, queue: deque[int]) -> None:
        while queue:
            if key == "hang":
                await release.wait()
            else:
                await asyncio.sleep(0)
            seen.append((key, queue.popleft()))

    lanes: Lanes[str, int] = Lanes(run, 4)
    await lanes.submit("hang", 0)
    for v in range(10):
        await lanes.submit("hang", v + 1)
        await lanes.submit(f"k{v % 3}", v)
    while len(seen) < 10 or lanes.suspended > 1:
        await asyncio.sleep(0.001)
    # Every other key finished while "hang" still waits, its entries queued in order.
    assert all(k != "hang" for k, _ in seen)
    assert "hang" in lanes and lanes.suspended == 1
    release.set()
    await lanes.join()
    assert [v for k, v in seen if k == "hang"] == list(range(11))


async def test_drop_keeps_the_running_head() -> None:
    release = asyncio.Event()
    done: list[int] = []

    async def run(key: str, queue: deque[int]) -> None:
        while queue:
            await release.wait()
            done.append(queue.popleft())

    lanes: Lanes[str, int] = Lanes(run, 4)
    for v in range(4):
        await lanes.submit("a", v)
    await lanes.submit("b", 9)
    dropped = sorted(lanes.drop(lambda k: k == "a"))
    assert dropped == [1, 2, 3]
    release.set()
    await lanes.join()
    assert sorted(done) == [0, 9]


async def test_cancellation_reaches_suspended_lane() -> None:
    cancelled = asyncio.Event()

    async def run(key: str, queue: deque[int]) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    lanes: Lanes[str, int] = Lanes(run, 2)
    await lanes.submit("a", 1)
    await asyncio.sleep(0.01)
    lanes.cancel()
    await lanes.join()
    assert cancelled.is_set()


async def test_an_entry_pushed_as_a_lane_task_ends_is_not_stranded() -> None:
    """A lane that became a task is gone the moment its coroutine ends, not a loop turn
    later: an entry read in between must start a new lane instead of joining the
    finished one's queue (where nothing would ever handle it)."""
    release = asyncio.Event()
    pushed: list[bool] = []
    lanes: Lanes[str, int] = Lanes(lambda key, queue: run(key, queue), 4)

    async def run(key: str, queue: deque[int]) -> None:
        await release.wait()
        queue.popleft()
        # Runs after this task's step and before its done-callbacks.
        asyncio.get_running_loop().call_soon(lambda: pushed.append(lanes.push(key, 99)))

    await lanes.submit("a", 1)
    assert lanes.suspended == 1
    release.set()
    await lanes.join()
    assert pushed == [False]

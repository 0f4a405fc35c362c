"""Cold pair judgements split over forked workers (codegen/forked.py, gate.judge_ahead)
give exactly the findings of one process judging every pair."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import write_tree
from codegen import forked, gate
from codegen.cache import Cache
from codegen.compat import clean
from codegen.pipeline import plan


def test_split_keeps_order_and_covers_everything() -> None:
    assert forked.split(range(7), 2) == [[0, 1, 2, 3], [4, 5, 6]]
    assert forked.split([1], 4) == [[1]]
    assert forked.split([], 2) == []
    assert [x for chunk in forked.split(list(range(101)), 3) for x in chunk] == list(range(101))


def _tree(root: Path) -> Path:
    write_tree(root, types=6, versions=6)  # 6 x 15 = 90 pairs
    # v4 of one type turns a property's type: breaking for every pair that includes it
    path = root / "schemas/events/bench.entity002.changed/v4.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    doc["properties"]["customer"] = {"type": "integer"}
    path.write_text(json.dumps(doc, indent=2))
    return root


def _record_splits(monkeypatch: pytest.MonkeyPatch, module: Any, parts: int) -> list[list[Any]]:
    """Give ``module`` ``parts`` workers and record the chunks of each split it makes."""
    calls: list[list[Any]] = []
    real = forked.map_forked

    def recording(fn: Any, chunks: list[Any]) -> list[Any]:
        calls.append(list(chunks))
        return real(fn, chunks)

    monkeypatch.setattr(module, "workers", lambda: parts)
    monkeypatch.setattr(module, "map_forked", recording)
    return calls


def _judge(root: Path, monkeypatch: pytest.MonkeyPatch, parts: int) -> tuple[list[Any], int]:
    gate._VERDICTS.clear()
    clean.forget()
    monkeypatch.setattr(gate, "_PARALLEL_MIN", 16)  # a small tree is enough to split
    calls = _record_splits(monkeypatch, gate, parts)
    result = plan(root, cache=Cache())
    return result.findings, sum(len(chunks) for chunks in calls)


def test_split_and_single_process_verdicts_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo")
    split_findings, chunks = _judge(root, monkeypatch, 2)
    one_findings, no_chunks = _judge(root, monkeypatch, 1)
    assert chunks == 2 and no_chunks == 0  # the first run really was split
    assert split_findings == one_findings
    assert "TYPE_CHANGED" in {f.rule for f in split_findings}
    breaking = [f for f in split_findings if "bench.entity002.changed" in f.message]
    assert len(breaking) >= 3  # v4 against v1..v3 (and v5, v6 against v4)


_PARENT = os.getpid()


def _dies_in_a_worker(x: int) -> int:
    if os.getpid() != _PARENT:
        os._exit(3)  # a worker killed mid-way
    return x * 2


def test_a_dead_worker_means_this_process_does_the_work() -> None:
    assert forked.map_forked(_dies_in_a_worker, [1, 2]) == [2, 4]


def _pid(_: int) -> int:
    return os.getpid()


def test_this_process_takes_the_first_chunk_and_workers_the_rest() -> None:
    first, second, third = forked.map_forked(_pid, [1, 2, 3])
    assert first == os.getpid()
    assert os.getpid() not in (second, third)


def _raises_in_a_worker(x: int) -> int:
    if os.getpid() != _PARENT:
        raise RuntimeError("a worker's own failure")
    return x + 1


def test_a_failing_worker_means_this_process_does_the_work() -> None:
    assert forked.map_forked(_raises_in_a_worker, [1, 2, 3]) == [2, 3, 4]


def test_an_error_here_stops_the_workers(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"

    def boom(x: int) -> int:
        if os.getpid() == _PARENT:
            while not pid_file.exists():  # the worker is up
                time.sleep(0.01)
            raise KeyError("here")
        partial = pid_file.with_suffix(".tmp")
        partial.write_text(str(os.getpid()))
        partial.rename(pid_file)  # whole or not there
        time.sleep(60)
        return x

    with pytest.raises(KeyError):
        forked.map_forked(boom, [1, 2])
    # killed and reaped, not left running its 60 s
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_docs_written_by_a_worker_beside_the_package_equal_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen.render import python as render

    root = tmp_path / "repo"
    write_tree(root, types=4, versions=3)
    result = plan(root, cache=Cache())  # a small tree: rendered in this process
    assert not result.findings
    monkeypatch.setattr(render, "_FORK_MIN", 1)
    calls = _record_splits(monkeypatch, render, 2)
    split = render.render_generated(result.project, Cache())
    assert calls == [["package", "docs"]]
    one = {k: v for k, v in result.files.items() if k.startswith("generated/")}
    assert list(split) == list(one) and split == one
    assert any(k.startswith("generated/docs/") for k in split)


def _build(root: Path, monkeypatch: pytest.MonkeyPatch, parts: int, cache: Cache) -> Any:
    from codegen import build

    monkeypatch.setattr(build, "_FORK_MIN", 10)
    calls = _record_splits(monkeypatch, build, parts)
    project, findings = build.build_project(root, cache)
    return project, findings, [len(chunks) for chunks in calls]


def test_a_build_split_over_a_worker_is_the_single_process_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo")
    # a broken version in the worker's half: its findings come back, in order
    bad = root / "schemas/events/bench.entity005.changed/v2.json"
    bad.write_text(bad.read_text().replace('"maxLength": 64', '"maxLength": "64"', 1))
    cache_dir = tmp_path / "cache"
    split_cache = Cache(cache_dir)
    one, one_findings, no_calls = _build(root, monkeypatch, 1, Cache())
    two, two_findings, calls = _build(root, monkeypatch, 2, split_cache)
    assert calls == [2] and no_calls == []
    assert two_findings == one_findings
    assert any(f.path.endswith("bench.entity005.changed/v2.json") for f in two_findings)
    assert repr(two) == repr(one)
    for t1, t2 in zip(one.types, two.types, strict=True):
        for v1, v2 in zip(t1.versions, t2.versions, strict=True):
            assert (v1.raw, v1.bundled) == (v2.raw, v2.bundled)
            assert v1.source.locate("/properties/id") == v2.source.locate("/properties/id")
    # the lint passes the worker computed reach this process's cache (and the disk)
    split_cache.flush()
    again = Cache(cache_dir)
    _build(root, monkeypatch, 1, again)
    assert again.pending() == {}


def test_a_split_build_leaves_the_worker_lint_passes_in_a_memory_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo")
    serial, split_cache = Cache(), Cache()  # no directory: entries live in memory only
    _build(root, monkeypatch, 1, serial)
    _, _, calls = _build(root, monkeypatch, 2, split_cache)
    assert calls == [2]
    assert split_cache.computed() == serial.computed()
    _build(root, monkeypatch, 1, split_cache)  # everything is a hit: nothing computed again
    assert split_cache.computed() == serial.computed()

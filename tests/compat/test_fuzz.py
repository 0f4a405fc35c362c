"""The differential fuzzer as a test: a bounded, seeded run in both semantics, the replay
of every minimized failure ever found, and cached against uncached verdicts.

``make fuzz`` runs the same fuzzer longer (tests/compat/fuzz/__main__.py) and appends
what it finds to tests/compat/fuzz/regressions.json.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from codegen.compat import clean, compare

from .fuzz.oracle import disproof, is_disproof
from .fuzz.run import load_regressions, model_lookup, run, runtime_pairs, strict_pairs

SEED = 20260512
STRICT_PAIRS = 600
RUNTIME_PAIRS = 150


def _explain(stats: Any) -> str:
    return "\n".join(json.dumps(f.to_json(), sort_keys=True) for f in stats.failures[:5])


def test_strict_fuzz_finds_no_unsafe_verdict() -> None:
    stats = run(STRICT_PAIRS, SEED, "strict")
    assert stats.compatible > STRICT_PAIRS // 2  # the run really judged compatible pairs
    assert stats.instances > 50 * stats.compatible  # ... and tried many instances each
    assert not stats.failures, _explain(stats)


def test_runtime_fuzz_finds_no_unsafe_verdict() -> None:
    stats = run(RUNTIME_PAIRS, SEED, "runtime")
    assert stats.compatible > RUNTIME_PAIRS // 3
    assert stats.unmodelled < stats.compatible // 4  # the generator modelled most pairs
    assert not stats.failures, _explain(stats)


REGRESSIONS = load_regressions()


@pytest.mark.parametrize(
    "entry",
    REGRESSIONS,
    ids=[f"{i}-{e['semantics']}-{e['kind']}" for i, e in enumerate(REGRESSIONS)],
)
def test_regression_fixture(entry: dict[str, Any]) -> None:
    """Each minimized failure: the verdict is no longer "compatible", or the instance (and
    a fresh sample) no longer disproves it."""
    old, new, semantics = entry["old"], entry["new"], entry["semantics"]
    report = compare(old, new, semantics=semantics)  # a crash fails the test
    if entry["kind"] == "crash":
        return
    ok = report.backward if entry["direction"] == "backward" else report.forward
    if not ok:
        return
    writer, reader = (old, new) if entry["direction"] == "backward" else (new, old)
    models = model_lookup([writer, reader]) if semantics == "runtime" else None
    from .fuzz.instances import candidates

    tries = [entry["instance"], *candidates(writer, reader, random.Random(0))]
    found = disproof(semantics, writer, reader, tries, models)
    assert not is_disproof(found), found


def test_regressions_include_the_issue_pairs() -> None:
    issue = [e for e in REGRESSIONS if e["found"] == "issue 12"]
    assert len(issue) >= 8
    for entry in issue:
        if entry["kind"] == "unsafe":
            report = compare(entry["old"], entry["new"], semantics="strict")
            direction = report.backward if entry["direction"] == "backward" else report.forward
            assert not direction, entry


@pytest.mark.parametrize("semantics", ["strict", "runtime"])
def test_cached_and_uncached_verdicts_agree(semantics: str) -> None:
    """No cache may change a verdict: every fuzz pair judged with the engine's caches and
    without them (also interleaved, so freed slices would be reused) gives one report."""
    pairs = strict_pairs(300, SEED) if semantics == "strict" else runtime_pairs(150, SEED)
    clean.forget()
    cached = [compare(o, n, semantics=semantics) for _, o, n in pairs]  # type: ignore[arg-type]
    # Again in the other order: sub-pairs proved clean while judging later pairs (clean.py
    # remembers them across compares, by content) now meet the earlier ones.
    again = [
        compare(o, n, semantics=semantics)  # type: ignore[arg-type]
        for _, o, n in reversed(pairs)
    ][::-1]
    uncached = [
        compare(o, n, semantics=semantics, memo=False)  # type: ignore[arg-type]
        for _, o, n in reversed(pairs)
    ][::-1]
    for (_kind, old, new), a, b, c in zip(pairs, cached, uncached, again, strict=True):
        assert (a.backward, a.forward, a.findings) == (b.backward, b.forward, b.findings), (
            old,
            new,
        )
        assert (c.backward, c.forward, c.findings) == (b.backward, b.forward, b.findings)
    assert clean.size() > 0, "the cross-compare memo was exercised"


def test_documents_named_by_fingerprint_give_the_same_reports() -> None:
    """The gate names each document by its fingerprint (engine.py shares what it derives
    from a document by that name): the reports are those of a compare without names or
    caches, with every document a fresh copy."""
    import copy

    from codegen.load import fingerprint

    pairs = strict_pairs(150, SEED)
    clean.forget()
    named = [
        compare(o, n, semantics="strict", ids=(fingerprint(o), fingerprint(n))) for _, o, n in pairs
    ]
    named_again = [
        compare(
            copy.deepcopy(o),
            copy.deepcopy(n),
            semantics="strict",
            ids=(fingerprint(o), fingerprint(n)),
        )
        for _, o, n in reversed(pairs)
    ][::-1]
    plain = [compare(o, n, semantics="strict", memo=False) for _, o, n in pairs]
    for a, b, c in zip(named, named_again, plain, strict=True):
        assert (a.backward, a.forward, a.findings) == (c.backward, c.forward, c.findings)
        assert (b.backward, b.forward, b.findings) == (c.backward, c.forward, c.findings)

"""Strict verdicts follow the instance-set definition across the keyword space."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from codegen.compat import compare
from codegen.compat.rules import RULE_IDS

from .test_rules import assert_witness
from .verdict_cases import CASES


@pytest.mark.parametrize(
    ("name", "old", "new", "backward", "forward"), CASES, ids=[c[0] for c in CASES]
)
def test_strict_verdict(name: str, old: Any, new: Any, backward: bool, forward: bool) -> None:
    report = compare(old, new, semantics="strict")
    assert (report.backward, report.forward) == (backward, forward)
    assert report.backward == (not any(f.direction == "backward" for f in report.findings))
    assert report.forward == (not any(f.direction == "forward" for f in report.findings))
    for finding in report.findings:
        assert finding.rule in RULE_IDS
        assert_witness(old, new, finding)


@pytest.mark.parametrize(
    ("name", "old", "new", "backward", "forward"), CASES, ids=[c[0] for c in CASES]
)
def test_runtime_is_never_less_strict_about_readers_that_forbid(
    name: str, old: Any, new: Any, backward: bool, forward: bool
) -> None:
    """Runtime only relaxes what the models provably ignore; it must still return a
    verdict for every strict fixture and its findings must be well formed."""
    report = compare(old, new, semantics="runtime")
    for finding in report.findings:
        assert finding.old_pointer == "" or finding.old_pointer.startswith("/")
        assert finding.new_pointer == "" or finding.new_pointer.startswith("/")


def test_could_not_prove_messages() -> None:
    report = compare(
        {"type": "string", "pattern": "^a"},
        {"type": "string", "pattern": "^a+"},
        semantics="strict",
    )
    assert all("could not be proved" in f.message for f in report.findings)
    assert not report.backward and not report.forward


from .runtime_cases import RUNTIME_CASES  # noqa: E402


@pytest.mark.parametrize(
    ("name", "old", "new", "backward", "forward"), RUNTIME_CASES, ids=[c[0] for c in RUNTIME_CASES]
)
def test_runtime_verdict(name: str, old: Any, new: Any, backward: bool, forward: bool) -> None:
    report = compare(old, new, semantics="runtime")
    assert (report.backward, report.forward) == (backward, forward)
    for finding in report.findings:
        assert finding.rule in RULE_IDS
        assert_witness(old, new, finding)


CYCLE = {"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"$ref": "#/$defs/a"}}


@pytest.mark.parametrize("semantics", ["strict", "runtime"])
def test_a_ref_cycle_jsonschema_cannot_finish_is_judged_not_raised(semantics: str) -> None:
    """Found by `make fuzz`: `$defs/a` refers to itself through `else`, so validating a
    non-string never ends. Where the stack runs out decides whether jsonschema raises a
    RecursionError or rpds a PanicException (a BaseException); the witness builder let the
    second escape (at one stack depth in four, measured). Four consecutive depths are
    tried: each must end in a verdict, and not "compatible" both ways."""
    writer = {"type": "object", "properties": {"x": {"type": ["integer", "string"]}}}
    reader = {"type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}, "$defs": {"a": CYCLE}}
    limit = sys.getrecursionlimit()
    try:
        for extra in range(4):
            sys.setrecursionlimit(1000 + extra)
            for old, new in ((writer, reader), (reader, writer)):
                report = compare(old, new, semantics=semantics)  # type: ignore[arg-type]
                assert not (report.backward and report.forward)
    finally:
        sys.setrecursionlimit(limit)

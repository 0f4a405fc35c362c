"""Modes (incl. transitive) and the JSON / text renderings of a report."""

from __future__ import annotations

import json

import pytest

from codegen.compat import MODES, PairReport, compare, mode_verdict, report_to_json, report_to_text
from codegen.compat.model import Finding

OK = PairReport(True, True, ())
BACK_ONLY = PairReport(True, False, ())
FWD_ONLY = PairReport(False, True, ())
NEITHER = PairReport(False, False, ())

# reports of the new version against its predecessors, oldest first
EXPECTED = {
    # (old breaks backward, latest fully compatible)
    "NONE": [True, True, True, True],
    "BACKWARD": [True, True, True, False],
    "FORWARD": [True, True, True, False],
    "FULL": [True, True, True, False],
    "BACKWARD_TRANSITIVE": [True, False, True, False],
    "FORWARD_TRANSITIVE": [True, True, False, False],
    "FULL_TRANSITIVE": [True, False, False, False],
}
HISTORIES = [
    [OK, OK],
    [FWD_ONLY, OK],
    [BACK_ONLY, OK],
    [OK, NEITHER],
]


@pytest.mark.parametrize("mode", MODES)
def test_mode_verdicts(mode: str) -> None:
    got = [mode_verdict(mode, history) for history in HISTORIES]  # type: ignore[arg-type]
    assert got == EXPECTED[mode]


@pytest.mark.parametrize("mode", MODES)
def test_first_version_satisfies_every_mode(mode: str) -> None:
    assert mode_verdict(mode, [])  # type: ignore[arg-type]


def test_single_direction_modes() -> None:
    assert mode_verdict("BACKWARD", [BACK_ONLY])
    assert not mode_verdict("FORWARD", [BACK_ONLY])
    assert mode_verdict("FORWARD", [FWD_ONLY])
    assert not mode_verdict("FULL", [FWD_ONLY])


OLD = {"type": "object", "properties": {"a": {"type": "string"}}}
NEW = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_json_shape() -> None:
    report = compare(OLD, NEW, semantics="strict")
    out = report_to_json(report, mode="FULL", semantics="strict")
    assert list(out) == ["compatible", "mode", "semantics", "backward", "forward", "findings"]
    assert out["compatible"] is False and out["backward"] is False and out["forward"] is True
    (finding,) = out["findings"]
    assert list(finding) == [
        "rule",
        "direction",
        "old_pointer",
        "new_pointer",
        "message",
        "witness",
    ]
    assert finding["rule"] == "REQUIRED_ATTRIBUTE_ADDED"
    assert finding["witness"] == {}
    json.dumps(out)  # serialisable as is
    assert report_to_json(report, mode="FORWARD", semantics="strict")["compatible"] is True


def test_text_lines_prefer_new_file() -> None:
    report = compare(OLD, NEW, semantics="strict")
    lines = report_to_text(
        report,
        old_path="v1.json",
        new_path="v2.json",
        old_line_of=lambda p: 3,
        new_line_of=lambda p: 7 if p == "/required" else None,
    )
    assert lines == [
        'v2.json:7: At the document root property "a" is required by the new schema but not '
        "by the old schema. (REQUIRED_ATTRIBUTE_ADDED)"
    ]


def test_text_falls_back_to_old_file() -> None:
    finding = Finding(
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "backward",
        "/properties/b",
        "/additionalProperties",
        "Gone.",
    )
    report = PairReport(False, True, (finding,))
    lines = report_to_text(
        report,
        old_path="v1.json",
        new_path="v2.json",
        old_line_of=lambda p: 9,
        new_line_of=lambda p: None,
    )
    assert lines == ["v1.json:9: Gone. (PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL)"]


def test_json_null_witness_round_trips() -> None:
    report = compare({"type": ["integer", "null"]}, {"type": "integer"}, semantics="strict")
    out = report_to_json(report, mode="BACKWARD", semantics="strict")
    assert out["findings"][0]["witness"] is None
    assert report.findings[0].has_witness


def test_text_without_any_location_uses_new_file_first_line() -> None:
    finding = Finding("TYPE_CHANGED", "backward", "/x", "/y", "Changed.")
    report = PairReport(False, True, (finding,))
    lines = report_to_text(
        report,
        old_path="v1.json",
        new_path="v2.json",
        old_line_of=lambda p: None,
        new_line_of=lambda p: None,
    )
    assert lines == ["v2.json:1: Changed. (TYPE_CHANGED)"]

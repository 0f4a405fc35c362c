"""Each rule has fixtures asserting the exact (rule id, direction, old, new pointer) list."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from codegen.compat import RULES, compare
from codegen.compat.model import Finding

from .rule_cases import RULE_CASES
from .verdict_cases import CASES

RULE_IDS = {r.id for r in RULES}


def _validator(schema: Any) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_witness(old: Any, new: Any, finding: Finding) -> None:
    if not finding.has_witness:
        return
    writer, reader = (old, new) if finding.direction == "backward" else (new, old)
    assert _validator(writer).is_valid(finding.witness), finding
    assert not _validator(reader).is_valid(finding.witness), finding


@pytest.mark.parametrize(
    ("name", "old", "new", "semantics", "expected"), RULE_CASES, ids=[c[0] for c in RULE_CASES]
)
def test_rule_fixture(name: str, old: Any, new: Any, semantics: Any, expected: Any) -> None:
    report = compare(old, new, semantics=semantics)
    got = [(f.rule, f.direction, f.old_pointer, f.new_pointer) for f in report.findings]
    assert got == sorted(expected)
    assert report.backward == (not any(e[1] == "backward" for e in expected))
    assert report.forward == (not any(e[1] == "forward" for e in expected))
    for finding in report.findings:
        assert finding.rule in RULE_IDS
        assert finding.message.endswith(".")
        assert_witness(old, new, finding)


ALL_SCHEMAS = [s for c in RULE_CASES for s in (c[1], c[2])] + [
    s for c in CASES for s in (c[1], c[2])
]


@pytest.mark.parametrize("semantics", ["strict", "runtime"])
@pytest.mark.parametrize("schema", ALL_SCHEMAS)
def test_every_schema_is_compatible_with_itself(schema: Any, semantics: Any) -> None:
    twin = copy.deepcopy(schema)  # equal, not identical: no object-identity shortcut
    report = compare(schema, twin, semantics=semantics)
    assert (report.backward, report.forward, report.findings) == (True, True, ())


def test_findings_are_sorted_and_unique() -> None:
    for _, old, new, semantics, _ in RULE_CASES:
        findings = compare(old, new, semantics=semantics).findings
        keys = [(f.rule, f.direction, f.old_pointer, f.new_pointer) for f in findings]
        assert list(findings) == sorted(findings)
        assert len(keys) == len(set(keys))


def test_rule_table_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.id == rule.id.upper() and " " not in rule.id
        assert rule.purpose.endswith(".")
        assert set(rule.directions) <= {"backward", "forward"} and rule.directions


def test_witness_of_json_null_is_representable() -> None:
    report = compare({"type": ["string", "null"]}, {"type": "string"}, semantics="strict")
    (finding,) = report.findings
    assert finding.has_witness and finding.witness is None

"""The rule table and the emitters agree: every rule in the table is reported by some
exact-tuple fixture (tests/compat/rule_cases.py), every reported rule is in the table, and
every rule's handler is a real check function that reports it."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

from codegen.compat import RULES, compare
from codegen.compat import rules as table

from .rule_cases import RULE_CASES

COMPAT = Path(table.__file__).parent


def _fixture_rules() -> set[str]:
    return {rule for case in RULE_CASES for rule, *_ in case[4]}


def test_every_rule_in_the_table_has_a_fixture() -> None:
    missing = sorted({r.id for r in RULES} - _fixture_rules())
    assert missing == [], f"rules no fixture in rule_cases.py reports: {missing}"


def test_every_rule_a_fixture_reports_is_in_the_table() -> None:
    reported = {
        f.rule
        for _, old, new, semantics, _ in RULE_CASES
        for f in compare(old, new, semantics=semantics).findings  # type: ignore[arg-type]
    }
    assert reported == {r.id for r in RULES}
    assert _fixture_rules() <= {r.id for r in RULES}


def _handler(dotted: str) -> object:
    module, _, rest = dotted.partition(".")
    target: object = importlib.import_module(f"codegen.compat.{module}")
    for part in rest.split("."):
        target = getattr(target, part)
    return target


def _names_in(function: object) -> set[str]:
    """Attribute and plain names the function's body uses (``rules.X`` gives ``X``), with
    those of the module's own helpers it calls (one level: ``_key_slot`` -> ``ch.slot``)."""

    def names(fn: object) -> set[str]:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                out.add(node.attr)
            elif isinstance(node, ast.Name):
                out.add(node.id)
        return out

    found = names(function)
    module = inspect.getmodule(function)
    for name in list(found):
        helper = getattr(module, name, None)
        if name.startswith("_") and inspect.isfunction(helper):
            found |= names(helper)
    return found


def test_every_handler_is_a_check_that_reports_its_rule() -> None:
    bound_rules = {
        r.id for b in table.BOUNDS for r in (b.added, b.tightened, b.removed, b.loosened)
    }
    for rule in RULES:
        handler = _handler(rule.handler)
        assert callable(handler), rule
        names = _names_in(handler)
        # ch.report, or ch.slot / ch.wrapped, which report the rules they are given
        assert names & {"report", "slot", "wrapped"}, f"{rule.handler} reports nothing"
        if rule.id in bound_rules:
            # bound rules are data: the handler asks the Bound for the rule to report
            assert "rule" in names, f"{rule.handler} does not report {rule.id}"
        else:
            assert rule.id in names, f"{rule.handler} does not report {rule.id}"


def test_rules_are_referenced_as_objects_not_strings() -> None:
    """No check module spells a rule id, or builds one from pieces, as a string: a grep
    for an id finds its row and every place that reports it."""
    ids = {r.id for r in RULES}
    found = []
    for path in sorted(COMPAT.glob("*.py")):
        if path.name == "rules.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            text = node.value
            piece = len(text) > 3 and text.strip("_").isupper() and " " not in text
            if text in ids or (piece and any(text in i for i in ids)):
                found.append(f"{path.name}: {text!r}")
    assert found == []

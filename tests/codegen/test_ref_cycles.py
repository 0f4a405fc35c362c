"""REF_CYCLE: references that loop on the same value are a located finding, not a
traceback from the model generator (found by driving `gen` with such a contract); a
generator failure on anything lint let through is a finding too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.ref_cycles import ref_cycles
from codegen.render.models import GeneratorFailed, generate_model_sources, model_input
from tests.codegen.golden import run_codegen
from tests.codegen.hostile import REL, event, line_of, write_tree

LOOPS: dict[str, dict[str, Any]] = {
    "allOf": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}},
    "anyOf": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}},
    "ref to ref": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
    "not": {"a": {"not": {"$ref": "#/$defs/a"}}},
    "then": {"a": {"if": {"type": "string"}, "then": {"$ref": "#/$defs/a"}}},
    "dependentSchemas": {"a": {"dependentSchemas": {"x": {"$ref": "#/$defs/a"}}}},
    "anchor": {"a": {"$anchor": "here", "oneOf": [{"$ref": "#here"}, {"type": "null"}]}},
    "dynamicRef": {"a": {"$dynamicAnchor": "me", "allOf": [{"$dynamicRef": "#me"}]}},
}


@pytest.mark.parametrize("case", sorted(LOOPS))
def test_a_loop_on_the_same_value_is_a_located_finding(tmp_path: Path, case: str) -> None:
    defs = LOOPS[case]
    path = write_tree(tmp_path, event({"p": {"$ref": "#/$defs/a"}}, **{"$defs": defs}))
    code, out, err = run_codegen(tmp_path, "gen")
    assert code == 1 and "Traceback" not in out + err, out + err
    assert "(REF_CYCLE)" in out, out
    # located at the reference that closes the loop, inside $defs
    line = int(out.split(f"{REL}:")[1].split(":")[0])
    assert line > line_of(path, '"$defs"'), out
    assert not (tmp_path / "generated").exists()


@pytest.mark.parametrize(
    "defs",
    [
        {"a": {"type": "object", "properties": {"next": {"$ref": "#/$defs/a"}}}},
        {"a": {"type": "array", "items": {"$ref": "#/$defs/a"}}},
        {
            "a": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/b"}]},
            "b": {"properties": {"n": {"$ref": "#/$defs/a"}}},
        },
    ],
)
def test_recursion_into_the_value_is_fine(tmp_path: Path, defs: dict[str, Any]) -> None:
    write_tree(tmp_path, event({"p": {"$ref": "#/$defs/a"}}, **{"$defs": defs}))
    code, out, err = run_codegen(tmp_path, "gen")
    assert code == 0, out + err
    assert ref_cycles({"$defs": defs, "$ref": "#/$defs/a"}) == []


def test_the_cycle_is_named_step_by_step() -> None:
    doc = {"$defs": LOOPS["ref to ref"]}
    assert ref_cycles(doc) == [("/$defs/b/$ref", ["/$defs/a", "/$defs/b"])]


def test_a_generator_failure_names_the_module() -> None:
    looping = {
        "type": "object",
        "$defs": LOOPS["allOf"],
        "properties": {"p": {"$ref": "#/$defs/a"}},
    }
    fine = {"type": "object", "properties": {"q": {"type": "string"}}}
    schemas = {"looping": model_input(looping, "Looping"), "fine": model_input(fine, "Fine")}
    with pytest.raises(GeneratorFailed) as exc:
        generate_model_sources(schemas)
    assert set(exc.value.failures) == {"looping"}
    assert "cycle" in exc.value.failures["looping"]
    assert json.dumps(exc.value.failures)  # plain text, printable as a finding

"""The 2020-12 -> AsyncAPI schema format translation (codegen/render/asyncapi_schema.py):
keyword by keyword, reference rewriting, the notes for what cannot be expressed, and a
differential check that the translated schemas accept what the contracts accept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from codegen.build import build_project
from codegen.render.asyncapi_schema import Note, Scope, translate_pointer, translated
from tests.codegen.golden import copy_input, run_codegen


def _tr(schema: Any, components: dict[str, str] | None = None) -> tuple[Any, list[Note]]:
    notes: list[Note] = []
    scope = Scope(schema, components or {}, "Msg")
    body = {k: v for k, v in schema.items() if k != "$defs"}
    return translated(body, scope, "Msg", notes), notes


def test_prefix_items_become_the_array_form() -> None:
    out, notes = _tr({"prefixItems": [{"type": "number"}], "items": {"type": "string"}})
    assert out == {"items": [{"type": "number"}], "additionalItems": {"type": "string"}}
    assert notes == []
    assert _tr({"prefixItems": [True], "items": False})[0] == {
        "items": [True],
        "additionalItems": False,
    }
    assert _tr({"items": {"type": "string"}})[0] == {"items": {"type": "string"}}


def test_dependent_keywords_become_dependencies() -> None:
    out, _ = _tr(
        {
            "dependentRequired": {"a": ["b"], "c": ["d"]},
            "dependentSchemas": {"a": {"required": ["e"]}, "f": {"maxProperties": 3}},
        }
    )
    assert out == {
        "dependencies": {
            "a": {"allOf": [{"required": ["b"]}, {"required": ["e"]}]},
            "c": ["d"],
            "f": {"maxProperties": 3},
        }
    }


def test_unevaluated_keywords_translate_alone_and_are_noted_otherwise() -> None:
    alone, notes = _tr({"properties": {"a": True}, "unevaluatedProperties": False})
    assert alone == {"properties": {"a": True}, "additionalProperties": False} and not notes
    assert _tr({"unevaluatedItems": {"type": "integer"}})[0] == {"items": {"type": "integer"}}
    assert _tr({"prefixItems": [True], "unevaluatedItems": False})[0] == {
        "items": [True],
        "additionalItems": False,
    }
    out, notes = _tr({"allOf": [{"properties": {"a": True}}], "unevaluatedProperties": False})
    assert out == {"allOf": [{"properties": {"a": True}}]}
    assert notes == [
        Note(
            "Msg",
            "/unevaluatedProperties",
            "unevaluatedProperties",
            "left out: next to allOf it has no Draft-07 form (the document accepts more than "
            "the contract)",
        )
    ]
    # `not` never evaluates, so it does not stand in the way.
    assert _tr({"not": {"required": ["x"]}, "unevaluatedProperties": False})[0] == {
        "not": {"required": ["x"]},
        "additionalProperties": False,
    }


def test_contains_counts_are_noted() -> None:
    out, notes = _tr({"contains": {"type": "string"}, "minContains": 1, "maxContains": 2})
    assert out == {"contains": {"type": "string"}}
    assert [(n.keyword, n.pointer) for n in notes] == [("maxContains", "/maxContains")]


def test_refs_point_into_components_with_translated_paths() -> None:
    schema = {
        "$id": "https://example.com/x.json",
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "properties": {
            "p": {"prefixItems": [{"type": "number"}], "items": {"type": "string"}},
            "first": {"$ref": "#/properties/p/prefixItems/0"},
            "rest": {"$ref": "#/properties/p/items"},
            "money": {"$ref": "#/$defs/Money"},
            "cents": {"$ref": "#/$defs/Money/properties/cents"},
            "local": {"$ref": "#/$defs/Local", "description": "applies too"},
            "named": {"$ref": "#here"},
            "data": {"const": {"$ref": "#/not/a/ref"}},
        },
        "$defs": {
            "Money": {"properties": {"cents": {"type": "integer"}}},
            "Local": {"type": "string", "$anchor": "here"},
        },
    }
    out, notes = _tr(schema, {"Money": "Money", "Local": "Msg.Local"})
    props = out["properties"]
    assert "$id" not in out and "$schema" not in out
    assert props["first"] == {"$ref": "#/components/schemas/Msg/properties/p/items/0"}
    assert props["rest"] == {"$ref": "#/components/schemas/Msg/properties/p/additionalItems"}
    assert props["money"] == {"$ref": "#/components/schemas/Money"}
    assert props["cents"] == {"$ref": "#/components/schemas/Money/properties/cents"}
    # Draft-07 ignores keywords beside $ref: an allOf keeps them applying.
    assert props["local"] == {
        "description": "applies too",
        "allOf": [{"$ref": "#/components/schemas/Msg.Local"}],
    }
    assert props["named"] == {"$ref": "#/components/schemas/Msg.Local"}
    assert props["data"] == {"const": {"$ref": "#/not/a/ref"}}
    assert notes == []


def test_dynamic_and_unresolvable_refs_are_noted() -> None:
    schema = {
        "properties": {"a": {"$dynamicRef": "#node"}, "b": {"$ref": "#nowhere"}},
        "$defs": {"Node": {"$dynamicAnchor": "node", "type": "object"}},
    }
    out, notes = _tr(schema, {"Node": "Msg.Node"})
    assert out["properties"]["a"] == {"$ref": "#/components/schemas/Msg.Node"}
    assert out["properties"]["b"] == {"$ref": "#nowhere"}
    assert sorted(n.keyword for n in notes) == ["$dynamicRef", "$ref"]


def test_pointer_translation_walks_the_original_schema() -> None:
    node = {"properties": {"x": {"prefixItems": [{}], "items": {"$defs": {"D": {}}}}}}
    assert translate_pointer(node, ["properties", "x", "items", "$defs", "D"]) == (
        "/properties/x/additionalItems/definitions/D"
    )
    both = {"dependentRequired": {"a": ["b"]}, "dependentSchemas": {"a": {"not": {}}}}
    assert translate_pointer(both, ["dependentSchemas", "a", "not"]) == (
        "/dependencies/a/allOf/1/not"
    )


def _validator_for(doc: dict[str, Any], component: str) -> Draft7Validator:
    # Refs in the document are absolute from its root, as AsyncAPI tools resolve them.
    return Draft7Validator({**doc, "$ref": f"#/components/schemas/{component}"})


LAB_INSTANCES: list[Any] = [
    {"sensor": "s", "at": [1, 2]},
    {"sensor": "s", "at": [1, 2, "north", "up"]},
    {"sensor": "s", "at": [1, "x"]},
    {"sensor": "s", "at": [1]},
    {"sensor": "s", "at": [1, 2], "range": [0, 1]},
    {"sensor": "s", "at": [1, 2], "range": [0, 1, 2]},
    {"sensor": "s", "at": [1, 2], "range": ["a", 1]},
    {"sensor": "s", "at": [1, 2], "unit": "K"},
    {"sensor": "s", "at": [1, 2], "card": {"number": "1"}},
    {"sensor": "s", "at": [1, 2], "card": {"number": "1", "cvc": "2"}},
    {"sensor": "s", "at": [1, 2], "card": {"number": "1", "cvc": "2", "pin": "3"}},
    {"sensor": "s", "at": [1, 2], "card": {"cvc": "2", "extra": 1}},
    {"sensor": "s", "at": [1, 2], "first": "x"},
    {"sensor": "s", "at": [1, 2], "first": 3},
    {"sensor": "s", "at": [1, 2], "nested": {"value": 1.5}},
    {"sensor": "s", "at": [1, 2], "nested": {"value": 2}},
    {"sensor": "s", "at": [1, 2], "tags": ["calibrated", "calibrated", "calibrated"]},
    {"sensor": "s", "at": [1, 2], "tags": ["raw"]},
    {"sensor": "s", "at": [1, 2], "meta": {"a": "x", "b": 1}},
    {"at": [1, 2]},
]


def test_translated_schemas_accept_what_the_contract_accepts(tmp_path: Path) -> None:
    """Differential: the translation never rejects an instance the 2020-12 contract accepts,
    and rejects everything it rejects except where a note says the document is looser."""
    work = copy_input("asyncapi_keywords", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    doc = json.loads((work / "generated" / "docs" / "asyncapi.json").read_text())
    project, _ = build_project(work)
    bundled = project.version("lab.reading", 1).bundled
    original = Draft202012Validator(bundled)
    translated_v = _validator_for(doc, "LabReadingV1")
    noted = {
        row.split("|")[2].strip(" `").split("/")[2]
        for row in (work / "generated" / "docs" / "README.md").read_text().splitlines()
        if row.startswith("| `LabReadingV1`")
    }
    assert noted == {"card", "meta", "tags"}
    disagreements = []
    for instance in LAB_INSTANCES:
        want, got = original.is_valid(instance), translated_v.is_valid(instance)
        if want and not got:
            pytest.fail(f"the document rejects a valid payload: {instance}")
        if want != got:
            disagreements.append(instance)
    # Only instances whose difference lies in a noted property may disagree.
    for instance in disagreements:
        assert set(instance) & noted, instance
    assert disagreements, "the instance list should exercise the noted keywords"

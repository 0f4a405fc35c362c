"""Contract tests generated from the registry: every message version, no hand-listing.

For each (type, version): its examples and hypothesis-generated instances are valid under
the schema and round-trip through the generated model; the model's own JSON Schema declares
the same properties and required set as the contract (nothing dropped or loosened).
A new schema version gets these tests by existing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel

from generated.registry import REGISTRY
from runtime.spec import EventSpec

SPECS = sorted(REGISTRY.events.values(), key=lambda s: (s.type, s.version))
IDS = [f"{s.type}@{s.version}" for s in SPECS]


def _schema(spec: EventSpec) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(spec.schema_json)
    return loaded


def _validator(spec: EventSpec) -> Draft202012Validator:
    return Draft202012Validator(_schema(spec), format_checker=FormatChecker())


def _dump(model: BaseModel) -> Any:
    # Exactly what the runtime writes: declared fields only, by wire name.
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _round_trip(spec: EventSpec, instance: Any) -> None:
    validator = _validator(spec)
    assert not list(validator.iter_errors(instance))
    model = spec.model.model_validate(instance)
    wire = _dump(model)
    errors = [e.message for e in validator.iter_errors(wire)]
    assert errors == [], f"{spec.model.__name__} wrote an invalid payload: {errors}"
    assert spec.model.model_validate(wire) == model
    assert spec.model.model_validate_json(json.dumps(wire)) == model


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_examples_round_trip(spec: EventSpec) -> None:
    examples = _schema(spec).get("examples", [])
    assert examples, f"{spec.dataschema} has no examples"
    for example in examples:
        _round_trip(spec, example)
        # Without formats involved the bytes come back as they went in.
        assert _dump(spec.model.model_validate(example)) == example


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_generated_instances_round_trip(spec: EventSpec) -> None:
    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(instance=from_schema(_schema(spec)))
    def check(instance: Any) -> None:
        _round_trip(spec, instance)

    check()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        target: Any = schema
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_model_schema_agrees_with_contract(spec: EventSpec) -> None:
    contract = _schema(spec)
    model_schema = spec.model.model_json_schema(by_alias=True)
    assert set(model_schema.get("properties", {})) == set(contract.get("properties", {}))
    assert set(model_schema.get("required", [])) == set(contract.get("required", []))
    # One level down too: nested objects keep their fields and required lists.
    for name, sub in contract.get("properties", {}).items():
        sub = _resolve(contract, sub)
        if sub.get("type") == "object" and "properties" in sub:
            msub = _resolve(model_schema, _first_object(model_schema["properties"][name]))
            assert set(msub.get("properties", {})) == set(sub["properties"]), name
            assert set(msub.get("required", [])) == set(sub.get("required", [])), name


def _first_object(node: dict[str, Any]) -> dict[str, Any]:
    for branch in node.get("anyOf", []):
        if branch.get("type") != "null":
            return dict(branch)
    return node


def test_every_version_is_registered_with_its_stream_or_subject() -> None:
    for spec in SPECS:
        if spec.delivery == "durable":
            assert spec.stream, spec.key
        assert spec.subject, spec.key
        assert spec.model.__name__.endswith(f"V{spec.version}")


def test_strategy_is_not_empty() -> None:
    """hypothesis-jsonschema silently generates nothing for objects on some hypothesis
    versions; make sure it really produces payloads here."""
    spec = REGISTRY.spec("order.created", 2)
    seen: list[Any] = []

    @settings(max_examples=5)
    @given(instance=from_schema(_schema(spec)))
    def collect(instance: Any) -> None:
        seen.append(instance)

    collect()
    assert seen and all(isinstance(x, dict) and "order_id" in x for x in seen)

"""Every upcaster a consumer needs maps instances of the old version to valid instances of
the new one (property test over hypothesis-generated old payloads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from generated.registry import REGISTRY
from services.upcasters import UPCASTERS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
STEPS = sorted({step for plan in REGISTRY.read_plans.values() for step in plan.upcasters})


def check_upcaster(old_schema: dict[str, Any], new_schema: dict[str, Any], fn: Upcaster) -> None:
    validator = Draft202012Validator(new_schema)

    @settings(
        max_examples=30,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(old=from_schema(old_schema))
    def prop(old: dict[str, Any]) -> None:
        new = fn(json.loads(json.dumps(old)))
        errors = [e.message for e in validator.iter_errors(new)]
        assert errors == [], f"upcaster output invalid for input {old!r}: {errors}"

    prop()


def test_required_upcasters_produce_valid_events() -> None:
    # One test over every step the registry's read plans need (none in the example system
    # today; the gate e2e test exercises the flow that creates one).
    for step in STEPS:
        type_name, old, new = step
        assert step in UPCASTERS, f"missing upcaster {step}: run `make gen` for a stub"
        old_schema = json.loads(REGISTRY.spec(type_name, old).schema_json)
        new_schema = json.loads(REGISTRY.spec(type_name, new).schema_json)
        check_upcaster(old_schema, new_schema, UPCASTERS[step])


def test_registered_upcasters_name_published_versions() -> None:
    for type_name, old, new in UPCASTERS:
        REGISTRY.spec(type_name, old)
        REGISTRY.spec(type_name, new)
        assert old < new


OLD = {
    "type": "object",
    "required": ["customer_id"],
    "properties": {"customer_id": {"type": "string", "maxLength": 8}},
}
NEW = {
    "type": "object",
    "required": ["customer"],
    "properties": {"customer": {"type": "string", "maxLength": 8}},
    "additionalProperties": False,
}


def test_property_check_accepts_a_correct_upcaster() -> None:
    check_upcaster(OLD, NEW, lambda old: {"customer": old["customer_id"]})


def test_property_check_rejects_a_wrong_upcaster() -> None:
    with pytest.raises(AssertionError, match="upcaster output invalid"):
        check_upcaster(OLD, NEW, lambda old: {"customer": old["customer_id"] + "-suffix"})

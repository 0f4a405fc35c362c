"""Empirical proof of the verdicts: whenever compare() calls a direction compatible,
instances drawn from the writer's schema (hypothesis-jsonschema) are accepted by the
reader — by jsonschema under strict semantics, by the generated pydantic model of the
reader (fed the generated writer model's JSON dump) under runtime semantics.

Example counts are modest and derandomized so runs are reproducible on a small machine.
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import errors as hypothesis_errors
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as ValidationError_
from pydantic import BaseModel, ValidationError

from codegen.compat import compare
from runtime.wire import writer_for

from .modelkit import models_for
from .rule_cases import RULE_CASES
from .runtime_cases import RUNTIME_CASES
from .verdict_cases import CASES

EXAMPLES = 20
PROFILE = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

PAIRS: list[tuple[str, Any, Any]] = (
    [(c[0], c[1], c[2]) for c in CASES]
    + [(c[0], c[1], c[2]) for c in RULE_CASES]
    + [(c[0], c[1], c[2]) for c in RUNTIME_CASES]
)


def _directions(semantics: Any) -> list[tuple[str, Any, Any]]:
    out = []
    for name, old, new in PAIRS:
        report = compare(old, new, semantics=semantics)
        if report.backward:
            out.append((f"{name}-backward", old, new))
        if report.forward:
            out.append((f"{name}-forward", new, old))
    return out


STRICT = _directions("strict")
RUNTIME = _directions("runtime")


def _exact_multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Any:
    """multipleOf in decimal arithmetic, as the spec defines it (0.3 is a multiple of 0.1);
    jsonschema's binary floating point says otherwise, which is a validator artefact."""
    if not validator.is_type(instance, "number"):
        return
    try:
        ratio = Fraction(str(instance)) / Fraction(str(step))
    except (ValueError, ZeroDivisionError):
        return
    if ratio.denominator != 1:
        yield ValidationError_(f"{instance!r} is not a multiple of {step!r}")


ExactValidator = validators.extend(Draft202012Validator, {"multipleOf": _exact_multiple_of})


def _run(test: Any) -> None:
    try:
        test()
    except (hypothesis_errors.Unsatisfiable, hypothesis_errors.InvalidArgument) as exc:
        pytest.skip(f"no instances can be drawn: {exc}")
    except Exception as exc:
        if type(exc).__name__ == "HypothesisRefResolutionError":
            pytest.skip("hypothesis-jsonschema cannot draw from recursive schemas")
        raise


@pytest.mark.parametrize(("name", "writer", "reader"), STRICT, ids=[d[0] for d in STRICT])
def test_strict_compatible_means_reader_accepts(name: str, writer: Any, reader: Any) -> None:
    if writer is False:
        return  # the empty instance set is contained in every schema: nothing to draw
    if writer is True:
        writer = {}  # the same instance set, in a form hypothesis-jsonschema draws from
    check = ExactValidator(reader)
    writer_check = ExactValidator(writer)

    @PROFILE
    @given(from_schema(copy.deepcopy(writer)))  # hypothesis-jsonschema edits schemas in place
    def run(instance: Any) -> None:
        if not writer_check.is_valid(instance):
            return  # the strategy over-approximates some keywords (e.g. dependentRequired)
        assert check.is_valid(instance), instance

    _run(run)


@pytest.fixture(scope="module")
def models() -> dict[str, type[BaseModel] | None]:
    return models_for([s for d in RUNTIME for s in (d[1], d[2])])


@pytest.mark.parametrize(("name", "writer", "reader"), RUNTIME, ids=[d[0] for d in RUNTIME])
def test_runtime_compatible_means_generated_reader_accepts(
    name: str, writer: Any, reader: Any, models: dict[str, type[BaseModel] | None]
) -> None:
    writer_model = models.get(json.dumps(writer, sort_keys=True))
    reader_model = models.get(json.dumps(reader, sort_keys=True))
    if writer_model is None or reader_model is None:
        # Only non-object roots (boolean schemas, bare `not`) have no generated model; an
        # event payload is always an object (lint SCHEMA_NOT_OBJECT), so runtime
        # semantics never meets them. An object schema without a model is a real failure.
        for schema, model in ((writer, writer_model), (reader, reader_model)):
            assert model is not None or not (
                isinstance(schema, dict) and schema.get("type") == "object"
            ), f"the generator could not model the object schema {schema!r}"
        return

    writer_check = ExactValidator(writer)
    write = writer_for(writer_model, json.dumps(writer))

    @PROFILE
    @given(from_schema(copy.deepcopy(writer)))
    def run(instance: Any) -> None:
        if not writer_check.is_valid(instance):
            return
        try:
            emitted = writer_model.model_validate(instance)
        except ValidationError:
            return  # the writer model refuses it, so a generated producer never emits it
        # Exactly what the runtime writes and how the dispatcher reads it: JSON bytes.
        reader_model.model_validate_json(write(emitted))

    _run(run)

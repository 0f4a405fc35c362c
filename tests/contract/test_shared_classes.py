"""Every model that uses a shared shape (schemas/defs/) uses the one class of that shape in
generated/models/defs.py: identity (`is`), not equality. Models, versions and shapes are
discovered from the contracts and the registry, never listed.

Also: the example services pass shared objects through to the events they publish as they
are, without a conversion."""

from __future__ import annotations

import importlib
import json
import pkgutil
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import generated.models
from codegen.build import build_project
from codegen.ir import Project, Version
from generated.models import OrderCreatedV2, PaymentProcessedV1, defs
from generated.registry import REGISTRY

REPO = Path(__file__).resolve().parents[2]


def _project() -> Project:
    project, findings = build_project(REPO)
    assert findings == []
    return project


PROJECT = _project()
USERS = [v for t in PROJECT.types for v in t.versions if v.shared]
IDS = [f"{v.type}@{v.version}" for v in USERS]


def _classes_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [c for arg in typing.get_args(annotation) for c in _classes_in(arg)]


def _reachable(model: type[BaseModel]) -> dict[str, list[type[BaseModel]]]:
    """Every model class reachable from `model` through field types, by class name."""
    seen: dict[type[BaseModel], None] = {}
    todo = [model]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen[cls] = None
        cls.model_rebuild()  # resolve annotations naming classes defined further down
        for field in cls.model_fields.values():
            todo += _classes_in(field.annotation)
    out: dict[str, list[type[BaseModel]]] = {}
    for cls in seen:
        out.setdefault(cls.__name__, []).append(cls)
    return out


def test_there_are_shared_shapes_to_check() -> None:
    assert {"Money", "LineItem"} <= {d.class_name for d in PROJECT.defs}
    assert len(USERS) >= 4


@pytest.mark.parametrize("version", USERS, ids=IDS)
def test_models_use_the_shared_class(version: Version) -> None:
    model = REGISTRY.spec(version.type, version.version).model
    reachable = _reachable(model)
    for _key, class_name in version.shared:
        shared = getattr(defs, class_name)
        found = reachable.get(class_name, [])
        assert found, f"{model.__name__} does not reach {class_name}"
        assert all(cls is shared for cls in found), (class_name, found)
    # Nothing reachable is a second class with the name of a shared shape.
    shared_names = {d.class_name for d in PROJECT.defs}
    for name, classes in reachable.items():
        if name in shared_names:
            assert classes == [getattr(defs, name)], name


@pytest.mark.parametrize("version", USERS, ids=IDS)
def test_direct_fields_are_typed_with_the_shared_class(version: Version) -> None:
    """A property whose schema is a `$ref` to a shared shape (or an array of them) is annotated
    with exactly that class."""
    model = REGISTRY.spec(version.type, version.version).model
    model.model_rebuild()
    shared = dict(version.shared)
    checked = 0
    for name, sub in version.bundled.get("properties", {}).items():
        target = sub.get("items", sub) if sub.get("type") == "array" else sub
        ref = target.get("$ref", "") if isinstance(target, dict) else ""
        key = ref.removeprefix("#/$defs/")
        if not ref.startswith("#/$defs/") or key not in shared:
            continue
        field = next(f for n, f in model.model_fields.items() if (f.alias or n) == name)
        assert _classes_in(field.annotation) == [getattr(defs, shared[key])], name
        checked += 1
    assert checked, f"{model.__name__} uses shared shapes only through other shapes?"


def test_current_shapes_are_exported_and_event_modules_hold_no_copies() -> None:
    current = [d.class_name for d in PROJECT.defs if d.current]
    for name in current:
        assert getattr(generated.models, name) is getattr(defs, name)
        assert name in generated.models.__all__
    for info in pkgutil.iter_modules(generated.models.__path__):
        module = importlib.import_module(f"generated.models.{info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseModel) and attr in current:
                assert value is getattr(defs, attr), f"{info.name}.{attr} is a copy"


def test_payment_passes_the_order_total_through() -> None:
    from services.payment import decide

    payload = json.loads(REGISTRY.spec("order.created", 2).schema_json)["examples"][0]
    order = OrderCreatedV2.model_validate(payload)
    outcome = decide(order)
    assert isinstance(outcome, PaymentProcessedV1)
    assert outcome.amount is order.total  # the same object, not a converted copy

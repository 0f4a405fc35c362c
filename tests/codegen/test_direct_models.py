"""`render.direct` writes exactly what datamodel-code-generator writes, or declines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import write_tree
from codegen.build import build_project
from codegen.cache import Cache
from codegen.render.direct import BASE_MODEL_NAMES, direct_source
from codegen.render.models import Job, _run_generator, model_input
from codegen.render.shared import defs_input, defs_root_title, event_input
from codegen.render.singular import singular_name
from tests.codegen import direct_fuzz

ROOT = Path(__file__).resolve().parents[2]


def test_random_inputs_are_written_as_the_generator_writes_them() -> None:
    result = direct_fuzz.run(400, seed=20261130)
    assert not result.mismatches, result.mismatches[0]
    # the fuzz must reach the written shapes, not only the refusals
    assert result.written >= 50


def _jobs(root: Path) -> dict[str, Job]:
    project, findings = build_project(root, Cache())
    assert not findings
    jobs: dict[str, Job] = {}
    for t in project.types:
        for v in t.versions:
            schema, spec = event_input(v)
            jobs[v.module] = (model_input(schema, v.class_name), spec)
    schema, spec = defs_input(project.defs)
    jobs["defs"] = (model_input(schema, defs_root_title()), spec)
    return jobs


@pytest.mark.parametrize("tree", ["example", "bench"])
def test_plain_record_projects_never_need_the_generator(tree: str, tmp_path: Path) -> None:
    """The example project and the benchmark's tree: every module, the shared shapes'
    included, is written directly, and is the generator's text to the byte."""
    root = ROOT
    if tree == "bench":
        root = tmp_path / "tree"
        write_tree(root, types=3, versions=2)
    jobs = _jobs(root)
    direct = {name: direct_source(*job) for name, job in jobs.items()}
    assert all(text is not None for text in direct.values()), [
        n for n, t in direct.items() if t is None
    ]
    assert direct == _run_generator(jobs)


def test_declined_shapes() -> None:
    def event(props: dict[str, Any], title: str = "RootV1") -> str | None:
        schema = {"type": "object", "properties": props, "title": title}
        return direct_source(schema, None)

    assert event({"a": {"type": "string"}}) is not None
    declined: list[dict[str, Any]] = [
        {"a": {"type": "string", "format": "date-time"}},  # a pydantic type of its own
        {"a": {"type": "string", "default": "x"}},
        {"a": {"type": ["string", "null"]}},
        {"class": {"type": "string"}},  # renamed with an alias
        {"model_dump": {"type": "string"}},
        {"str": {"type": "string"}},
        {"a": {"type": "string", "pattern": 'say "hi"'}},  # quote style is the formatter's
        {"a": {"type": "integer", "multipleOf": 1}},  # dropped by the generator
        {"a": {"type": "array", "items": {"type": "string", "maxLength": 3}}},  # RootModel
        {"a": {"enum": ["x" * 120]}},  # longer than a line
        {"a": {"type": "object", "properties": {}}},  # dict[str, Any]
        {"ab": {"type": "object", "properties": {"x": {"type": "string"}}},
         "b": {"type": "object", "properties": {"ab": {"type": "object",
                                                        "properties": {"y": {"type": "string"}}}}}},
    ]  # fmt: skip
    for props in declined:
        assert event(props) is None, props
    assert event({"a": {"type": "string"}}, title="Field") is None


def test_singular_names_are_the_generators() -> None:
    from datamodel_code_generator.reference import get_singular_name

    for name in ["Lines", "Data", "Status", "Items", "Children", "Addresses", "M", "Field2s"]:
        assert singular_name(name) == get_singular_name(name), name


def test_every_public_base_model_name_is_reserved() -> None:
    from pydantic import BaseModel

    public = {n for n in dir(BaseModel) if not n.startswith(("_", "model_"))}
    assert public <= BASE_MODEL_NAMES


def test_without_inflect_arrays_of_objects_go_to_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codegen.render import singular

    def missing() -> Any:
        raise ImportError("inflect is not installed as Python code")

    singular.singular_name.cache_clear()
    monkeypatch.setattr(singular, "_engine", missing)
    item = {"type": "object", "properties": {"a": {"type": "string"}}}
    props: dict[str, Any] = {"lines": {"type": "array", "items": item}}
    props["name"] = {"type": "string"}
    schema = {"type": "object", "title": "RootV1", "properties": props}
    assert direct_source(schema, None) is None
    del props["lines"]
    assert direct_source(schema, None) is not None
    singular.singular_name.cache_clear()

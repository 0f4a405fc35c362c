"""Draft-07 and 2019-09 documents as input to `codegen compat`.

Fixtures per translated keyword (exact findings, pointers into the files as written,
witnesses checked with the dialect's own validator), the --dialect flag for unmarked
documents, and a differential check of the translation itself: a document and its
2020-12 translation accept the same instances under Draft7Validator/Draft201909Validator
and Draft202012Validator.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft201909Validator, Draft202012Validator

from codegen.cli import main
from codegen.dialects import dialect_of, translate

from .fuzz.instances import candidates
from .fuzz.schemas import Gen

D7 = "http://json-schema.org/draft-07/schema#"
D19 = "https://json-schema.org/draft/2019-09/schema"
VALIDATORS = {D7: Draft7Validator, D19: Draft201909Validator}

Expected = list[tuple[str, str, str, str]]
CASES: list[tuple[str, str, Any, Any, Expected]] = [
    (
        "items_array",
        D7,
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "array", "items": [{"type": "integer"}]},
        [
            ("TYPE_CHANGED", "backward", "/items/0/type", "/items/0/type"),
            ("TYPE_CHANGED", "forward", "/items/0/type", "/items/0/type"),
        ],
    ),
    (
        "additional_items",
        D7,
        {"type": "array", "items": [{"type": "string"}], "additionalItems": False},
        {"type": "array", "items": [{"type": "string"}], "additionalItems": {"type": "integer"}},
        [("ADDITIONAL_ITEMS_ADDED", "forward", "/additionalItems", "/additionalItems")],
    ),
    (
        "additional_items_without_array_items_is_ignored",
        D7,
        {"type": "array", "items": {"type": "string"}},
        {"type": "array", "items": {"type": "string"}, "additionalItems": False},
        [],
    ),
    (
        "additional_items_2019",
        D19,
        {"type": "array", "items": [{"type": "string"}], "additionalItems": False},
        {"type": "array", "items": [{"type": "string"}]},
        [("ADDITIONAL_ITEMS_ADDED", "forward", "/additionalItems", "")],
    ),
    (
        "dependencies_array_form",
        D7,
        {"type": "object", "dependencies": {"a": ["b"]}},
        {"type": "object", "dependencies": {"a": ["b", "c"]}},
        [("DEPENDENCY_ARRAY_EXTENDED", "backward", "/dependencies", "/dependencies")],
    ),
    (
        "dependencies_schema_form",
        D7,
        {"type": "object", "dependencies": {"a": {"required": ["b"]}}},
        {
            "type": "object",
            "dependencies": {"a": {"required": ["b"], "properties": {"b": {"type": "string"}}}},
        },
        [("DEPENDENCY_SCHEMA_CHANGED", "backward", "/dependencies/a", "/dependencies/a")],
    ),
    (
        "definitions",
        D7,
        {
            "definitions": {"n": {"type": "integer"}},
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/n"}},
        },
        {
            "definitions": {"n": {"type": "string"}},
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/n"}},
        },
        [
            ("TYPE_CHANGED", "backward", "/definitions/n/type", "/definitions/n/type"),
            ("TYPE_CHANGED", "forward", "/definitions/n/type", "/definitions/n/type"),
        ],
    ),
    (
        "ref_siblings_are_ignored_in_draft_07",
        D7,
        {
            "definitions": {"n": {"type": "integer"}},
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/n"}},
        },
        {
            "definitions": {"n": {"type": "integer"}},
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/n", "maximum": 3}},
        },
        [],
    ),
    (
        "plain_name_id_is_an_anchor",
        D7,
        {
            "definitions": {"n": {"$id": "#num", "type": "integer"}},
            "type": "object",
            "properties": {"x": {"$ref": "#num"}},
        },
        {
            "definitions": {"n": {"$id": "#num", "type": "integer", "minimum": 0}},
            "type": "object",
            "properties": {"x": {"$ref": "#num"}},
        },
        [("MINIMUM_ADDED", "backward", "/properties/x", "/definitions/n/minimum")],
    ),
    (
        "recursive_ref",
        D19,
        {
            "$recursiveAnchor": True,
            "type": "object",
            "properties": {"c": {"$recursiveRef": "#"}, "v": {"type": "integer"}},
        },
        {
            "$recursiveAnchor": True,
            "type": "object",
            "properties": {"c": {"$recursiveRef": "#"}, "v": {"type": "string"}},
        },
        [
            ("TYPE_CHANGED", "backward", "/properties/v/type", "/properties/v/type"),
            ("TYPE_CHANGED", "forward", "/properties/v/type", "/properties/v/type"),
        ],
    ),
    (
        "keywords_the_dialect_lacks_are_ignored",
        D7,
        {"type": "array"},
        {"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        [],
    ),
    (
        "format_the_dialect_does_not_assert",
        D7,
        {"type": "string"},
        {"type": "string", "format": "uuid"},
        [],
    ),
]


def _compat(tmp: Path, old: Any, new: Any, *extra: str) -> tuple[int, dict[str, Any], str]:
    (tmp / "old.json").write_text(json.dumps(old, indent=2))
    (tmp / "new.json").write_text(json.dumps(new, indent=2))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compat", str(tmp / "old.json"), str(tmp / "new.json"), *extra])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {}), text + err.getvalue()


@pytest.mark.parametrize(
    ("name", "dialect", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_translated_keyword_fixture(
    tmp_path: Path, name: str, dialect: str, old: Any, new: Any, expected: Expected
) -> None:
    old, new = {"$schema": dialect, **old}, {"$schema": dialect, **new}
    code, report, _ = _compat(tmp_path, old, new, "--semantics", "strict", "--format", "json")
    got = [
        (f["rule"], f["direction"], f["old_pointer"], f["new_pointer"]) for f in report["findings"]
    ]
    assert got == sorted(expected)
    assert code == (1 if expected else 0)
    cls = VALIDATORS[dialect]
    for finding in report["findings"]:
        # every finding of these fixtures has a witness, valid in the dialect's own terms
        assert finding["witness"] is not None or finding["rule"] == "ADDITIONAL_ITEMS_ADDED"
        if finding["witness"] is None:
            continue
        writer, reader = (old, new) if finding["direction"] == "backward" else (new, old)
        checker = cls.FORMAT_CHECKER
        assert cls(writer, format_checker=checker).is_valid(finding["witness"]), finding
        assert not cls(reader, format_checker=checker).is_valid(finding["witness"]), finding


def test_array_items_text_output_points_at_the_line_as_written(tmp_path: Path) -> None:
    old = {"$schema": D7, "type": "array", "items": [{"type": "string"}], "additionalItems": False}
    new = {"$schema": D7, "type": "array", "items": [{"type": "integer"}], "additionalItems": False}
    code, _, text = _compat(tmp_path, old, new, "--semantics", "strict")
    assert code == 1
    line = next(
        i
        for i, ln in enumerate((tmp_path / "new.json").read_text().splitlines(), 1)
        if '"integer"' in ln
    )
    assert f"new.json:{line}: " in text and "(TYPE_CHANGED)" in text


def test_dialect_flag_covers_unmarked_documents(tmp_path: Path) -> None:
    old = {"type": "array", "items": [{"type": "string"}], "additionalItems": False}
    new = {"type": "array", "items": [{"type": "string"}]}
    code, _, text = _compat(tmp_path, old, new, "--semantics", "strict")
    assert code == 2 and "(SCHEMA_INVALID)" in text  # 2020-12: items must be a schema
    code, report, _ = _compat(
        tmp_path, old, new, "--semantics", "strict", "--dialect", "draft-07", "--format", "json"
    )
    assert code == 1 and report["backward"] and not report["forward"]


def test_schema_wins_over_the_dialect_flag(tmp_path: Path) -> None:
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "items": [True]}
    code, _, text = _compat(tmp_path, doc, doc, "--dialect", "draft-07")
    assert code == 2 and "(SCHEMA_INVALID)" in text


def test_unknown_dialect_is_a_located_finding(tmp_path: Path) -> None:
    doc = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}
    code, _, text = _compat(tmp_path, doc, doc)
    assert code == 2
    assert "old.json:2: " in text and "(SCHEMA_DIALECT)" in text and "Traceback" not in text


def test_dialect_of() -> None:
    assert dialect_of({"$schema": "http://json-schema.org/draft-07/schema"}) == "draft-07"
    assert dialect_of({"$schema": "https://json-schema.org/draft/2019-09/schema#"}) == "2019-09"
    assert dialect_of({}, "draft-07") == "draft-07"


# --- the translation itself, checked differentially ----------------------------------


def _backport(schema: Any, dialect: str, rng: random.Random) -> Any:
    """A 2020-12 fuzz schema written in an older dialect's syntax (plus noise that the
    older dialect ignores: $ref siblings in Draft-07, keywords it does not have)."""
    if isinstance(schema, list):
        return [_backport(v, dialect, rng) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("enum", "const"):
            out[key] = value
        elif key == "prefixItems":
            out["items"] = _backport(value, dialect, rng)
            if "items" in schema:
                out["additionalItems"] = _backport(schema["items"], dialect, rng)
        elif key == "items" and "prefixItems" in schema:
            continue
        elif key == "$defs" and dialect == "draft-07":
            out["definitions"] = _backport(value, dialect, rng)
        elif key == "$ref" and isinstance(value, str):
            out[key] = (
                value.replace("#/$defs/", "#/definitions/") if dialect == "draft-07" else value
            )
        elif key in ("dependentRequired", "dependentSchemas") and dialect == "draft-07":
            out.setdefault("dependencies", {}).update(_backport(value, dialect, rng))
        elif isinstance(value, dict) and key in (
            "properties",
            "patternProperties",
            "dependentSchemas",
            "$defs",
        ):
            out[key] = {k: _backport(v, dialect, rng) for k, v in value.items()}
        else:
            out[key] = _backport(value, dialect, rng)
    if dialect == "draft-07" and "$ref" in out and rng.random() < 0.5:
        out["minimum"] = 1  # ignored beside $ref in Draft-07
    if rng.random() < 0.1:
        out["minContains" if dialect == "draft-07" else "prefixItems"] = (
            2 if dialect == "draft-07" else [False]
        )
    return out


@pytest.mark.parametrize("dialect", [D7, D19])
def test_translation_accepts_the_same_instances(dialect: str) -> None:
    rng = random.Random(7)
    gen = Gen(random.Random(11))
    cls = VALIDATORS[dialect]
    name = "draft-07" if dialect == D7 else "2019-09"
    compared = 0
    for _ in range(250):
        doc = _backport(gen.document(), name, rng)
        if not isinstance(doc, dict) or any(e for e in cls(cls.META_SCHEMA).iter_errors(doc)):
            continue
        doc = {"$schema": dialect, **doc}
        translated = translate(copy.deepcopy(doc), name).doc
        old = cls(doc, format_checker=cls.FORMAT_CHECKER)
        new = Draft202012Validator(translated, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for instance in candidates(translated, translated, rng, budget=120):
            try:
                expected = old.is_valid(instance)
            except Exception:
                continue  # the original cannot be evaluated (an unresolvable ref)
            assert new.is_valid(instance) == expected, (doc, translated, instance)
            compared += 1
    assert compared > 10_000

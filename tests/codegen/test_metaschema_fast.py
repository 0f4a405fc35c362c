"""The fast metaschema walk (codegen/metaschema_fast.py) never calls a schema valid that
jsonschema's Draft 2020-12 metaschema validator rejects, and it is sure of the contracts
users actually write (otherwise it would save nothing)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from codegen.lint import _meta_validator
from codegen.metaschema_fast import certainly_valid
from tests.compat.fuzz.run import strict_pairs

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = _meta_validator("2020-12")
CONFORMS = VALIDATOR.format_checker.conforms

# Values that break some keyword somewhere: wrong types, negative and fractional counts,
# bad regexes and URIs, empty arrays, duplicates.
HOSTILE: list[Any] = [
    -1,
    1.5,
    1.0,
    0,
    True,
    None,
    "x",
    "",
    "string",
    "^(",
    "[a-",
    "#frag",
    "a#b#c",
    "http://x y",
    "\n",
    "a\n",
    [],
    [1],
    ["a", "a"],
    ["string", "strin"],
    [{"type": 5}],
    {},
    {"a": 1},
    {"a": {"type": "nope"}},
    {"(": {}},
    float("inf"),
    -0.5,
]
KEYWORDS = [
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMinimum", "minLength",
    "maxItems", "minContains", "pattern", "required", "dependentRequired", "properties",
    "patternProperties", "additionalProperties", "items", "prefixItems", "allOf", "anyOf",
    "oneOf", "not", "if", "$defs", "definitions", "dependencies", "$id", "$schema", "$ref",
    "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
    "$vocabulary", "$comment", "title", "format", "deprecated", "uniqueItems", "examples",
    "contentSchema", "unevaluatedProperties", "dependentSchemas", "propertyNames",
]  # fmt: skip


def _valid(doc: Any) -> bool:
    return not any(True for _ in VALIDATOR.iter_errors(doc))


def _objects(doc: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            out.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return out


def _mutants(doc: Any, rng: random.Random, count: int) -> list[Any]:
    out = []
    for _ in range(count):
        mutant = copy.deepcopy(doc)
        targets = _objects(mutant)
        if not targets:
            continue
        target = rng.choice(targets)
        key = rng.choice([*target, *KEYWORDS] if target else KEYWORDS)
        target[key] = copy.deepcopy(rng.choice(HOSTILE))
        out.append(mutant)
    return out


def _contracts() -> list[Any]:
    docs = []
    for base in (ROOT / "schemas", ROOT / "tests" / "golden"):
        for path in sorted(base.rglob("*.json")):
            try:
                docs.append(json.loads(path.read_text("utf-8")))
            except (ValueError, UnicodeDecodeError):
                continue  # the invalid-JSON cases
    return docs


def test_never_sure_of_an_invalid_schema() -> None:
    rng = random.Random(20261130)
    corpus = _contracts()
    for _kind, old, new in strict_pairs(400, 7):
        corpus += [old, new]
    checked = sure = caught = 0
    for doc in corpus:
        for candidate in [doc, *_mutants(doc, rng, 6)]:
            checked += 1
            if certainly_valid(candidate, CONFORMS):
                sure += 1
                assert _valid(candidate), candidate
            elif not _valid(candidate):
                caught += 1
    # Not vacuous: both answers occur often.
    assert sure > checked // 4 and caught > checked // 10, (checked, sure, caught)


def test_sure_of_the_contracts_users_write() -> None:
    valid = [doc for doc in _contracts() if _valid(doc)]
    assert len(valid) > 50
    unsure = [doc for doc in valid if not certainly_valid(doc, CONFORMS)]
    assert unsure == []


def test_unsure_cases_fall_back_to_jsonschema() -> None:
    # a float count is valid for jsonschema (1.0 is an integer there): the walk is not
    # sure, and lint still accepts it through jsonschema
    assert not certainly_valid({"minLength": 1.0}, CONFORMS) and _valid({"minLength": 1.0})
    assert not certainly_valid({"dependencies": {"a": ["b"]}}, CONFORMS)
    deep: Any = {"type": "string"}
    for _ in range(100):
        deep = {"items": deep}
    assert not certainly_valid(deep, CONFORMS)
    assert certainly_valid({"$ref": "#/$defs/a", "$defs": {"a": True}}, CONFORMS)
    assert not certainly_valid({"pattern": "^("}, CONFORMS) and not _valid({"pattern": "^("})

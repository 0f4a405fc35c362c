"""Reader schemas whose generated model the runtime semantics knows how to judge.

Runtime semantics judges the pydantic models datamodel-code-generator writes, not the
schemas. For the common shapes of event contracts (typed properties, enums, arrays of
typed items, nested objects, unions of typed branches, refs) the engine models what the
generated reader accepts. Outside them the generator adds restrictions the schema does
not have (the differential fuzzer found: an ``allOf`` in ``$defs`` becomes a model class
that rejects numbers; constraints beside ``anyOf`` are applied to the whole union;
``pattern`` on an object root; ``propertyNames`` with a combinator makes keys a model
type; a fractional ``multipleOf`` on an integer type is an integer step in one model and
a float check in another). A reader position outside this subset, whose schema is not
the same as the writer's, is reported as "could not be proved" instead of guessed.
"""

from __future__ import annotations

from typing import Any

from .nodes import ANNOTATIONS, KEYWORD_TYPES, REF_KEYWORDS, schema_types

_ALWAYS = frozenset({"type", "enum", "const", "default", "$defs", "definitions"})
# Kept by the models as the engine models them (length keywords cross string/array,
# object keywords make a model class) or not enforced at all (ignored on both sides).
_CROSS_TYPE = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_OBJECT_SHAPE = frozenset({"properties", "required", "additionalProperties", "patternProperties"})
_IGNORED = frozenset(
    {"uniqueItems", "contains", "minContains", "maxContains", "dependentRequired"}
    | {"not", "if", "then", "else"}
)
_APPLIES = {**KEYWORD_TYPES, "format": frozenset({"string"})}
_UNIONS = ("anyOf", "oneOf")
_SIMPLE_NAMES = frozenset({"minLength", "maxLength", "pattern", "format"})


def unmodelled_keyword(schema: Any, depth: int = 0) -> str | None:
    """The first keyword that takes ``schema`` outside the modelled subset, or None."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    keys: list[str] = [str(k) for k in schema if k not in ANNOTATIONS and k != "default"]
    if not keys:
        return None
    refs = [k for k in keys if k in REF_KEYWORDS]
    if refs:
        # a ref beside other keywords is merged by the generator like an allOf member
        others = [k for k in keys if k not in REF_KEYWORDS and k not in ("$defs", "definitions")]
        return others[0] if others else None
    declared = schema_types({"type": schema["type"]}) if "type" in schema else None
    unions = [k for k in keys if k in _UNIONS]
    if unions:
        # constraints beside a union are applied to the union as a whole, and one mangled
        # branch (a misapplied constraint raises inside pydantic) breaks the whole union
        extra = [k for k in keys if k not in _UNIONS and k not in _ALWAYS]
        if extra:
            return extra[0]
        for key in unions:
            branches = schema[key] if isinstance(schema[key], list) else []
            if any(unmodelled_keyword(branch, depth + 1) is not None for branch in branches):
                return key
        return None
    if _union_of_dicts(schema):
        return "patternProperties"
    for key in keys:
        if key in _ALWAYS or key in _OBJECT_SHAPE or key in _IGNORED:
            continue
        if key == "allOf":
            if declared is not None and declared <= {"object"}:
                continue  # merged into one model class: required names handled as fields
            return key
        if key == "propertyNames":
            names = schema["propertyNames"]
            if isinstance(names, dict) and set(names) - ANNOTATIONS <= _SIMPLE_NAMES:
                continue
            return key
        applies = _APPLIES.get(key)
        if applies is None:
            return key  # not, if/then/else, unevaluated*, dependentSchemas, ...
        if declared is None:
            if key == "format":
                continue  # dropped: the model accepts any value
            return key  # an untyped constraint: dropped, or a list/model type, or misapplied
        named = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if key == "multipleOf" and "integer" in named and _fractional(schema[key]):
            return key  # an int field with a fractional step: the generator is inconsistent
        if declared & applies or key in _CROSS_TYPE:
            continue
        return key
    return None


def _union_of_dicts(schema: dict[str, Any]) -> bool:
    """Two or more kept (not `false`) patterns and no properties: the generator writes a
    union of dicts, each keyed by one pattern, so an object mixing names of two patterns
    is rejected (the fuzzer's neighbourhood; the engine reads patterns per name)."""
    patterns = schema.get("patternProperties")
    if not isinstance(patterns, dict) or schema.get("properties"):
        return False
    return sum(1 for value in patterns.values() if value is not False) > 1


def _fractional(step: Any) -> bool:
    return isinstance(step, (int, float)) and not isinstance(step, bool) and step % 1 != 0

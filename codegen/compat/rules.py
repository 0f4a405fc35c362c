"""The rule table: stable ids, one-sentence purposes, the direction(s) each can break.

Rule ids name the change from the OLD to the NEW schema (Confluent's JSON Schema
``Difference.Type`` names where one exists), so the same check yields e.g.
``MAX_LENGTH_DECREASED`` when it fails backward and ``MAX_LENGTH_INCREASED`` forward.
Numeric bound keywords are data (``BOUNDS``), not one function each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import Direction, Rule

BW: tuple[Direction, ...] = ("backward",)
FW: tuple[Direction, ...] = ("forward",)
BOTH: tuple[Direction, ...] = ("backward", "forward")


@dataclass(frozen=True)
class Bound:
    """A numeric keyword that bounds a size or a value from above or below."""

    keyword: str
    kind: Literal["upper", "lower"]
    stem: str
    subject: str  # what the bound limits, for messages and purposes
    exclusive: bool = False


BOUNDS: tuple[Bound, ...] = (
    Bound("maxLength", "upper", "MAX_LENGTH", "string length"),
    Bound("minLength", "lower", "MIN_LENGTH", "string length"),
    Bound("maximum", "upper", "MAXIMUM", "number"),
    Bound("minimum", "lower", "MINIMUM", "number"),
    Bound("exclusiveMaximum", "upper", "EXCLUSIVE_MAXIMUM", "number", exclusive=True),
    Bound("exclusiveMinimum", "lower", "EXCLUSIVE_MINIMUM", "number", exclusive=True),
    Bound("maxItems", "upper", "MAX_ITEMS", "array length"),
    Bound("minItems", "lower", "MIN_ITEMS", "array length"),
    Bound("maxProperties", "upper", "MAX_PROPERTIES", "number of object properties"),
    Bound("minProperties", "lower", "MIN_PROPERTIES", "number of object properties"),
    Bound("maxContains", "upper", "MAX_CONTAINS", "number of matching array items"),
    Bound("minContains", "lower", "MIN_CONTAINS", "number of matching array items"),
)
BOUND_BY_KEYWORD = {b.keyword: b for b in BOUNDS}


def bound_rule(bound: Bound, *, writer_has: bool, backward: bool) -> str:
    """Rule id for a reader bound the writer does not satisfy, in old->new terms."""
    if backward:  # reader is the new schema: it added or tightened the bound
        if not writer_has:
            return bound.stem + "_ADDED"
        return bound.stem + ("_DECREASED" if bound.kind == "upper" else "_INCREASED")
    if not writer_has:  # reader is the old schema: the new one dropped or loosened it
        return bound.stem + "_REMOVED"
    return bound.stem + ("_INCREASED" if bound.kind == "upper" else "_DECREASED")


def _bound_rules() -> list[Rule]:
    rules = []
    for b in BOUNDS:
        tighter = "DECREASED" if b.kind == "upper" else "INCREASED"
        looser = "INCREASED" if b.kind == "upper" else "DECREASED"
        side = "maximum" if b.kind == "upper" else "minimum"
        rules += [
            Rule(f"{b.stem}_ADDED", f"The new schema adds a {side} {b.subject} ({b.keyword}).", BW),
            Rule(
                f"{b.stem}_{tighter}",
                f"The new schema tightens the {side} {b.subject} ({b.keyword}).",
                BW,
            ),
            Rule(
                f"{b.stem}_REMOVED",
                f"The new schema drops the {side} {b.subject} ({b.keyword}).",
                FW,
            ),
            Rule(
                f"{b.stem}_{looser}",
                f"The new schema loosens the {side} {b.subject} ({b.keyword}).",
                FW,
            ),
        ]
    return rules


_OTHER_RULES = (
    Rule("TYPE_NARROWED", "The new schema accepts fewer JSON types than the old one.", BW),
    Rule("TYPE_EXTENDED", "The new schema accepts more JSON types than the old one.", FW),
    Rule("TYPE_CHANGED", "The new schema accepts different JSON types than the old one.", BOTH),
    Rule("ENUM_ARRAY_NARROWED", "The new schema allows fewer values (enum/const).", BW),
    Rule("ENUM_ARRAY_EXTENDED", "The new schema allows more values (enum/const).", FW),
    Rule("ENUM_ARRAY_CHANGED", "The new schema allows a different set of values.", BOTH),
    Rule("PATTERN_ADDED", "The new schema adds a pattern to a string.", BW),
    Rule("PATTERN_REMOVED", "The new schema drops the pattern of a string.", FW),
    Rule(
        "PATTERN_CHANGED",
        "The pattern changed and regex containment cannot be proved either way.",
        BOTH,
    ),
    Rule("FORMAT_ADDED", "The new schema adds a format, which validators may assert.", BW),
    Rule("FORMAT_REMOVED", "The new schema drops a format the old readers may assert.", FW),
    Rule("FORMAT_CHANGED", "The format of a string changed.", BOTH),
    Rule("MULTIPLE_OF_ADDED", "The new schema adds a multipleOf constraint.", BW),
    Rule("MULTIPLE_OF_REMOVED", "The new schema drops a multipleOf constraint.", FW),
    Rule("MULTIPLE_OF_EXPANDED", "The new multipleOf is a multiple of the old one.", BW),
    Rule("MULTIPLE_OF_REDUCED", "The new multipleOf divides the old one.", FW),
    Rule("MULTIPLE_OF_CHANGED", "The new and old multipleOf do not divide each other.", BOTH),
    Rule("UNIQUE_ITEMS_ADDED", "The new schema requires array items to be unique.", BW),
    Rule("UNIQUE_ITEMS_REMOVED", "The new schema no longer requires unique items.", FW),
    Rule("REQUIRED_ATTRIBUTE_ADDED", "The new schema requires a property that was optional.", BW),
    Rule("REQUIRED_ATTRIBUTE_REMOVED", "A required property is no longer required.", FW),
    Rule(
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        "A property was declared in an open object, where old writers could send any value.",
        BW,
    ),
    Rule(
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "A declared property was removed from an open object, so any value may now appear.",
        FW,
    ),
    Rule(
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "A property was removed from a closed object (additionalProperties false).",
        BW,
    ),
    Rule(
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "An optional property was added to an object the old schema closed.",
        FW,
    ),
    Rule(
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "A required property was added to an object the old schema closed.",
        FW,
    ),
    Rule(
        "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "A removed property is not covered by the new additionalProperties/patternProperties.",
        BW,
    ),
    Rule(
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "An added property is not covered by the old additionalProperties/patternProperties.",
        FW,
    ),
    Rule("ADDITIONAL_PROPERTIES_REMOVED", "The new schema closes an open object.", BW),
    Rule("ADDITIONAL_PROPERTIES_ADDED", "The new schema opens an object the old one closed.", FW),
    Rule("ADDITIONAL_PROPERTIES_NARROWED", "The new additionalProperties accepts less.", BW),
    Rule("ADDITIONAL_PROPERTIES_EXTENDED", "The new additionalProperties accepts more.", FW),
    Rule("PATTERN_PROPERTIES_NARROWED", "Properties matching a pattern accept less.", BW),
    Rule("PATTERN_PROPERTIES_EXTENDED", "Properties matching a pattern accept more.", FW),
    Rule("PROPERTY_NAMES_NARROWED", "The new propertyNames accepts fewer names.", BW),
    Rule("PROPERTY_NAMES_EXTENDED", "The new propertyNames accepts more names.", FW),
    Rule("DEPENDENCY_ARRAY_ADDED", "The new schema adds a dependentRequired entry.", BW),
    Rule("DEPENDENCY_ARRAY_EXTENDED", "A dependentRequired entry requires more properties.", BW),
    Rule("DEPENDENCY_ARRAY_REMOVED", "The new schema drops a dependentRequired entry.", FW),
    Rule("DEPENDENCY_ARRAY_NARROWED", "A dependentRequired entry requires fewer properties.", FW),
    Rule("DEPENDENCY_SCHEMA_ADDED", "The new schema adds a dependentSchemas entry.", BW),
    Rule("DEPENDENCY_SCHEMA_REMOVED", "The new schema drops a dependentSchemas entry.", FW),
    Rule("DEPENDENCY_SCHEMA_CHANGED", "A dependentSchemas entry changed.", BOTH),
    Rule(
        "UNEVALUATED_PROPERTIES_CHANGED",
        "unevaluatedProperties changed in a way containment cannot be proved for.",
        BOTH,
    ),
    Rule(
        "UNEVALUATED_ITEMS_CHANGED",
        "unevaluatedItems changed in a way containment cannot be proved for.",
        BOTH,
    ),
    Rule("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "A tuple position was constrained.", BW),
    Rule("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", "A tuple position lost its schema.", FW),
    Rule("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "A closed tuple lost a position.", BW),
    Rule("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "A closed tuple gained a position.", FW),
    Rule("ADDITIONAL_ITEMS_REMOVED", "The new schema forbids items the old allowed.", BW),
    Rule("ADDITIONAL_ITEMS_ADDED", "The new schema allows items the old forbade.", FW),
    Rule("ADDITIONAL_ITEMS_NARROWED", "Array items accept less than before.", BW),
    Rule("ADDITIONAL_ITEMS_EXTENDED", "Array items accept more than before.", FW),
    Rule("CONTAINS_NARROWED", "The new schema's contains is not guaranteed by the old.", BW),
    Rule("CONTAINS_EXTENDED", "The old schema's contains is not guaranteed by the new.", FW),
    Rule("SUM_TYPE_NARROWED", "An anyOf/oneOf alternative of the old schema is not accepted.", BW),
    Rule("SUM_TYPE_EXTENDED", "The new schema has an alternative the old one rejects.", FW),
    Rule(
        "ONE_OF_NOT_PROVABLY_EXCLUSIVE",
        "oneOf branches may overlap, so exactly-one matching cannot be proved.",
        BOTH,
    ),
    Rule("NOT_TYPE_EXTENDED", "The new schema forbids (not) instances the old allowed.", BW),
    Rule("NOT_TYPE_NARROWED", "The old schema forbade (not) instances the new allows.", FW),
    Rule(
        "CONDITIONAL_CHANGED",
        "An if/then/else changed and containment cannot be proved.",
        BOTH,
    ),
    Rule("SCHEMA_FALSE", "The reading schema is false and accepts nothing.", BOTH),
    Rule(
        "UNSUPPORTED_KEYWORD",
        "The reading schema (at runtime: its generated model) is outside what the engine "
        "can reason about.",
        BOTH,
    ),
    Rule("UNRESOLVABLE_REF", "A $ref could not be resolved inside the document.", BOTH),
)

RULES: tuple[Rule, ...] = tuple(sorted([*_bound_rules(), *_OTHER_RULES], key=lambda r: r.id))
RULE_IDS = frozenset(r.id for r in RULES)


def pair(base_bw: str, base_fw: str, *, backward: bool) -> str:
    """Pick the backward- or forward-named rule id of a check."""
    return base_bw if backward else base_fw

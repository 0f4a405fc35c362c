"""The rule table: every finding the engine can report is one of these objects.

A rule is one row, like buf's RuleSpec: a stable id (never renamed), a one-sentence
purpose, the direction(s) it can break and its handler (the check function that reports
it). Emitters reference the objects (``rules.TYPE_NARROWED``), never an id string, so a
grep for an id finds its row and every place that reports it.
``tests/compat/test_rule_table.py`` proves that every row is reported by a fixture and
that every handler really reports its rules.

Rule ids name the change from the OLD to the NEW schema (Confluent's JSON Schema
``Difference.Type`` names where one exists), so the same check reports e.g.
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


# --- types and values ---------------------------------------------------------------
TYPE_NARROWED = Rule(
    "TYPE_NARROWED",
    "The new schema accepts fewer JSON types than the old one.",
    BW,
    "scalars.report_types",
)
TYPE_EXTENDED = Rule(
    "TYPE_EXTENDED",
    "The new schema accepts more JSON types than the old one.",
    FW,
    "scalars.report_types",
)
TYPE_CHANGED = Rule(
    "TYPE_CHANGED",
    "The new schema accepts different JSON types than the old one.",
    BOTH,
    "scalars.report_types",
)
ENUM_ARRAY_NARROWED = Rule(
    "ENUM_ARRAY_NARROWED",
    "The new schema allows fewer values (enum/const).",
    BW,
    "scalars.report_enum_added",
)
ENUM_ARRAY_EXTENDED = Rule(
    "ENUM_ARRAY_EXTENDED",
    "The new schema allows more values (enum/const).",
    FW,
    "scalars.report_enum_added",
)
ENUM_ARRAY_CHANGED = Rule(
    "ENUM_ARRAY_CHANGED",
    "The new schema allows a different set of values.",
    BOTH,
    "scalars.report_value",
)

# --- strings ------------------------------------------------------------------------
PATTERN_ADDED = Rule(
    "PATTERN_ADDED", "The new schema adds a pattern to a string.", BW, "scalars.check_pattern"
)
PATTERN_REMOVED = Rule(
    "PATTERN_REMOVED", "The new schema drops the pattern of a string.", FW, "scalars.check_pattern"
)
PATTERN_CHANGED = Rule(
    "PATTERN_CHANGED",
    "The pattern changed and regex containment cannot be proved either way.",
    BOTH,
    "scalars.check_pattern",
)
FORMAT_ADDED = Rule(
    "FORMAT_ADDED",
    "The new schema adds a format, which validators may assert.",
    BW,
    "scalars.check_format",
)
FORMAT_REMOVED = Rule(
    "FORMAT_REMOVED",
    "The new schema drops a format the old readers may assert.",
    FW,
    "scalars.check_format",
)
FORMAT_CHANGED = Rule(
    "FORMAT_CHANGED", "The format of a string changed.", BOTH, "scalars.check_format"
)

# --- numbers ------------------------------------------------------------------------
MULTIPLE_OF_ADDED = Rule(
    "MULTIPLE_OF_ADDED",
    "The new schema adds a multipleOf constraint.",
    BW,
    "scalars.check_multiple_of",
)
MULTIPLE_OF_REMOVED = Rule(
    "MULTIPLE_OF_REMOVED",
    "The new schema drops a multipleOf constraint.",
    FW,
    "scalars.check_multiple_of",
)
MULTIPLE_OF_EXPANDED = Rule(
    "MULTIPLE_OF_EXPANDED",
    "The new multipleOf is a multiple of the old one.",
    BW,
    "scalars.check_multiple_of",
)
MULTIPLE_OF_REDUCED = Rule(
    "MULTIPLE_OF_REDUCED",
    "The new multipleOf divides the old one.",
    FW,
    "scalars.check_multiple_of",
)
MULTIPLE_OF_CHANGED = Rule(
    "MULTIPLE_OF_CHANGED",
    "The new and old multipleOf do not divide each other.",
    BOTH,
    "scalars.check_multiple_of",
)

# --- arrays -------------------------------------------------------------------------
UNIQUE_ITEMS_ADDED = Rule(
    "UNIQUE_ITEMS_ADDED",
    "The new schema requires array items to be unique.",
    BW,
    "arrays.check_unique_items",
)
UNIQUE_ITEMS_REMOVED = Rule(
    "UNIQUE_ITEMS_REMOVED",
    "The new schema no longer requires unique items.",
    FW,
    "arrays.check_unique_items",
)
ITEM_ADDED_TO_OPEN_CONTENT_MODEL = Rule(
    "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
    "A tuple position was constrained.",
    BW,
    "arrays.check_items",
)
ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL = Rule(
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "A tuple position lost its schema.",
    FW,
    "arrays.check_items",
)
ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL = Rule(
    "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "A closed tuple lost a position.",
    BW,
    "arrays.check_items",
)
ITEM_ADDED_TO_CLOSED_CONTENT_MODEL = Rule(
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "A closed tuple gained a position.",
    FW,
    "arrays.check_items",
)
ADDITIONAL_ITEMS_REMOVED = Rule(
    "ADDITIONAL_ITEMS_REMOVED",
    "The new schema forbids items the old allowed.",
    BW,
    "arrays.check_items",
)
ADDITIONAL_ITEMS_ADDED = Rule(
    "ADDITIONAL_ITEMS_ADDED",
    "The new schema allows items the old forbade.",
    FW,
    "arrays.check_items",
)
ADDITIONAL_ITEMS_NARROWED = Rule(
    "ADDITIONAL_ITEMS_NARROWED", "Array items accept less than before.", BW, "arrays.check_items"
)
ADDITIONAL_ITEMS_EXTENDED = Rule(
    "ADDITIONAL_ITEMS_EXTENDED", "Array items accept more than before.", FW, "arrays.check_items"
)
CONTAINS_NARROWED = Rule(
    "CONTAINS_NARROWED",
    "The new schema's contains is not guaranteed by the old.",
    BW,
    "arrays.check_min_contains",
)
CONTAINS_EXTENDED = Rule(
    "CONTAINS_EXTENDED",
    "The old schema's contains is not guaranteed by the new.",
    FW,
    "arrays.check_min_contains",
)
UNEVALUATED_ITEMS_CHANGED = Rule(
    "UNEVALUATED_ITEMS_CHANGED",
    "unevaluatedItems changed in a way containment cannot be proved for.",
    BOTH,
    "arrays.check_unevaluated_items",
)

# --- objects: required and declared properties ----------------------------------------
REQUIRED_ATTRIBUTE_ADDED = Rule(
    "REQUIRED_ATTRIBUTE_ADDED",
    "The new schema requires a property that was optional.",
    BW,
    "objects.check_required",
)
REQUIRED_ATTRIBUTE_REMOVED = Rule(
    "REQUIRED_ATTRIBUTE_REMOVED",
    "A required property is no longer required.",
    FW,
    "objects.check_required",
)
PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL = Rule(
    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "A property was declared in an open object, where old writers could send any value.",
    BW,
    "objects.check_open_property",
)
PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL = Rule(
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "A declared property was removed from an open object, so any value may now appear.",
    FW,
    "objects.check_open_property",
)
PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL = Rule(
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "A property was removed from a closed object (additionalProperties false).",
    BW,
    "objects.report_closed_property",
)
OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL = Rule(
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "An optional property was added to an object the old schema closed.",
    FW,
    "objects.report_closed_property",
)
REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL = Rule(
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "A required property was added to an object the old schema closed.",
    FW,
    "objects.report_closed_property",
)
PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL = Rule(
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "A removed property is not covered by the new additionalProperties/patternProperties.",
    BW,
    "objects.check_open_property",
)
PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL = Rule(
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "An added property is not covered by the old additionalProperties/patternProperties.",
    FW,
    "objects.check_open_property",
)
UNEVALUATED_PROPERTIES_CHANGED = Rule(
    "UNEVALUATED_PROPERTIES_CHANGED",
    "unevaluatedProperties changed in a way containment cannot be proved for.",
    BOTH,
    "objects.check_unevaluated_properties",
)

# --- objects: undeclared names ------------------------------------------------------
ADDITIONAL_PROPERTIES_REMOVED = Rule(
    "ADDITIONAL_PROPERTIES_REMOVED",
    "The new schema closes an open object.",
    BW,
    "object_keys.check_additional",
)
ADDITIONAL_PROPERTIES_ADDED = Rule(
    "ADDITIONAL_PROPERTIES_ADDED",
    "The new schema opens an object the old one closed.",
    FW,
    "object_keys.check_additional",
)
ADDITIONAL_PROPERTIES_NARROWED = Rule(
    "ADDITIONAL_PROPERTIES_NARROWED",
    "The new additionalProperties accepts less.",
    BW,
    "object_keys.check_additional",
)
ADDITIONAL_PROPERTIES_EXTENDED = Rule(
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "The new additionalProperties accepts more.",
    FW,
    "object_keys.check_additional",
)
PATTERN_PROPERTIES_NARROWED = Rule(
    "PATTERN_PROPERTIES_NARROWED",
    "Properties matching a pattern accept less.",
    BW,
    "object_keys.check_patterns",
)
PATTERN_PROPERTIES_EXTENDED = Rule(
    "PATTERN_PROPERTIES_EXTENDED",
    "Properties matching a pattern accept more.",
    FW,
    "object_keys.check_patterns",
)
PROPERTY_NAMES_NARROWED = Rule(
    "PROPERTY_NAMES_NARROWED",
    "The new propertyNames accepts fewer names.",
    BW,
    "object_keys.check_property_names",
)
PROPERTY_NAMES_EXTENDED = Rule(
    "PROPERTY_NAMES_EXTENDED",
    "The new propertyNames accepts more names.",
    FW,
    "object_keys.check_property_names",
)

# --- objects: dependencies ----------------------------------------------------------
DEPENDENCY_ARRAY_ADDED = Rule(
    "DEPENDENCY_ARRAY_ADDED",
    "The new schema adds a dependentRequired entry.",
    BW,
    "object_counts.check_dependent_required",
)
DEPENDENCY_ARRAY_EXTENDED = Rule(
    "DEPENDENCY_ARRAY_EXTENDED",
    "A dependentRequired entry requires more properties.",
    BW,
    "object_counts.check_dependent_required",
)
DEPENDENCY_ARRAY_REMOVED = Rule(
    "DEPENDENCY_ARRAY_REMOVED",
    "The new schema drops a dependentRequired entry.",
    FW,
    "object_counts.check_dependent_required",
)
DEPENDENCY_ARRAY_NARROWED = Rule(
    "DEPENDENCY_ARRAY_NARROWED",
    "A dependentRequired entry requires fewer properties.",
    FW,
    "object_counts.check_dependent_required",
)
DEPENDENCY_SCHEMA_ADDED = Rule(
    "DEPENDENCY_SCHEMA_ADDED",
    "The new schema adds a dependentSchemas entry.",
    BW,
    "object_counts.check_dependent_schemas",
)
DEPENDENCY_SCHEMA_REMOVED = Rule(
    "DEPENDENCY_SCHEMA_REMOVED",
    "The new schema drops a dependentSchemas entry.",
    FW,
    "object_counts.check_dependent_schemas",
)
DEPENDENCY_SCHEMA_CHANGED = Rule(
    "DEPENDENCY_SCHEMA_CHANGED",
    "A dependentSchemas entry changed.",
    BOTH,
    "object_counts.check_dependent_schemas",
)

# --- combinators --------------------------------------------------------------------
SUM_TYPE_NARROWED = Rule(
    "SUM_TYPE_NARROWED",
    "An anyOf/oneOf alternative of the old schema is not accepted.",
    BW,
    "combinators.report_no_branch",
)
SUM_TYPE_EXTENDED = Rule(
    "SUM_TYPE_EXTENDED",
    "The new schema has an alternative the old one rejects.",
    FW,
    "combinators.report_no_branch",
)
ONE_OF_NOT_PROVABLY_EXCLUSIVE = Rule(
    "ONE_OF_NOT_PROVABLY_EXCLUSIVE",
    "oneOf branches may overlap, so exactly-one matching cannot be proved.",
    BOTH,
    "combinators.one_of",
)
NOT_TYPE_EXTENDED = Rule(
    "NOT_TYPE_EXTENDED",
    "The new schema forbids (not) instances the old allowed.",
    BW,
    "combinators.negation",
)
NOT_TYPE_NARROWED = Rule(
    "NOT_TYPE_NARROWED",
    "The old schema forbade (not) instances the new allows.",
    FW,
    "combinators.negation",
)
CONDITIONAL_CHANGED = Rule(
    "CONDITIONAL_CHANGED",
    "An if/then/else changed and containment cannot be proved.",
    BOTH,
    "combinators.conditional",
)

# --- whole schemas ------------------------------------------------------------------
SCHEMA_FALSE = Rule(
    "SCHEMA_FALSE",
    "The reading schema is false and accepts nothing.",
    BOTH,
    "walker.Walker._check_pair",
)
UNSUPPORTED_KEYWORD = Rule(
    "UNSUPPORTED_KEYWORD",
    "The reading schema (at runtime: its generated model) is outside what the engine "
    "can reason about.",
    BOTH,
    "walker.Walker._check_pair",
)
UNRESOLVABLE_REF = Rule(
    "UNRESOLVABLE_REF",
    "A $ref could not be resolved inside the document.",
    BOTH,
    "walker.Walker.check_refs",
)


# --- numeric bounds, as data (karapace's shape) ----------------------------------------
@dataclass(frozen=True)
class Bound:
    """A numeric keyword that bounds a size or a value from above or below, with the four
    rules a change of it can break: added and tightened (backward), removed and loosened
    (forward)."""

    keyword: str
    kind: Literal["upper", "lower"]
    subject: str  # what the bound limits, for messages and purposes
    added: Rule
    tightened: Rule
    removed: Rule
    loosened: Rule
    exclusive: bool = False

    @property
    def side(self) -> str:
        return "maximum" if self.kind == "upper" else "minimum"

    def rule(self, *, writer_has: bool, backward: bool) -> Rule:
        """The rule for a reader bound the writer does not satisfy, in old->new terms."""
        if backward:  # the reader is the new schema: it added or tightened the bound
            return self.tightened if writer_has else self.added
        # the reader is the old schema: the new one dropped or loosened it
        return self.loosened if writer_has else self.removed


def _bound(
    keyword: str,
    kind: Literal["upper", "lower"],
    subject: str,
    ids: tuple[str, str, str, str],
    handler: str,
    *,
    exclusive: bool = False,
) -> Bound:
    """``ids``: added, tightened, removed, loosened."""
    side = "maximum" if kind == "upper" else "minimum"
    added, tightened, removed, loosened = ids
    return Bound(
        keyword,
        kind,
        subject,
        Rule(added, f"The new schema adds a {side} {subject} ({keyword}).", BW, handler),
        Rule(tightened, f"The new schema tightens the {side} {subject} ({keyword}).", BW, handler),
        Rule(removed, f"The new schema drops the {side} {subject} ({keyword}).", FW, handler),
        Rule(loosened, f"The new schema loosens the {side} {subject} ({keyword}).", FW, handler),
        exclusive,
    )


_SIZES = "scalars.check_bounds"
_NUMBERS = "scalars.check_range"
_CONTAINS = "arrays.check_min_contains"
BOUNDS: tuple[Bound, ...] = (
    _bound(
        "maxLength",
        "upper",
        "string length",
        ("MAX_LENGTH_ADDED", "MAX_LENGTH_DECREASED", "MAX_LENGTH_REMOVED", "MAX_LENGTH_INCREASED"),
        _SIZES,
    ),
    _bound(
        "minLength",
        "lower",
        "string length",
        ("MIN_LENGTH_ADDED", "MIN_LENGTH_INCREASED", "MIN_LENGTH_REMOVED", "MIN_LENGTH_DECREASED"),
        _SIZES,
    ),
    _bound(
        "maximum",
        "upper",
        "number",
        ("MAXIMUM_ADDED", "MAXIMUM_DECREASED", "MAXIMUM_REMOVED", "MAXIMUM_INCREASED"),
        _NUMBERS,
    ),
    _bound(
        "minimum",
        "lower",
        "number",
        ("MINIMUM_ADDED", "MINIMUM_INCREASED", "MINIMUM_REMOVED", "MINIMUM_DECREASED"),
        _NUMBERS,
    ),
    _bound(
        "exclusiveMaximum",
        "upper",
        "number",
        (
            "EXCLUSIVE_MAXIMUM_ADDED",
            "EXCLUSIVE_MAXIMUM_DECREASED",
            "EXCLUSIVE_MAXIMUM_REMOVED",
            "EXCLUSIVE_MAXIMUM_INCREASED",
        ),
        _NUMBERS,
        exclusive=True,
    ),
    _bound(
        "exclusiveMinimum",
        "lower",
        "number",
        (
            "EXCLUSIVE_MINIMUM_ADDED",
            "EXCLUSIVE_MINIMUM_INCREASED",
            "EXCLUSIVE_MINIMUM_REMOVED",
            "EXCLUSIVE_MINIMUM_DECREASED",
        ),
        _NUMBERS,
        exclusive=True,
    ),
    _bound(
        "maxItems",
        "upper",
        "array length",
        ("MAX_ITEMS_ADDED", "MAX_ITEMS_DECREASED", "MAX_ITEMS_REMOVED", "MAX_ITEMS_INCREASED"),
        _SIZES,
    ),
    _bound(
        "minItems",
        "lower",
        "array length",
        ("MIN_ITEMS_ADDED", "MIN_ITEMS_INCREASED", "MIN_ITEMS_REMOVED", "MIN_ITEMS_DECREASED"),
        _SIZES,
    ),
    _bound(
        "maxProperties",
        "upper",
        "number of object properties",
        (
            "MAX_PROPERTIES_ADDED",
            "MAX_PROPERTIES_DECREASED",
            "MAX_PROPERTIES_REMOVED",
            "MAX_PROPERTIES_INCREASED",
        ),
        _SIZES,
    ),
    _bound(
        "minProperties",
        "lower",
        "number of object properties",
        (
            "MIN_PROPERTIES_ADDED",
            "MIN_PROPERTIES_INCREASED",
            "MIN_PROPERTIES_REMOVED",
            "MIN_PROPERTIES_DECREASED",
        ),
        _SIZES,
    ),
    _bound(
        "maxContains",
        "upper",
        "number of matching array items",
        (
            "MAX_CONTAINS_ADDED",
            "MAX_CONTAINS_DECREASED",
            "MAX_CONTAINS_REMOVED",
            "MAX_CONTAINS_INCREASED",
        ),
        "arrays.check_max_contains",
    ),
    _bound(
        "minContains",
        "lower",
        "number of matching array items",
        (
            "MIN_CONTAINS_ADDED",
            "MIN_CONTAINS_INCREASED",
            "MIN_CONTAINS_REMOVED",
            "MIN_CONTAINS_DECREASED",
        ),
        _CONTAINS,
    ),
)
BOUND_BY_KEYWORD = {b.keyword: b for b in BOUNDS}

# Keywords whose change the finite-value check names by the keyword's own rules: (added,
# removed, changed) — a writer without the keyword gets added/removed, one with it changed.
KEYWORD_RULES: dict[str, tuple[Rule, Rule, Rule]] = {
    "pattern": (PATTERN_ADDED, PATTERN_REMOVED, PATTERN_CHANGED),
    "format": (FORMAT_ADDED, FORMAT_REMOVED, FORMAT_CHANGED),
    "multipleOf": (MULTIPLE_OF_ADDED, MULTIPLE_OF_REMOVED, MULTIPLE_OF_CHANGED),
}


def _table() -> tuple[Rule, ...]:
    rows = [value for value in globals().values() if isinstance(value, Rule)]
    for b in BOUNDS:
        rows += [b.added, b.tightened, b.removed, b.loosened]
    return tuple(sorted(rows, key=lambda r: r.id))


RULES: tuple[Rule, ...] = _table()
RULE_IDS = frozenset(r.id for r in RULES)

"""Rule fixtures: (name, old, new, semantics) -> the exact findings expected.

Each expected finding is (rule id, direction, old pointer, new pointer).
"""

from __future__ import annotations

from typing import Any

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741


def obj(props: dict[str, Any], required: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out.update(kw)
    return out


def closed(props: dict[str, Any], required: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    return obj(props, required, additionalProperties=False, **kw)


Expected = list[tuple[str, str, str, str]]

RULE_CASES: list[tuple[str, Any, Any, str, Expected]] = [
    (
        "type_narrowed",
        {"type": ["string", "integer"]},
        S,
        "strict",
        [("TYPE_NARROWED", "backward", "/type", "/type")],
    ),
    (
        "type_extended",
        I,
        {"type": "number"},
        "strict",
        [("TYPE_EXTENDED", "forward", "/type", "/type")],
    ),
    (
        "type_changed",
        S,
        I,
        "strict",
        [
            ("TYPE_CHANGED", "backward", "/type", "/type"),
            ("TYPE_CHANGED", "forward", "/type", "/type"),
        ],
    ),
    (
        "enum_narrowed",
        {"enum": ["a", "b"]},
        {"enum": ["a"]},
        "strict",
        [("ENUM_ARRAY_NARROWED", "backward", "/enum", "/enum")],
    ),
    (
        "enum_extended",
        {"enum": ["a"]},
        {"enum": ["a", "b"]},
        "strict",
        [("ENUM_ARRAY_EXTENDED", "forward", "/enum", "/enum")],
    ),
    (
        "enum_changed",
        {"enum": ["a", "b"]},
        {"enum": ["a", "c"]},
        "strict",
        [
            ("ENUM_ARRAY_CHANGED", "backward", "/enum", "/enum"),
            ("ENUM_ARRAY_CHANGED", "forward", "/enum", "/enum"),
        ],
    ),
    (
        "const_added",
        S,
        {"type": "string", "const": "a"},
        "strict",
        [("ENUM_ARRAY_NARROWED", "backward", "", "/const")],
    ),
    (
        "max_length",
        {"type": "string", "maxLength": 5},
        {"type": "string", "maxLength": 3},
        "strict",
        [("MAX_LENGTH_DECREASED", "backward", "/maxLength", "/maxLength")],
    ),
    (
        "max_length_removed",
        {"type": "string", "maxLength": 5},
        S,
        "strict",
        [("MAX_LENGTH_REMOVED", "forward", "/maxLength", "")],
    ),
    (
        "min_length_added",
        S,
        {"type": "string", "minLength": 2},
        "strict",
        [("MIN_LENGTH_ADDED", "backward", "", "/minLength")],
    ),
    (
        "min_length_decreased",
        {"type": "string", "minLength": 2},
        {"type": "string", "minLength": 1},
        "strict",
        [("MIN_LENGTH_DECREASED", "forward", "/minLength", "/minLength")],
    ),
    (
        "pattern_added",
        S,
        {"type": "string", "pattern": "^a"},
        "strict",
        [("PATTERN_ADDED", "backward", "", "/pattern")],
    ),
    (
        "pattern_changed",
        {"type": "string", "pattern": "^a"},
        {"type": "string", "pattern": "^[ab]"},
        "strict",
        [
            ("PATTERN_CHANGED", "backward", "/pattern", "/pattern"),
            ("PATTERN_CHANGED", "forward", "/pattern", "/pattern"),
        ],
    ),
    (
        "format_added",
        S,
        {"type": "string", "format": "date"},
        "strict",
        [("FORMAT_ADDED", "backward", "", "/format")],
    ),
    (
        "format_changed",
        {"type": "string", "format": "date"},
        {"type": "string", "format": "uuid"},
        "strict",
        [
            ("FORMAT_CHANGED", "backward", "/format", "/format"),
            ("FORMAT_CHANGED", "forward", "/format", "/format"),
        ],
    ),
    (
        "minimum_increased",
        {"type": "integer", "minimum": 0},
        {"type": "integer", "minimum": 1},
        "strict",
        [("MINIMUM_INCREASED", "backward", "/minimum", "/minimum")],
    ),
    (
        "maximum_added",
        I,
        {"type": "integer", "maximum": 9},
        "strict",
        [("MAXIMUM_ADDED", "backward", "", "/maximum")],
    ),
    (
        "exclusive_maximum_increased",
        {"type": "number", "exclusiveMaximum": 1},
        {"type": "number", "exclusiveMaximum": 2},
        "strict",
        [("EXCLUSIVE_MAXIMUM_INCREASED", "forward", "/exclusiveMaximum", "/exclusiveMaximum")],
    ),
    (
        "multiple_of_expanded",
        {"type": "integer", "multipleOf": 2},
        {"type": "integer", "multipleOf": 4},
        "strict",
        [("MULTIPLE_OF_EXPANDED", "backward", "/multipleOf", "/multipleOf")],
    ),
    (
        "multiple_of_reduced",
        {"type": "number", "multipleOf": 6},
        {"type": "number", "multipleOf": 3},
        "strict",
        [("MULTIPLE_OF_REDUCED", "forward", "/multipleOf", "/multipleOf")],
    ),
    (
        "multiple_of_changed",
        {"type": "integer", "multipleOf": 2},
        {"type": "integer", "multipleOf": 3},
        "strict",
        [
            ("MULTIPLE_OF_CHANGED", "backward", "/multipleOf", "/multipleOf"),
            ("MULTIPLE_OF_CHANGED", "forward", "/multipleOf", "/multipleOf"),
        ],
    ),
    (
        "max_items_decreased",
        {"type": "array", "maxItems": 3},
        {"type": "array", "maxItems": 2},
        "strict",
        [("MAX_ITEMS_DECREASED", "backward", "/maxItems", "/maxItems")],
    ),
    (
        "min_items_added",
        {"type": "array"},
        {"type": "array", "minItems": 1},
        "strict",
        [("MIN_ITEMS_ADDED", "backward", "", "/minItems")],
    ),
    (
        "unique_items_added",
        {"type": "array"},
        {"type": "array", "uniqueItems": True},
        "strict",
        [("UNIQUE_ITEMS_ADDED", "backward", "", "/uniqueItems")],
    ),
    (
        "items_narrowed",
        {"type": "array", "items": {"type": "number"}},
        {"type": "array", "items": I},
        "strict",
        [("TYPE_NARROWED", "backward", "/items/type", "/items/type")],
    ),
    (
        "additional_items_removed",
        {"type": "array", "prefixItems": [S]},
        {"type": "array", "prefixItems": [S], "items": False},
        "strict",
        [("ADDITIONAL_ITEMS_REMOVED", "backward", "", "/items")],
    ),
    (
        "tuple_item_added_to_open",
        {"type": "array"},
        {"type": "array", "prefixItems": [S]},
        "strict",
        [("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "backward", "", "/prefixItems/0")],
    ),
    (
        "contains_added",
        {"type": "array"},
        {"type": "array", "contains": I},
        "strict",
        [("CONTAINS_NARROWED", "backward", "", "/contains")],
    ),
    (
        "min_contains_added",
        {"type": "array", "contains": I},
        {"type": "array", "contains": I, "minContains": 3},
        "strict",
        [("MIN_CONTAINS_ADDED", "backward", "", "/minContains")],
    ),
    (
        "min_contains_removed",
        {"type": "array", "contains": I, "minContains": 2},
        {"type": "array", "contains": I},
        "strict",
        [("MIN_CONTAINS_REMOVED", "forward", "/minContains", "")],
    ),
    (
        "required_added",
        obj({"a": S}),
        obj({"a": S}, ["a"]),
        "strict",
        [("REQUIRED_ATTRIBUTE_ADDED", "backward", "", "/required")],
    ),
    (
        "required_removed",
        obj({"a": S}, ["a"]),
        obj({"a": S}),
        "strict",
        [("REQUIRED_ATTRIBUTE_REMOVED", "forward", "/required", "")],
    ),
    (
        "property_added_to_open",
        obj({}),
        obj({"a": S}),
        "strict",
        [("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "backward", "", "/properties/a")],
    ),
    (
        "property_removed_from_open",
        obj({"a": S}),
        obj({}),
        "strict",
        [("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "forward", "/properties/a", "")],
    ),
    (
        "property_removed_from_closed",
        closed({"a": S}),
        closed({}),
        "strict",
        [
            (
                "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                "backward",
                "/properties/a",
                "/additionalProperties",
            )
        ],
    ),
    (
        "optional_added_to_closed",
        closed({}),
        closed({"a": S}),
        "strict",
        [
            (
                "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                "forward",
                "/additionalProperties",
                "/properties/a",
            )
        ],
    ),
    (
        "required_added_to_closed",
        closed({}),
        closed({"a": S}, ["a"]),
        "strict",
        [
            ("REQUIRED_ATTRIBUTE_ADDED", "backward", "", "/required"),
            (
                "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                "forward",
                "/additionalProperties",
                "/properties/a",
            ),
        ],
    ),
    (
        "removed_not_covered_by_partial",
        obj({"a": S}, additionalProperties=False),
        obj({}, additionalProperties=I),
        "strict",
        [
            (
                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
                "backward",
                "/properties/a",
                "/additionalProperties",
            ),
            (
                "ADDITIONAL_PROPERTIES_ADDED",
                "forward",
                "/additionalProperties",
                "/additionalProperties",
            ),
            ("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "forward", "/properties/a", ""),
        ],
    ),
    (
        "additional_properties_removed",
        obj({}),
        closed({}),
        "strict",
        [("ADDITIONAL_PROPERTIES_REMOVED", "backward", "", "/additionalProperties")],
    ),
    (
        "additional_properties_narrowed",
        obj({}, additionalProperties={"type": "number"}),
        obj({}, additionalProperties=I),
        "strict",
        [("TYPE_NARROWED", "backward", "/additionalProperties/type", "/additionalProperties/type")],
    ),
    (
        "pattern_properties_narrowed",
        obj({}),
        obj({}, patternProperties={"^x": I}),
        "strict",
        [("PATTERN_PROPERTIES_NARROWED", "backward", "", "/patternProperties/^x")],
    ),
    (
        "property_names_narrowed",
        {"type": "object"},
        {"type": "object", "propertyNames": {"maxLength": 2}},
        "strict",
        [("PROPERTY_NAMES_NARROWED", "backward", "", "/propertyNames")],
    ),
    (
        "dependency_array_added",
        obj({"a": S, "b": S}),
        obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}),
        "strict",
        [("DEPENDENCY_ARRAY_ADDED", "backward", "", "/dependentRequired")],
    ),
    (
        "dependency_array_narrowed",
        obj({"a": S, "b": S, "c": S}, dependentRequired={"a": ["b", "c"]}),
        obj({"a": S, "b": S, "c": S}, dependentRequired={"a": ["b"]}),
        "strict",
        [("DEPENDENCY_ARRAY_NARROWED", "forward", "/dependentRequired", "/dependentRequired")],
    ),
    (
        "dependency_schema_added",
        obj({"a": S}),
        obj({"a": S}, dependentSchemas={"a": {"required": ["b"]}}),
        "strict",
        [("DEPENDENCY_SCHEMA_ADDED", "backward", "", "/dependentSchemas/a")],
    ),
    (
        "max_properties_added",
        {"type": "object"},
        {"type": "object", "maxProperties": 2},
        "strict",
        [("MAX_PROPERTIES_ADDED", "backward", "", "/maxProperties")],
    ),
    (
        "sum_type_narrowed",
        {"anyOf": [S, I]},
        {"anyOf": [S]},
        "strict",
        [("SUM_TYPE_NARROWED", "backward", "", "/anyOf")],
    ),
    (
        "one_of_overlap",
        {"type": "integer"},
        {"oneOf": [I, {"type": "number", "minimum": 0}]},
        "strict",
        [
            ("ONE_OF_NOT_PROVABLY_EXCLUSIVE", "backward", "", "/oneOf"),
            ("TYPE_EXTENDED", "forward", "/type", "/oneOf/1/type"),
        ],
    ),
    (
        "not_added",
        S,
        {"type": "string", "not": {"const": ""}},
        "strict",
        [("NOT_TYPE_EXTENDED", "backward", "", "/not")],
    ),
    (
        "conditional_added",
        {"type": "object"},
        {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        "strict",
        [("CONDITIONAL_CHANGED", "backward", "", "/if")],
    ),
    ("schema_false", S, False, "strict", [("SCHEMA_FALSE", "backward", "", "")]),
    (
        "unresolvable_ref",
        S,
        {"$ref": "#/$defs/missing"},
        "strict",
        [("TYPE_EXTENDED", "forward", "/type", ""), ("UNRESOLVABLE_REF", "backward", "", "/$ref")],
    ),
    (
        "nested_pointer_through_ref",
        {
            "$defs": {"m": obj({"n": {"type": "integer", "maximum": 10}})},
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/m"}},
        },
        {
            "$defs": {"m": obj({"n": {"type": "integer", "maximum": 5}})},
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/m"}},
        },
        "strict",
        [
            (
                "MAXIMUM_DECREASED",
                "backward",
                "/$defs/m/properties/n/maximum",
                "/$defs/m/properties/n/maximum",
            )
        ],
    ),
    # runtime semantics: writers emit declared properties only, readers ignore extras
    ("runtime_optional_added", obj({"a": S}), obj({"a": S, "b": I}), "runtime", []),
    ("runtime_optional_removed", obj({"a": S, "b": I}), obj({"a": S}), "runtime", []),
    (
        "runtime_required_added",
        obj({"a": S}),
        obj({"a": S, "b": I}, ["b"]),
        "runtime",
        [("REQUIRED_ATTRIBUTE_ADDED", "backward", "", "/required")],
    ),
    (
        "runtime_type_widened",
        obj({"a": I}),
        obj({"a": {"type": "number"}}),
        "runtime",
        [("TYPE_EXTENDED", "forward", "/properties/a/type", "/properties/a/type")],
    ),
    (
        "runtime_closed_reader",
        obj({"a": S, "b": I}),
        closed({"a": S}),
        "runtime",
        [
            (
                "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                "backward",
                "/properties/b",
                "/additionalProperties",
            )
        ],
    ),
    (
        "runtime_unique_items_ignored",
        obj({"a": {"type": "array", "items": S}}),
        obj({"a": {"type": "array", "items": S, "uniqueItems": True}}),
        "runtime",
        [],
    ),
    (
        "runtime_oneof_as_union",
        obj({"a": {"oneOf": [I, {"type": "number"}]}}),
        obj({"a": {"oneOf": [{"type": "number"}, I]}}),
        "runtime",
        [],
    ),
    (
        "runtime_float_multiple_of",
        {"type": "number", "multipleOf": 0.3},
        {"type": "number", "multipleOf": 0.1},
        "runtime",
        [
            ("MULTIPLE_OF_CHANGED", "backward", "/multipleOf", "/multipleOf"),
            ("MULTIPLE_OF_REDUCED", "forward", "/multipleOf", "/multipleOf"),
        ],
    ),
    # issue 12: pairs the gate used to call compatible (or crash on), and false alarms
    (
        "anyof_single_branch_untyped_reader",
        {},
        {"anyOf": [{"minLength": 3}]},
        "strict",
        [("SUM_TYPE_NARROWED", "backward", "", "/anyOf")],
    ),
    (
        "oneof_single_branch_untyped_reader",
        {},
        {"oneOf": [{"maxProperties": 0}]},
        "strict",
        [("SUM_TYPE_NARROWED", "backward", "", "/oneOf")],
    ),
    (
        "oneof_single_branch_untyped_old_reader",
        {"oneOf": [{"maxLength": 0}]},
        {},
        "strict",
        [("SUM_TYPE_EXTENDED", "forward", "/oneOf", "")],
    ),
    (
        "oneof_single_branch_property_type_changed",
        {"oneOf": [{"properties": {"foo": {"type": "string"}}}]},
        {"oneOf": [{"properties": {"foo": {"type": "number"}}}]},
        "strict",
        [
            ("SUM_TYPE_EXTENDED", "forward", "/oneOf", ""),
            ("SUM_TYPE_NARROWED", "backward", "", "/oneOf"),
        ],
    ),
    (
        "oneof_overlapping_branches_per_slice",
        {"oneOf": [{"maximum": 0}, {"type": "number"}]},
        True,
        "strict",
        [("ONE_OF_NOT_PROVABLY_EXCLUSIVE", "forward", "/oneOf", "")],
    ),
    (
        "unevaluated_items_equal_but_evaluated_set_differs",
        {"unevaluatedItems": False, "allOf": [{"prefixItems": [True]}]},
        {"unevaluatedItems": False, "allOf": [True]},
        "strict",
        [
            (
                "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                "backward",
                "/allOf/0/prefixItems/0",
                "/unevaluatedItems",
            )
        ],
    ),
    (
        "unevaluated_properties_closes_over_allof_members",
        {"unevaluatedProperties": False, "allOf": [{"properties": {"a": True}}]},
        {"maxProperties": 0},
        "strict",
        [("MAX_PROPERTIES_ADDED", "backward", "", "/maxProperties")],
    ),
    (
        "pattern_properties_in_oneof_disjointness",
        closed({"ab": S}, ["ab"]),
        {
            "type": "object",
            "oneOf": [
                {"required": ["ab"], "additionalProperties": {"type": "string"}},
                {
                    "required": ["ab"],
                    "patternProperties": {"^a": {"type": "string"}},
                    "additionalProperties": {"type": "integer"},
                },
            ],
        },
        "strict",
        [
            ("ONE_OF_NOT_PROVABLY_EXCLUSIVE", "backward", "", "/oneOf"),
            (
                "ADDITIONAL_PROPERTIES_ADDED",
                "forward",
                "/additionalProperties",
                "/oneOf/0/additionalProperties",
            ),
            (
                "ADDITIONAL_PROPERTIES_ADDED",
                "forward",
                "/additionalProperties",
                "/oneOf/1/additionalProperties",
            ),
            (
                "ADDITIONAL_PROPERTIES_ADDED",
                "forward",
                "/additionalProperties",
                "/oneOf/1/patternProperties/^a",
            ),
        ],
    ),
    (
        "multiple_of_decimal_judged_in_floating_point",
        {"multipleOf": 0.3},
        {"multipleOf": 0.1},
        "strict",
        [
            ("MULTIPLE_OF_CHANGED", "backward", "/multipleOf", "/multipleOf"),
            ("MULTIPLE_OF_REDUCED", "forward", "/multipleOf", "/multipleOf"),
        ],
    ),
    (
        "contains_against_untyped_items",
        {"type": "array", "minItems": 1},
        {"type": "array", "contains": {"type": "string"}},
        "strict",
        [("CONTAINS_NARROWED", "backward", "", "/contains")],
    ),
    ("double_negation_is_true", {}, {"not": {"not": {}}}, "strict", []),
    (
        "additional_properties_allof_true",
        {"additionalProperties": True},
        {"additionalProperties": {"allOf": [True]}},
        "strict",
        [],
    ),
    (
        "type_string_vs_list_beside_unevaluated_items",
        {"type": "array", "prefixItems": [True], "unevaluatedItems": False},
        {"type": ["array"], "prefixItems": [True], "unevaluatedItems": False},
        "strict",
        [],
    ),
    (
        "oneof_overlap_behind_ref",
        {
            "$defs": {"p": {"minimum": 0}},
            "oneOf": [{"$ref": "#/$defs/p"}, {"maximum": 10}],
        },
        {"oneOf": [{"minimum": 0}, {"maximum": 10}]},
        "strict",
        [],
    ),
]

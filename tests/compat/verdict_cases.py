"""Verdict table: (name, old, new, backward, forward) under strict semantics.

The expected verdicts follow the instance-set definition: backward holds iff every
instance of old is valid under new, forward iff every instance of new is valid under old.
"""

from __future__ import annotations

from typing import Any

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
N = {"type": "number"}


def obj(props: dict[str, Any], required: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out.update(kw)
    return out


CASES: list[tuple[str, Any, Any, bool, bool]] = [
    # annotations never break
    (
        "title_changed",
        {"type": "string", "title": "a"},
        {"type": "string", "title": "b"},
        True,
        True,
    ),
    (
        "description_default_examples",
        {"type": "integer", "default": 1},
        {
            "type": "integer",
            "description": "d",
            "examples": [2],
            "deprecated": True,
            "$comment": "c",
            "readOnly": True,
        },
        True,
        True,
    ),
    # types
    ("integer_to_number", I, N, True, False),
    ("number_to_integer", N, I, False, True),
    ("string_to_integer", S, I, False, False),
    ("add_null", S, {"type": ["string", "null"]}, True, False),
    (
        "type_array_reordered",
        {"type": ["string", "null"]},
        {"type": ["null", "string"]},
        True,
        True,
    ),
    ("number_multiple_of_one_is_integer", {"type": "number", "multipleOf": 1}, I, True, True),
    ("bool_true_to_empty", True, {}, True, True),
    ("false_to_anything", False, S, True, False),
    ("anything_to_false", S, False, False, True),
    ("true_to_string", True, S, False, True),
    # enum / const
    ("enum_extended", {"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, True, False),
    ("enum_narrowed", {"enum": ["a", "b"]}, {"enum": ["a"]}, False, True),
    ("enum_int_float_equal", {"enum": [1, 2]}, {"enum": [1.0, 2.0]}, True, True),
    ("enum_false_vs_zero", {"enum": [False]}, {"enum": [0]}, False, False),
    ("const_object_deep_equal", {"const": {"a": [1, 2]}}, {"enum": [{"a": [1.0, 2]}]}, True, True),
    ("const_to_type", {"const": "x"}, S, True, False),
    ("enum_to_maxlength", {"enum": ["a", "bb"]}, {"type": "string", "maxLength": 1}, False, False),
    ("boolean_to_enum", {"type": "boolean"}, {"enum": [True, False]}, True, True),
    (
        "int_range_to_enum",
        {"type": "integer", "minimum": 1, "maximum": 3},
        {"enum": [1, 2, 3]},
        True,
        True,
    ),
    ("string_to_enum", S, {"enum": ["a"]}, False, True),
    # strings
    (
        "maxlength_decreased",
        {"type": "string", "maxLength": 10},
        {"type": "string", "maxLength": 5},
        False,
        True,
    ),
    ("minlength_added", S, {"type": "string", "minLength": 1}, False, True),
    (
        "pattern_same",
        {"type": "string", "pattern": "^a"},
        {"type": "string", "pattern": "^a"},
        True,
        True,
    ),
    (
        "pattern_changed",
        {"type": "string", "pattern": "^a"},
        {"type": "string", "pattern": "^b"},
        False,
        False,
    ),
    ("pattern_removed", {"type": "string", "pattern": "^a"}, S, True, False),
    ("format_added", S, {"type": "string", "format": "date-time"}, False, True),
    ("format_removed", {"type": "string", "format": "email"}, S, True, False),
    # numbers
    (
        "maximum_decreased",
        {"type": "integer", "maximum": 10},
        {"type": "integer", "maximum": 5},
        False,
        True,
    ),
    (
        "minimum_vs_exclusive_int",
        {"type": "integer", "exclusiveMinimum": 0},
        {"type": "integer", "minimum": 1},
        True,
        True,
    ),
    (
        "minimum_vs_exclusive_num",
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "minimum": 0},
        True,
        False,
    ),
    (
        "multiple_of_divides",
        {"type": "integer", "multipleOf": 4},
        {"type": "integer", "multipleOf": 2},
        True,
        False,
    ),
    (
        # validators divide in binary floating point, where 0.3 / 0.1 is not an integer
        "multiple_of_float",
        {"type": "number", "multipleOf": 0.3},
        {"type": "number", "multipleOf": 0.1},
        False,
        False,
    ),
    (
        "multiple_of_unrelated",
        {"type": "integer", "multipleOf": 3},
        {"type": "integer", "multipleOf": 2},
        False,
        False,
    ),
    ("multiple_of_half_int", I, {"type": "number", "multipleOf": 0.5}, True, False),
    # arrays
    (
        "max_items_decreased",
        {"type": "array", "maxItems": 3},
        {"type": "array", "maxItems": 2},
        False,
        True,
    ),
    (
        "unique_items_added",
        {"type": "array", "items": S},
        {"type": "array", "items": S, "uniqueItems": True},
        False,
        True,
    ),
    ("items_widened", {"type": "array", "items": I}, {"type": "array", "items": N}, True, False),
    (
        "prefix_items_closed",
        {"type": "array", "prefixItems": [S, I], "items": False},
        {"type": "array", "prefixItems": [S], "items": False},
        False,
        True,
    ),
    (
        "prefix_vs_items",
        {"type": "array", "prefixItems": [I], "items": False},
        {"type": "array", "items": N},
        True,
        False,
    ),
    (
        "contains_added",
        {"type": "array", "items": I},
        {"type": "array", "contains": I},
        False,
        False,
    ),
    (
        "contains_by_items",
        {"type": "array", "items": I, "minItems": 1},
        {"type": "array", "contains": N},
        True,
        False,
    ),
    # objects
    ("optional_added_open", obj({"a": S}), obj({"a": S, "b": I}), False, True),
    ("optional_removed_open", obj({"a": S, "b": I}), obj({"a": S}), True, False),
    ("required_added", obj({"a": S}), obj({"a": S}, ["a"]), False, True),
    (
        "required_added_with_default",
        obj({"a": S}),
        obj({"a": {"type": "string", "default": "x"}}, ["a"]),
        False,
        True,
    ),
    (
        "closed_optional_added",
        obj({"a": S}, additionalProperties=False),
        obj({"a": S, "b": I}, additionalProperties=False),
        True,
        False,
    ),
    (
        "closed_property_removed",
        obj({"a": S, "b": I}, additionalProperties=False),
        obj({"a": S}, additionalProperties=False),
        False,
        True,
    ),
    ("closed_vs_open", obj({"a": S}, additionalProperties=False), obj({"a": S}), True, False),
    (
        "additional_schema_narrowed",
        obj({}, additionalProperties=N),
        obj({}, additionalProperties=I),
        False,
        True,
    ),
    (
        "pattern_properties_same",
        obj({}, patternProperties={"^x": I}),
        obj({}, patternProperties={"^x": I}, description="d"),
        True,
        True,
    ),
    ("pattern_properties_added", obj({}), obj({}, patternProperties={"^x": I}), False, True),
    (
        "partially_open_covers",
        obj({"a": I}, additionalProperties=False),
        obj({}, additionalProperties=N),
        True,
        False,
    ),
    (
        "property_names_added",
        {"type": "object"},
        {"type": "object", "propertyNames": {"maxLength": 3}},
        False,
        True,
    ),
    (
        "dependent_required_added",
        obj({"a": S, "b": S}),
        obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}),
        False,
        True,
    ),
    (
        "max_properties_closed",
        obj({"a": S}, additionalProperties=False),
        obj({"a": S}, additionalProperties=False, maxProperties=1),
        True,
        True,
    ),
    (
        "min_properties_by_required",
        obj({"a": S, "b": S}, ["a", "b"]),
        obj({"a": S, "b": S}, ["a", "b"], minProperties=2),
        True,
        True,
    ),
    (
        "nested_property_narrowed",
        obj({"a": obj({"x": I})}),
        obj({"a": obj({"x": {"type": "integer", "maximum": 3}})}),
        False,
        True,
    ),
    # refs and recursion
    (
        "ref_same_target",
        {"$defs": {"a": S}, "$ref": "#/$defs/a"},
        {"$defs": {"b": S}, "$ref": "#/$defs/b"},
        True,
        True,
    ),
    (
        "ref_sibling_keywords",
        {"$defs": {"a": S}, "$ref": "#/$defs/a"},
        {"$defs": {"a": S}, "$ref": "#/$defs/a", "maxLength": 3},
        False,
        True,
    ),
    (
        "recursive_tree_widened",
        {
            "$defs": {
                "t": obj({"v": I, "kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}})
            },
            "$ref": "#/$defs/t",
        },
        {
            "$defs": {
                "t": obj({"v": N, "kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}})
            },
            "$ref": "#/$defs/t",
        },
        True,
        False,
    ),
    # combinators
    ("anyof_extended", {"anyOf": [S, I]}, {"anyOf": [S, I, {"type": "null"}]}, True, False),
    ("anyof_split_types", {"type": ["string", "integer"]}, {"anyOf": [S, I]}, True, True),
    ("oneof_disjoint_types", {"oneOf": [S, I]}, {"oneOf": [I, S]}, True, True),
    ("oneof_overlapping_added_branch", {"oneOf": [I]}, {"oneOf": [I, N]}, False, False),
    (
        "oneof_discriminated",
        {"oneOf": [obj({"k": {"const": "a"}}, ["k"])]},
        {"oneOf": [obj({"k": {"const": "a"}}, ["k"]), obj({"k": {"const": "b"}}, ["k"])]},
        True,
        False,
    ),
    (
        "allof_merge",
        {"allOf": [S, {"maxLength": 3}]},
        {"type": "string", "maxLength": 5},
        True,
        False,
    ),
    ("not_added", S, {"type": "string", "not": {"const": "x"}}, False, True),
    ("not_disjoint", I, {"not": S}, True, False),
    (
        "if_then_same",
        {"type": "object", "if": obj({"a": {"const": 1}}, ["a"]), "then": {"required": ["b"]}},
        {
            "type": "object",
            "if": obj({"a": {"const": 1}}, ["a"]),
            "then": {"required": ["b"]},
            "title": "t",
        },
        True,
        True,
    ),
    (
        "if_then_added",
        {"type": "object"},
        {"type": "object", "if": obj({"a": {"const": 1}}, ["a"]), "then": {"required": ["b"]}},
        False,
        True,
    ),
    (
        "empty_contradiction_subset",
        {"type": "string", "minLength": 5, "enum": ["a"]},
        I,
        True,
        False,
    ),
    ("nullable_anyof", {"anyOf": [S, {"type": "null"}]}, {"type": ["string", "null"]}, True, True),
]

CASES += [
    (
        "not_type_on_writer",
        {"not": {"type": "string"}},
        {"type": ["number", "boolean", "null", "object", "array"]},
        True,
        True,
    ),
    (
        "contradictory_string_is_empty",
        {"type": "string", "minLength": 3, "maxLength": 2},
        I,
        True,
        False,
    ),
    (
        "contradictory_range_is_empty",
        {"type": "integer", "minimum": 3, "maximum": 2},
        S,
        True,
        False,
    ),
    ("required_but_forbidden_is_empty", obj({"a": False}, ["a"]), S, True, False),
    (
        "single_number_range_is_const",
        {"type": "number", "minimum": 0, "maximum": 0},
        {"const": 0},
        True,
        True,
    ),
    ("property_false_to_string", obj({"a": False}), obj({"a": S}), True, False),
    ("no_type_minimum", {"minimum": 5}, {"type": "number", "minimum": 5}, False, True),
    ("typeless_required", {"required": ["a"]}, {"type": "object", "required": ["a"]}, False, True),
    ("empty_enum", {"enum": []}, S, True, False),
    (
        "closed_tuple_zero_length",
        {"type": "array", "items": I, "maxItems": 0},
        {"type": "array", "items": S},
        True,
        False,
    ),
    (
        "unevaluated_as_additional",
        obj({"a": S}, additionalProperties=False),
        obj({"a": S}, unevaluatedProperties=False),
        True,
        True,
    ),
    (
        "not_enum_subset",
        {"type": "string", "not": {"const": "x"}},
        {"type": "string", "not": {"enum": ["x"]}},
        True,
        True,
    ),
    (
        "min_contains_decreased",
        {"type": "array", "contains": I, "minContains": 2},
        {"type": "array", "contains": I},
        True,
        False,
    ),
    (
        "pattern_enum_writer",
        {"enum": ["a", "b"]},
        {"type": "string", "pattern": "^[ab]$"},
        True,
        False,
    ),
    (
        "dependent_required_satisfied_by_required",
        obj({"a": S, "b": S}, ["a", "b"]),
        obj({"a": S, "b": S}, ["a", "b"], dependentRequired={"a": ["b"]}),
        True,
        True,
    ),
    (
        "disjoint_pattern_properties_added",
        obj({}, patternProperties={"^s_": S}, additionalProperties=False),
        obj({}, patternProperties={"^s_": S, "^i_": I}, additionalProperties=False),
        True,
        False,
    ),
    (
        "oneof_overlap_to_type",
        {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "minLength": 3}]},
        S,
        True,
        False,
    ),
    ("integer_vs_number_multiple_of_one", I, {"type": "number", "multipleOf": 1}, True, True),
]

_BASE = {"type": "object", "properties": {"id": S}, "required": ["id"]}
CASES += [
    (
        "unevaluated_closed_extension_optional_added",
        {
            "$defs": {"b": _BASE},
            "allOf": [{"$ref": "#/$defs/b"}],
            "properties": {"x": I},
            "unevaluatedProperties": False,
        },
        {
            "$defs": {"b": _BASE},
            "allOf": [{"$ref": "#/$defs/b"}],
            "properties": {"x": I, "y": S},
            "unevaluatedProperties": False,
        },
        True,
        False,
    ),
    (
        "unevaluated_different_allof_members",
        {"allOf": [obj({"a": S})], "unevaluatedProperties": False},
        {"allOf": [obj({"b": S})], "unevaluatedProperties": False},
        False,
        False,
    ),
    (
        "unevaluated_with_anyof_not_provable",
        {"type": "object", "anyOf": [obj({"a": S})], "unevaluatedProperties": False},
        {"type": "object", "anyOf": [obj({"a": S}), obj({"b": S})], "unevaluatedProperties": False},
        False,
        False,
    ),
]

# shapes from the published Karapace/Confluent suites, judged by instance sets
CASES += [
    ("not_empty_is_empty", {"not": {}}, S, True, False),
    ("not_true_is_empty", {"not": True}, False, True, True),
    ("true_vs_not_empty", True, {"not": {}}, False, True),
    ("oneof_single_vs_type", {"oneOf": [S]}, S, True, True),
    ("oneof_add_disjoint_branch", {"oneOf": [S]}, {"oneOf": [S, I]}, True, False),
    ("oneof_add_overlapping_branch", {"oneOf": [S, I]}, {"oneOf": [S, I, N]}, False, False),
    ("allof_single", {"allOf": [S]}, S, True, True),
    ("anyof_vs_type_array", {"anyOf": [I, S]}, {"type": ["integer", "string"]}, True, True),
    ("enum_ab_to_bc", {"enum": ["A", "B"]}, {"enum": ["B", "C"]}, False, False),
    ("empty_type_list", {"type": []}, S, True, False),
    (
        "pattern_star_props",
        obj({}, patternProperties={"a*": I}),
        obj({}, patternProperties={"a*": N}),
        True,
        False,
    ),
    (
        "max_properties_vs_closed_count",
        obj({"a": S, "b": S}, additionalProperties=False),
        obj({"a": S, "b": S}, additionalProperties=False, maxProperties=1),
        False,
        True,
    ),
    (
        "exclusive_max_integer",
        {"type": "integer", "exclusiveMaximum": 10},
        {"type": "integer", "maximum": 9},
        True,
        True,
    ),
    (
        "minimum_float_vs_integer",
        {"type": "number", "minimum": 1.5},
        {"type": "integer", "minimum": 2},
        False,
        True,
    ),
]

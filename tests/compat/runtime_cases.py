"""Runtime-semantics verdicts: (name, old, new, backward, forward).

Writers are the generated models (they emit declared properties only); readers are the
generated models (extra properties ignored unless additionalProperties is false).
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


RUNTIME_CASES: list[tuple[str, Any, Any, bool, bool]] = [
    ("optional_added", obj({"a": S}, ["a"]), obj({"a": S, "b": I}, ["a"]), True, True),
    ("optional_removed", obj({"a": S, "b": I}, ["a"]), obj({"a": S}, ["a"]), True, True),
    ("required_added", obj({"a": S}, ["a"]), obj({"a": S, "b": I}, ["a", "b"]), False, True),
    (
        "required_added_with_default",
        obj({"a": S}),
        obj({"a": S, "b": {"type": "integer", "default": 0}}, ["b"]),
        False,
        True,
    ),
    (
        "required_removed",
        obj({"a": S, "b": I}, ["a", "b"]),
        obj({"a": S, "b": I}, ["a"]),
        True,
        False,
    ),
    ("type_widened", obj({"a": I}), obj({"a": N}), True, False),
    ("type_narrowed", obj({"a": N}), obj({"a": I}), False, True),
    (
        "nullable_added",
        obj({"a": S}, ["a"]),
        obj({"a": {"type": ["string", "null"]}}, ["a"]),
        True,
        False,
    ),
    (
        "closed_optional_added",
        obj({"a": S}, additionalProperties=False),
        obj({"a": S, "b": I}, additionalProperties=False),
        True,
        False,
    ),
    (
        "closed_optional_removed",
        obj({"a": S, "b": I}, additionalProperties=False),
        obj({"a": S}, additionalProperties=False),
        False,
        True,
    ),
    (
        "nested_optional_added",
        obj({"n": obj({"x": I}, ["x"])}, ["n"]),
        obj({"n": obj({"x": I, "y": S}, ["x"])}, ["n"]),
        True,
        True,
    ),
    (
        "enum_extended",
        obj({"c": {"enum": ["a", "b"]}}),
        obj({"c": {"enum": ["a", "b", "c"]}}),
        True,
        False,
    ),
    (
        "max_length_decreased",
        obj({"s": {"type": "string", "maxLength": 5}}),
        obj({"s": {"type": "string", "maxLength": 3}}),
        False,
        True,
    ),
    (
        "format_added",
        obj({"t": S}),
        obj({"t": {"type": "string", "format": "date-time"}}),
        False,
        True,
    ),
    (
        "format_removed",
        obj({"t": {"type": "string", "format": "date-time"}}),
        obj({"t": S}),
        True,
        False,
    ),
    (
        "array_items_optional_added",
        obj({"l": {"type": "array", "items": obj({"x": I})}}),
        obj({"l": {"type": "array", "items": obj({"x": I, "y": I})}}),
        True,
        True,
    ),
    (
        "dict_values_widened",
        obj({"d": {"type": "object", "additionalProperties": I}}),
        obj({"d": {"type": "object", "additionalProperties": N}}),
        True,
        False,
    ),
    (
        "pattern_dict_from_free_dict",
        obj({"d": {"type": "object", "additionalProperties": I}}),
        obj({"d": {"type": "object", "patternProperties": {"^x": I}}}),
        False,
        True,
    ),
]

_MONEY = obj(
    {"amount": I, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    ["amount", "currency"],
    additionalProperties=False,
)
_MONEY_V2 = obj(
    {
        "amount": I,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "scale": {"type": "integer", "minimum": 0},
    },
    ["amount", "currency"],
    additionalProperties=False,
)


def _order(money: dict[str, Any], **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"type": "string", "minLength": 1},
        "total": {"$ref": "#/$defs/Money"},
        "discount": {"anyOf": [{"$ref": "#/$defs/Money"}, {"type": "null"}]},
        "lines": {"type": "array", "items": obj({"sku": S, "qty": I}, ["sku", "qty"])},
    }
    props.update(extra)
    return {
        "type": "object",
        "properties": props,
        "required": ["id", "total"],
        "$defs": {"Money": money},
    }


RUNTIME_CASES += [
    ("closed_def_gains_optional", _order(_MONEY), _order(_MONEY_V2), True, False),
    ("closed_def_loses_optional", _order(_MONEY_V2), _order(_MONEY), False, True),
    (
        "order_optional_enum_added",
        _order(_MONEY),
        _order(_MONEY, channel={"type": "string", "enum": ["web", "store"]}),
        True,
        True,
    ),
    (
        "order_nullable_became_required",
        _order(_MONEY),
        {**_order(_MONEY), "required": ["id", "total", "discount"]},
        False,
        True,
    ),
    (
        "order_line_qty_widened",
        _order(_MONEY),
        _order(_MONEY, lines={"type": "array", "items": obj({"sku": S, "qty": N}, ["sku", "qty"])}),
        True,
        False,
    ),
    (
        "order_date_time_added",
        _order(_MONEY),
        _order(_MONEY, at={"type": "string", "format": "date-time"}),
        True,
        True,
    ),
]

# regressions found by fuzzing the runtime view against the generated models
RUNTIME_CASES += [
    (
        "required_name_without_field",
        obj({"a": I, "d": I}, ["d"]),
        obj({"a": I}, ["d"]),
        True,
        False,
    ),
    (
        "empty_properties_is_a_dict",
        obj({}, maxProperties=2),
        obj({}, maxProperties=2, patternProperties={"^x": S}),
        False,
        True,
    ),
    (
        "min_properties_not_enforced_by_models",
        obj({}, minProperties=1),
        obj({"d": S}, minProperties=1),
        False,
        False,
    ),
    (
        "model_ignores_pattern_properties",
        obj({"a": I}, patternProperties={"^x": I}),
        obj({"a": I}, patternProperties={"^x": S}),
        True,
        True,
    ),
]

# generator quirks: length keywords cross types, object keywords make a model class
RUNTIME_CASES += [
    (
        "max_items_on_string_is_enforced",
        {"type": "string"},
        {"type": "string", "maxItems": 2},
        False,
        True,
    ),
    (
        "min_length_on_array_is_enforced",
        {"type": "array", "items": S},
        {"type": "array", "items": S, "minLength": 1},
        False,
        True,
    ),
    (
        "required_on_number_makes_an_object",
        {"type": "number"},
        {"type": "number", "required": ["a"]},
        False,
        False,
    ),
]
RUNTIME_CASES += [
    (
        "object_keyword_in_allof_member",
        {"type": "array", "items": {"type": "boolean"}},
        {
            "type": "array",
            "items": {"allOf": [{"type": "boolean"}, {"type": "boolean", "required": ["a"]}]},
        },
        False,
        False,
    ),
    (
        "object_keyword_on_union_branch",
        {"oneOf": [{"type": "string"}, {"enum": [1, 2]}]},
        {"oneOf": [{"type": "string"}, {"enum": [1, 2], "additionalProperties": False}]},
        False,
        False,
    ),
]

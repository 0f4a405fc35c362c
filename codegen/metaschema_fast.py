"""A fast "certainly valid" answer for the Draft 2020-12 metaschema check.

jsonschema checks a contract against the 2020-12 metaschema in about 6 ms: every
subschema goes through ``$dynamicRef`` resolution over eight vocabulary documents. That
was a quarter of a cold ``gen``. The metaschema itself is simple: each known keyword's
value has a type, a range or a format, and subschemas sit in known places. This module
walks a document with those rules written out, and answers True only when every rule
holds. Anything it is unsure of (a float where an integer is expected, a deep document,
a value it does not model) is False, and lint then runs jsonschema, which also gives
the located messages. So a True here never hides an error jsonschema would report; a
differential test holds this module to that over fuzzed and mutated schemas.

Formats are asked of the same ``FormatChecker`` that jsonschema's metaschema validator
uses, so "uri", "uri-reference" and "regex" mean exactly what they mean there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

Conforms = Callable[[Any, str], bool]

# The 2020-12 metaschema's own keyword table, written out here on purpose: compat/nodes.py
# and refs.py keep similar sets for walking schemas (refs.py also takes older drafts'
# array `items`), and a change made there for their sake must not widen what this walk
# calls certainly valid.

_ONE = frozenset(
    {
        "items",
        "contains",
        "additionalProperties",
        "propertyNames",
        "if",
        "then",
        "else",
        "not",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"})
_LISTS = frozenset({"prefixItems", "allOf", "anyOf", "oneOf"})
_STRINGS = frozenset(
    {"$comment", "title", "description", "format", "contentEncoding", "contentMediaType"}
)
_BOOLEANS = frozenset({"deprecated", "readOnly", "writeOnly", "uniqueItems"})
_NUMBERS = frozenset({"maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"})
_COUNTS = frozenset(
    {
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
    }
)
_ARRAYS = frozenset({"enum", "examples"})
_URI_REFERENCES = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
_ANCHORS = frozenset({"$anchor", "$dynamicAnchor", "$recursiveAnchor"})
_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_ANCHOR = re.compile(r"[A-Za-z_][-A-Za-z0-9._]*")
_ID = re.compile(r"[^#]*#?")
_MAX_DEPTH = 64  # deeper documents are left to jsonschema (and to lint's depth rule)


def certainly_valid(doc: Any, conforms: Conforms) -> bool:
    """True only when ``doc`` is valid under the Draft 2020-12 metaschema."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        schema, depth = stack.pop()
        if isinstance(schema, bool):
            continue
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return False
        for key, value in schema.items():
            subschemas = _keyword(key, value, conforms)
            if subschemas is None:
                return False
            stack.extend((s, depth + 1) for s in subschemas)
    return True


def _keyword(key: str, value: Any, conforms: Conforms) -> list[Any] | None:
    """The subschemas inside a valid keyword value; None when it is not certainly valid."""
    if key in _ONE:
        return [value]
    if key in _MAPS:
        if not isinstance(value, dict):
            return None
        if key == "patternProperties" and not all(conforms(k, "regex") for k in value):
            return None
        return list(value.values())
    if key in _LISTS:
        return list(value) if isinstance(value, list) and value else None
    return [] if _plain(key, value, conforms) else None


def _plain(key: str, value: Any, conforms: Conforms) -> bool:
    """A keyword whose value holds no subschema (or one the metaschema does not know)."""
    if key in _STRINGS:
        return isinstance(value, str)
    if key in _BOOLEANS:
        return isinstance(value, bool)
    if key in _NUMBERS:
        return _number(value)
    if key in _COUNTS:
        return _count(value)
    if key in _ARRAYS:
        return isinstance(value, list)
    if key in _URI_REFERENCES:
        return isinstance(value, str) and conforms(value, "uri-reference")
    if key in _ANCHORS:
        return isinstance(value, str) and _ANCHOR.fullmatch(value) is not None
    special = _SPECIAL.get(key)
    if special is not None:
        return special(value, conforms)
    return True  # const, default and unknown keywords: any value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _string_array(value: Any) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(v, str) for v in value)
        and len(set(value)) == len(value)
    )


def _type(value: Any, _: Conforms) -> bool:
    if isinstance(value, str):
        return value in _SIMPLE_TYPES
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v in _SIMPLE_TYPES for v in value)
        and len(set(value)) == len(value)
    )


def _dependencies(value: Any, _: Conforms) -> bool:
    # dependencies (older drafts) is left to jsonschema: its values are schemas or
    # string arrays, and this walk only follows subschemas it can place.
    return False


_SPECIAL: dict[str, Callable[[Any, Conforms], bool]] = {
    "type": _type,
    "multipleOf": lambda v, _: _number(v) and v > 0,
    "pattern": lambda v, c: isinstance(v, str) and c(v, "regex"),
    "required": lambda v, _: _string_array(v),
    "dependentRequired": lambda v, _: (
        isinstance(v, dict) and all(_string_array(x) for x in v.values())
    ),
    "$id": lambda v, c: (
        isinstance(v, str) and _ID.fullmatch(v) is not None and c(v, "uri-reference")
    ),
    "$schema": lambda v, c: isinstance(v, str) and c(v, "uri"),
    "$vocabulary": lambda v, c: (
        isinstance(v, dict)
        and all(isinstance(k, str) and c(k, "uri") and isinstance(x, bool) for k, x in v.items())
    ),
    "dependencies": _dependencies,
}

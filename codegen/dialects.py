"""Older JSON Schema dialects as input: Draft-07 and 2019-09 documents are translated to
Draft 2020-12 before the gate judges them (``codegen compat`` only; contracts under
schemas/ are 2020-12).

The translation keeps every pointer it can and records the rest, so findings point
into the document as it was written:

=====================  ======================================  =====================
keyword (dialect)      2020-12 form                            notes
=====================  ======================================  =====================
items: [a, b]          prefixItems: [a, b]                     Draft-07, 2019-09
additionalItems: s     items: s (only after an array items)    ignored otherwise
dependencies: {k: []}  dependentRequired: {k: []}              Draft-07
dependencies: {k: s}   dependentSchemas: {k: s}                Draft-07
definitions            kept: "#/definitions/x" resolves as a pointer
$ref beside keywords   the siblings dropped                    Draft-07 ignores them
$id: "#name"           $anchor: "name"                         Draft-07 plain names
$recursiveRef: "#"     $ref: "#"                               2019-09 (one resource)
$recursiveAnchor       dropped                                 2019-09
keywords the dialect   dropped (prefixItems, unevaluated*,     their validators ignore
does not have          minContains, $dynamicRef, ...)          them
format the dialect's   dropped                                 e.g. "uuid" in Draft-07
checker does not know
=====================  ======================================  =====================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codegen.positions import escape

DIALECTS = ("2020-12", "2019-09", "draft-07")
_URIS = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "draft-07": "http://json-schema.org/draft-07/schema#",
}


class UnknownDialect(ValueError):
    pass


def dialect_of(doc: Any, default: str = "2020-12") -> str:
    """The dialect a document declares by ``$schema`` (``default`` when it has none)."""
    uri = doc.get("$schema") if isinstance(doc, dict) else None
    if uri is None:
        return default
    if not isinstance(uri, str):
        raise UnknownDialect("$schema must be a string")
    key = uri.strip().removesuffix("#").removesuffix("/").replace("http://", "https://")
    for name, known in _URIS.items():
        if key == known.removesuffix("#").replace("http://", "https://"):
            return name
    raise UnknownDialect(
        f'unsupported "$schema" {uri!r}: codegen compat reads Draft 2020-12, 2019-09 and '
        "Draft-07 documents"
    )


# Keywords each dialect's validator knows. Anything else is ignored by it, so the
# translation drops it (2020-12 would otherwise assert it).
_COMMON = frozenset(
    {
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "if",
        "then",
        "else",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "properties",
        "propertyNames",
        "required",
        "type",
        "uniqueItems",
    }
)
_KNOWN = {
    "draft-07": _COMMON | {"additionalItems", "dependencies"},
    "2019-09": _COMMON
    | {"additionalItems", "dependentRequired", "dependentSchemas", "minContains", "maxContains"}
    | {"unevaluatedItems", "unevaluatedProperties", "$recursiveRef"},
}
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "definitions",
        "$defs",
        "$anchor",
    }
)
_ONE = frozenset(
    {
        "additionalProperties",
        "additionalItems",
        "contains",
        "if",
        "then",
        "else",
        "not",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "items",
        "contentSchema",
    }
)
_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas"})


@dataclass
class Translation:
    """A 2020-12 document and where its pointers came from in the original."""

    doc: Any
    dialect: str
    # translated pointer -> original pointer, for every schema and renamed keyword
    origins: dict[str, str] = field(default_factory=dict)

    def original(self, ptr: str) -> str:
        """The original pointer of a translated one (longest recorded prefix)."""
        probe = ptr
        while True:
            if probe in self.origins:
                return self.origins[probe] + ptr[len(probe) :]
            if not probe:
                return ptr
            probe = probe.rpartition("/")[0]


def translate(doc: Any, dialect: str) -> Translation:
    """``doc`` (in ``dialect``) as a Draft 2020-12 document."""
    if dialect == "2020-12":
        return Translation(doc, dialect)
    out = Translation(None, dialect)
    formats = _formats(dialect)
    out.doc = _node(doc, "", "", dialect, formats, out.origins)
    if isinstance(out.doc, dict):
        out.doc["$schema"] = _URIS["2020-12"]
    return out


def _formats(dialect: str) -> frozenset[str]:
    from jsonschema import Draft7Validator, Draft201909Validator

    cls = Draft7Validator if dialect == "draft-07" else Draft201909Validator
    return frozenset(cls.FORMAT_CHECKER.checkers)


def _node(
    schema: Any,
    new_ptr: str,
    old_ptr: str,
    dialect: str,
    formats: frozenset[str],
    origins: dict[str, str],
) -> Any:
    origins[new_ptr] = old_ptr
    if not isinstance(schema, dict):
        return schema
    known = _KNOWN[dialect]

    def sub(value: Any, new_key: str, old_key: str) -> Any:
        return _node(value, new_key, old_key, dialect, formats, origins)

    def key_ptr(base: str, key: str) -> str:
        return base + "/" + escape(key)

    out: dict[str, Any] = {}
    keys = list(schema)
    if dialect == "draft-07" and "$ref" in schema:
        # Draft-07: "All other properties in a $ref object MUST be ignored"; definitions
        # stay, they are where refs point
        keys = [k for k in keys if k == "$ref" or k in ("definitions", "$defs", "$id")]
    for key in keys:
        value = schema[key]
        at_old = key_ptr(old_ptr, key)
        if key == "$id" and isinstance(value, str) and value.startswith("#"):
            if dialect == "draft-07" and len(value) > 1:
                out["$anchor"] = value[1:]  # a plain-name fragment id is an anchor
            continue
        if key in ("$id", "$schema", "$comment"):
            out[key] = value
            continue
        if key == "$recursiveRef" and dialect == "2019-09":
            out["$ref"] = value  # one resource: "#" is the document root
            origins[key_ptr(new_ptr, "$ref")] = at_old
            continue
        if key == "$recursiveAnchor" or (key == "$anchor" and dialect == "draft-07"):
            continue
        if key == "items" and isinstance(value, list):
            at_new = key_ptr(new_ptr, "prefixItems")
            origins[at_new] = at_old
            out["prefixItems"] = [
                sub(v, f"{at_new}/{i}", f"{at_old}/{i}") for i, v in enumerate(value)
            ]
            continue
        if key == "additionalItems":
            if isinstance(schema.get("items"), list):
                at_new = key_ptr(new_ptr, "items")
                out["items"] = sub(value, at_new, at_old)
            continue  # without an array items it has no effect
        if key == "dependencies" and dialect == "draft-07" and isinstance(value, dict):
            for kind in ("dependentRequired", "dependentSchemas"):
                origins.setdefault(key_ptr(new_ptr, kind), at_old)
            for name, dep in value.items():
                kind = "dependentRequired" if isinstance(dep, list) else "dependentSchemas"
                at_new = key_ptr(key_ptr(new_ptr, kind), name)
                target = out.setdefault(kind, {})
                target[name] = (
                    dep if kind == "dependentRequired" else sub(dep, at_new, key_ptr(at_old, name))
                )
                origins[at_new] = key_ptr(at_old, name)
            continue
        if key == "format" and isinstance(value, str) and value not in formats:
            continue  # the dialect's validator does not assert it
        if key not in known and key not in _ANNOTATIONS:
            continue  # not a keyword of this dialect: its validators ignore it
        at_new = key_ptr(new_ptr, key)
        out[key] = _children(key, value, at_new, at_old, sub)
    return out


def _children(
    key: str, value: Any, at_new: str, at_old: str, sub: Callable[[Any, str, str], Any]
) -> Any:
    if key in _ONE:
        return sub(value, at_new, at_old)
    if key in _LISTS and isinstance(value, list):
        return [sub(v, f"{at_new}/{i}", f"{at_old}/{i}") for i, v in enumerate(value)]
    if key in _MAPS and isinstance(value, dict):
        return {
            name: sub(v, at_new + "/" + escape(name), at_old + "/" + escape(name))
            for name, v in value.items()
        }
    return value

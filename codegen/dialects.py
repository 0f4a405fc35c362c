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
    out.doc = _Translator(dialect, _formats(dialect), out.origins).node(doc, "", "")
    if isinstance(out.doc, dict):
        out.doc["$schema"] = _URIS["2020-12"]
    return out


def _formats(dialect: str) -> frozenset[str]:
    from jsonschema import Draft7Validator, Draft201909Validator

    cls = Draft7Validator if dialect == "draft-07" else Draft201909Validator
    return frozenset(cls.FORMAT_CHECKER.checkers)


def _key_ptr(base: str, key: str) -> str:
    return base + "/" + escape(key)


@dataclass
class _Translator:
    """One document's translation: each schema object keyword by keyword, recording in
    ``origins`` where every translated pointer came from."""

    dialect: str
    formats: frozenset[str]  # the formats the dialect's validator asserts
    origins: dict[str, str]

    def node(self, schema: Any, new_ptr: str, old_ptr: str) -> Any:
        self.origins[new_ptr] = old_ptr
        if not isinstance(schema, dict):
            return schema
        out: dict[str, Any] = {}
        keys = list(schema)
        if self.dialect == "draft-07" and "$ref" in schema:
            # Draft-07: "All other properties in a $ref object MUST be ignored"; definitions
            # stay, they are where refs point
            keys = [k for k in keys if k == "$ref" or k in ("definitions", "$defs", "$id")]
        for key in keys:
            self._keyword(schema, key, out, new_ptr, old_ptr)
        return out

    def _keyword(
        self, schema: dict[str, Any], key: str, out: dict[str, Any], new_ptr: str, old_ptr: str
    ) -> None:
        value = schema[key]
        at_old = _key_ptr(old_ptr, key)
        if self._identity(key, value, out, new_ptr, at_old):
            return
        if key == "items" and isinstance(value, list):
            at_new = _key_ptr(new_ptr, "prefixItems")
            self.origins[at_new] = at_old
            out["prefixItems"] = [
                self.node(v, f"{at_new}/{i}", f"{at_old}/{i}") for i, v in enumerate(value)
            ]
        elif key == "additionalItems":
            if isinstance(schema.get("items"), list):  # else it has no effect
                out["items"] = self.node(value, _key_ptr(new_ptr, "items"), at_old)
        elif key == "dependencies" and self.dialect == "draft-07" and isinstance(value, dict):
            self._dependencies(value, out, new_ptr, at_old)
        elif key == "format" and isinstance(value, str) and value not in self.formats:
            pass  # the dialect's validator does not assert it
        elif key in _KNOWN[self.dialect] or key in _ANNOTATIONS:
            # (anything else is not a keyword of this dialect: its validators ignore it)
            out[key] = _children(key, value, _key_ptr(new_ptr, key), at_old, self.node)

    def _identity(
        self, key: str, value: Any, out: dict[str, Any], new_ptr: str, at_old: str
    ) -> bool:
        """Ids, anchors and recursive refs; True when ``key`` is handled."""
        if key == "$id" and isinstance(value, str) and value.startswith("#"):
            if self.dialect == "draft-07" and len(value) > 1:
                out["$anchor"] = value[1:]  # a plain-name fragment id is an anchor
            return True
        if key in ("$id", "$schema", "$comment"):
            out[key] = value
            return True
        if key == "$recursiveRef" and self.dialect == "2019-09":
            out["$ref"] = value  # one resource: "#" is the document root
            self.origins[_key_ptr(new_ptr, "$ref")] = at_old
            return True
        return key == "$recursiveAnchor" or (key == "$anchor" and self.dialect == "draft-07")

    def _dependencies(
        self, value: dict[str, Any], out: dict[str, Any], new_ptr: str, at_old: str
    ) -> None:
        """Draft-07 dependencies: arrays become dependentRequired, schemas
        dependentSchemas."""
        for kind in ("dependentRequired", "dependentSchemas"):
            self.origins.setdefault(_key_ptr(new_ptr, kind), at_old)
        for name, dep in value.items():
            kind = "dependentRequired" if isinstance(dep, list) else "dependentSchemas"
            at_new = _key_ptr(_key_ptr(new_ptr, kind), name)
            target = out.setdefault(kind, {})
            target[name] = (
                dep
                if kind == "dependentRequired"
                else self.node(dep, at_new, _key_ptr(at_old, name))
            )
            self.origins[at_new] = _key_ptr(at_old, name)


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

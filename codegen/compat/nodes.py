"""Schema nodes located in their document: ref resolution, conjunctions, type sets."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .jsonvalue import escape_pointer, json_type

T = TypeVar("T")
ALL_TYPES = frozenset({"null", "boolean", "object", "array", "string", "integer", "float"})
TYPE_ORDER = ("object", "string", "integer", "float", "boolean", "array", "null")

# Keywords that never change the instance set; they are ignored by every comparison.
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$vocabulary",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "$defs",
        "definitions",
    }
)


# Keywords whose value is a schema, a list of schemas or a name -> schema map: the places
# a schema (and so an anchor) can sit.
SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"}
)
SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
SCHEMA_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
    }
)


@dataclass(frozen=True, eq=False)
class Doc:
    """One whole schema document; ``role`` is "writer" or "reader" (unique per compare).

    ``anchors`` maps every ``$anchor``/``$dynamicAnchor`` name to its JSON pointer: the
    bundled document is one resource, so ``#name`` refs resolve inside it.
    """

    root: Any
    role: str
    #: Read as the generated models read it (runtime semantics): the generator ignores
    #: `not`, so `not: {not: X}` does not bring X's fields or required names into a model.
    models: bool = False
    _anchors: list[dict[str, str]] = field(default_factory=list, init=False, repr=False)
    #: canonical JSON of subschemas by pointer (``canonical``); the document never changes,
    #: so the two directions of a compare, and the gate's compares of one version, share it
    texts: dict[str, str] = field(default_factory=dict, repr=False)
    #: memo key parts of real nodes by pointer (``clean.py``; None: not memoisable)
    parts: dict[str, tuple[Any, ...] | None] = field(default_factory=dict, init=False, repr=False)
    #: resolved refs (``resolve_ref``); a failed resolution is not remembered
    refs: dict[str, Node] = field(default_factory=dict, init=False, repr=False)
    #: pure functions of the document, remembered (``derived``, ``walker._per_doc``):
    #: the schemas for a property name, a conjunction's emptiness and types, ...
    derived: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def anchors(self) -> dict[str, str]:
        if not self._anchors:  # built on the first anchor ref: most documents have none
            self._anchors.append(anchor_index(self.root))
        return self._anchors[0]


@dataclass(frozen=True)
class Node:
    """A schema located in its document.

    ``synth`` is empty for a schema that sits at ``ptr`` in the document; the engine also
    builds small schemas of its own (a type slice, a runtime view) anchored at a real
    pointer, and those carry their canonical JSON here. ``key`` is therefore a stable,
    content-based identity: caches are keyed by it, never by ``id()`` of a dict that may
    be freed and its address reused by another slice.
    """

    schema: Any
    ptr: str
    doc: Doc
    synth: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.doc.role, self.ptr, self.synth)

    def child(self, *tokens: str | int) -> Node:
        value = self.schema
        ptr = self.ptr
        for token in tokens:
            value = value[token]
            ptr += "/" + escape_pointer(str(token))
        return Node(value, ptr, self.doc, self.synth)

    def get(self, key: str, default: Any = None) -> Any:
        if isinstance(self.schema, dict):
            return self.schema.get(key, default)
        return default

    def has(self, key: str) -> bool:
        return isinstance(self.schema, dict) and key in self.schema

    def kw(self, key: str) -> str:
        """Pointer of keyword ``key`` inside this node (the node itself when absent)."""
        return self.ptr + "/" + escape_pointer(key) if self.has(key) else self.ptr


def derived(n: Node, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, a pure function of the schema at ``n`` in its document (and of
    ``key``, which names what is computed), remembered on the document; a synthetic
    node's content is not the document's, so it is computed each time."""
    if n.synth:
        return compute()
    full = ("node", n.ptr, *key)
    if full not in n.doc.derived:
        n.doc.derived[full] = compute()
    found: T = n.doc.derived[full]
    return found


def canonical_text(value: Any) -> str:
    """Canonical JSON (sorted keys, compact; 1, 1.0 and true stay distinct)."""
    if value is True or value is False:  # the engine's own slices, asked for very often
        return "true" if value else "false"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical(n: Node) -> str:
    """``canonical_text`` of ``n``'s schema, cached on its document by pointer for a node
    that sits there (a synthetic node's content is not the document's)."""
    if n.synth:
        return canonical_text(n.schema)
    found = n.doc.texts.get(n.ptr)
    if found is None:
        found = n.doc.texts[n.ptr] = canonical_text(n.schema)
    return found


def first_ptr(a: tuple[Node, ...], keyword: str) -> str:
    """Pointer of ``keyword`` in the first conjunct that has it, else of the first one."""
    return next((n.kw(keyword) for n in a if n.has(keyword)), a[0].ptr)


def synthetic(schema: Any, at: Node) -> Node:
    """A schema the engine made up, reported at ``at``'s location."""
    text = canonical_text(schema)
    return Node(schema, at.ptr, at.doc, (at.synth + "+" if at.synth else "") + text)


def anchor_index(root: Any) -> dict[str, str]:
    """``$anchor`` and ``$dynamicAnchor`` names -> pointers (first one wins)."""
    out: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, ptr = stack.pop()
        if not isinstance(node, dict):
            continue
        for key in ("$anchor", "$dynamicAnchor"):
            name = node.get(key)
            if isinstance(name, str):
                out.setdefault(name, ptr)
        for key, value in node.items():
            at = ptr + "/" + escape_pointer(key)
            if key in SCHEMA_ONE:
                stack.append((value, at))
            elif key in SCHEMA_LISTS and isinstance(value, list):
                stack.extend((v, f"{at}/{i}") for i, v in enumerate(value))
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                stack.extend((v, at + "/" + escape_pointer(k)) for k, v in value.items())
    return out


class UnresolvableRef(ValueError):
    pass


REF_KEYWORDS = ("$ref", "$dynamicRef")


def resolve_ref(doc: Doc, ref: Any) -> Node:
    """Resolve a ref inside the document: ``#``, ``#/json/pointer`` or ``#anchor``.

    The loader has bundled every file ref into ``$defs`` and refused anything else, and
    the document is a single resource, so a ``$dynamicRef`` resolves like a ``$ref``.
    """
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise UnresolvableRef(f"only refs inside the document are supported, got {ref!r}")
    found = doc.refs.get(ref)
    if found is None:
        found = doc.refs[ref] = _resolve(doc, ref)
    return found


def _resolve(doc: Doc, ref: str) -> Node:
    fragment = _unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        if fragment not in doc.anchors:
            raise UnresolvableRef(f"no $anchor named {fragment!r} for {ref!r}")
        fragment = doc.anchors[fragment]
    node = Node(doc.root, "", doc)
    if not fragment:
        return node
    for raw in fragment[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        value = node.schema
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            node = node.child(int(token))
        elif isinstance(value, dict) and token in value:
            node = node.child(token)
        else:
            raise UnresolvableRef(f"$ref {ref!r} points nowhere")
    return node


def ref_of(schema: Any) -> Any:
    """The ``$ref`` or ``$dynamicRef`` of a schema object (None when it has neither)."""
    if not isinstance(schema, dict):
        return None
    for key in REF_KEYWORDS:
        if key in schema:
            return schema[key]
    return None


def _unquote(token: str) -> str:
    if "%" not in token:
        return token
    from urllib.parse import unquote

    return unquote(token)


def flatten(nodes: tuple[Node, ...] | list[Node]) -> tuple[Node, ...]:
    """Expand ``$ref`` and ``allOf`` into a flat conjunction (siblings of $ref stay)."""
    if len(nodes) == 1:  # the common case, asked for on every property: nothing to expand
        s = nodes[0].schema
        if not isinstance(s, dict) or not (
            "$ref" in s or "$dynamicRef" in s or "allOf" in s or "not" in s
        ):
            return (nodes[0],)
    out: list[Node] = []
    seen: set[tuple[str, str, str]] = set()
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        key = node.key
        if key in seen:
            continue
        seen.add(key)
        out.append(node)
        if not isinstance(node.schema, dict):
            continue
        extra: list[Node] = []
        for ref_key in REF_KEYWORDS:
            if ref_key in node.schema:
                # writer side: ignoring an unresolvable ref only widens it; readers report it
                with contextlib.suppress(UnresolvableRef):
                    extra.append(resolve_ref(node.doc, node.schema[ref_key]))
        for i in range(len(node.schema.get("allOf", ()))):
            extra.append(node.child("allOf", i))
        inner = node.schema.get("not")
        if (
            not node.doc.models
            and isinstance(inner, dict)
            and "not" in inner
            and all(k in ANNOTATIONS or k == "not" for k in inner)
        ):
            extra.append(node.child("not", "not"))  # not(not X) is X
        stack.extend(reversed(extra))
    return tuple(out)


def schema_types(schema: Any) -> frozenset[str]:
    """Types a single schema object admits through ``type``, ``const`` and ``enum``."""
    if schema is False:
        return frozenset()
    if not isinstance(schema, dict):
        return ALL_TYPES
    result = ALL_TYPES
    declared = schema.get("type")
    if declared is not None:
        names = [declared] if isinstance(declared, str) else list(declared)
        allowed: set[str] = set()
        for name in names:
            if name == "number":
                allowed |= {"integer", "float"}
            else:
                allowed.add(name)
        result = result & frozenset(allowed)
    if "const" in schema:
        result = result & frozenset({json_type(schema["const"])})
    if isinstance(schema.get("enum"), list):
        result = result & frozenset(json_type(v) for v in schema["enum"])
    if "float" in result:
        step: Any = schema.get("multipleOf")
        if _is_num(step) and float(step).is_integer():  # multiples of an integer are integers
            result = result - {"float"}
    return result


def conj_types(conj: tuple[Node, ...]) -> frozenset[str]:
    result = ALL_TYPES
    for node in conj:
        result = result & schema_types(node.schema)
    return result


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_num(value: Any) -> bool:
    return _is_num(value)


def trivially_true(schema: Any, depth: int = 0) -> bool:
    """True for schemas that accept everything by construction: ``true``, annotations
    only, ``allOf`` of such, an ``anyOf`` with such a branch, ``not`` of an empty schema."""
    if schema is True:
        return True
    if not isinstance(schema, dict) or depth > 8:
        return False
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key == "allOf" and isinstance(value, list):
            if not all(trivially_true(v, depth + 1) for v in value):
                return False
        elif key == "anyOf" and isinstance(value, list):
            if not any(trivially_true(v, depth + 1) for v in value):
                return False
        elif key == "oneOf" and isinstance(value, list):
            if sorted(_truth(v, depth + 1) for v in value) != [0] * (len(value) - 1) + [1]:
                return False
        elif key == "not":
            if not trivially_false(value, depth + 1):
                return False
        else:
            return False
    return True


def trivially_false(schema: Any, depth: int = 0) -> bool:
    """True for schemas that accept nothing by construction (``false``, ``not: {}``, ...)."""
    if schema is False:
        return True
    if not isinstance(schema, dict) or depth > 8:
        return False
    if "not" in schema and trivially_true(schema["not"], depth + 1):
        return True
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and any(trivially_false(v, depth + 1) for v in all_of):
        return True
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and all(trivially_false(v, depth + 1) for v in options):
            return True
    return False


def _truth(schema: Any, depth: int) -> int:
    """1 when trivially true, 0 when trivially false, 2 when unknown."""
    if trivially_true(schema, depth):
        return 1
    return 0 if trivially_false(schema, depth) else 2


_STRING = frozenset({"string"})
_NUMBER = frozenset({"integer", "float"})
_ARRAY = frozenset({"array"})
_OBJECT = frozenset({"object"})
KEYWORD_TYPES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("minLength", "maxLength", "pattern"), _STRING),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _NUMBER
    ),
    **dict.fromkeys(
        (
            "items",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "minItems",
            "maxItems",
            "uniqueItems",
            "unevaluatedItems",
        ),
        _ARRAY,
    ),
    **dict.fromkeys(
        (
            "properties",
            "patternProperties",
            "additionalProperties",
            "required",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        ),
        _OBJECT,
    ),
}


def int_bounds(lo: tuple[float, bool] | None, hi: tuple[float, bool] | None) -> tuple[float, float]:
    """Inclusive integer bounds from real bounds (value, exclusive)."""
    low = -math.inf
    high = math.inf
    if lo is not None:
        low = math.floor(lo[0]) + 1 if lo[1] else math.ceil(lo[0])
    if hi is not None:
        high = math.ceil(hi[0]) - 1 if hi[1] else math.floor(hi[0])
    return float(low), float(high)

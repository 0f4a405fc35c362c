"""Reference keywords inside one document: where schemas sit, anchors, and pointer lookup.

Contracts may only refer inside their own bundled document (``#``, ``#/json/pointer`` or
``#anchor``); ``$ref`` may also name another file under schemas/, which the bundler
inlines. Nothing here reads a file or opens a connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from codegen.positions import escape

REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
ANCHOR_KEYWORDS = ("$anchor", "$dynamicAnchor")
# Keywords whose values are instances, not schemas: never walked as schemas.
VALUE_KEYWORDS = frozenset({"enum", "const", "examples", "default"})
_ONE = frozenset(
    {
        "items",
        "additionalItems",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "contentSchema",
    }
)
_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"})


def schemas(doc: Any, ptr: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in ``doc`` with its pointer (instance values skipped)."""
    stack: list[tuple[Any, str]] = [(doc, ptr)]
    while stack:
        node, at = stack.pop()
        if not isinstance(node, dict):
            continue
        yield at, node
        for key, value in node.items():
            if key in _ONE and isinstance(value, dict):
                stack.append((value, at + "/" + escape(key)))
            elif key in _LISTS and isinstance(value, list):
                child = at + "/" + escape(key)
                stack.extend((v, f"{child}/{i}") for i, v in enumerate(value))
            elif key in _MAPS and isinstance(value, dict):
                child = at + "/" + escape(key)
                stack.extend((v, child + "/" + escape(k)) for k, v in value.items())


def anchors(doc: Any) -> dict[str, str]:
    """``$anchor``/``$dynamicAnchor`` name -> pointer (the first one wins)."""
    out: dict[str, str] = {}
    for ptr, node in schemas(doc):
        for key in ANCHOR_KEYWORDS:
            name = node.get(key)
            if isinstance(name, str):
                out.setdefault(name, ptr)
    return out


MISSING = object()


def lookup(doc: Any, ptr: str) -> Any:
    """The value at JSON pointer ``ptr`` (MISSING when there is none)."""
    if ptr in ("", "/"):
        return doc
    if not ptr.startswith("/"):
        return MISSING
    node = doc
    for raw in ptr[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


def fragment_pointer(doc: Any, fragment: str) -> str | None:
    """A URI fragment (already unquoted) as a JSON pointer into ``doc``: pointers are
    checked, anchor names looked up; None when it resolves to nothing."""
    if fragment == "" or fragment.startswith("/"):
        return fragment if lookup(doc, fragment) is not MISSING else None
    return anchors(doc).get(fragment)


def local_fragment(ref: str) -> str | None:
    """The unquoted fragment of a ref inside the document ("#..."), else None."""
    if not ref.startswith("#"):
        return None
    return unquote(ref[1:])

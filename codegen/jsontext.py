"""Strict JSON for contracts: what Python's json module accepts but JSON does not.

``json.loads`` takes ``NaN``/``Infinity`` (a generated model then rejects the schema's
own example), keeps the last of two equal keys without a word, and returns strings with
lone surrogates (``"\\ud800"``) that no file can be written with. Each is a located
finding here instead: JSON_INVALID, JSON_DUPLICATE_KEY; and nesting deeper than the
later stages can recurse into is JSON_TOO_DEEP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from codegen.positions import JsonLines, escape

# Deep enough for any real contract (a schema level is two JSON levels), shallow enough
# for every later stage (metaschema validation, the model generator, the gate) to recurse.
MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile(r"\\u[dD][89a-fA-F]")


class JsonProblem(ValueError):
    def __init__(self, line: int, message: str, rule: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.rule = rule


class _Constant(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _constant(name: str) -> Any:
    raise _Constant(name)


def parse(text: str) -> Any:
    """``json.loads`` that refuses what JSON does not allow (see the module docstring).
    Raises json.JSONDecodeError for syntax errors and JsonProblem for the rest."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=_constant)
    except _Constant as exc:
        raise JsonProblem(
            _line_of_bare(text, exc.name),
            f"{exc.name} is not a JSON number; write a finite number (or leave the keyword out).",
            "JSON_INVALID",
        ) from None
    except RecursionError:
        raise JsonProblem(1, _too_deep(), "JSON_TOO_DEEP") from None
    # cheap pre-checks keep the common case fast: depth needs that many brackets, and a
    # lone surrogate can only come from a \uD8xx-\uDFxx escape (raw ones are not UTF-8)
    brackets = text.count("{") + text.count("[")
    deep = _first_too_deep(doc) if brackets > MAX_DEPTH else None
    if deep is not None:
        raise JsonProblem(JsonLines(text).line_of(deep), _too_deep(), "JSON_TOO_DEEP")
    if duplicates:
        line, key = _first_duplicate(text)
        raise JsonProblem(
            line,
            f'The key "{key}" appears twice in one object; JSON readers keep only one of '
            "them. Remove the duplicate.",
            "JSON_DUPLICATE_KEY",
        )
    bad = _first_surrogate(doc) if "\\u" in text and _ESCAPED.search(text) else None
    if bad is not None:
        ptr, where = bad
        raise JsonProblem(
            JsonLines(text).line_of(ptr),
            f"A {where} holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not "
            "text; remove the escape.",
            "JSON_INVALID",
        )
    return doc


def _too_deep() -> str:
    return (
        f"The document nests deeper than {MAX_DEPTH} levels; move inner shapes to $defs "
        "and refer to them with $ref."
    )


def _first_too_deep(doc: Any) -> str | None:
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        node, ptr, depth = stack.pop()
        if depth > MAX_DEPTH:
            return ptr
        if isinstance(node, dict):
            stack.extend((v, ptr + "/" + escape(k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{ptr}/{i}", depth + 1) for i, v in enumerate(node))
    return None


def _first_surrogate(doc: Any) -> tuple[str, str] | None:
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, ptr = stack.pop()
        if isinstance(node, str) and _SURROGATE.search(node):
            return ptr, "string"
        if isinstance(node, dict):
            for key, value in node.items():
                if _SURROGATE.search(key):
                    return ptr + "/" + escape(key), "key"
                stack.append((value, ptr + "/" + escape(key)))
        elif isinstance(node, list):
            stack.extend((v, f"{ptr}/{i}") for i, v in enumerate(node))
    return None


def _tokens(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, kind, value) for strings and bare words outside strings, in order."""
    line, pos, n = 1, 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\n":
            line += 1
        if ch == '"':
            end = pos + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            raw = text[pos : end + 1]
            yield line, "string", raw
            line += raw.count("\n")
            pos = end + 1
            continue
        if ch.isalpha() or ch == "-":
            end = pos
            while end < n and (text[end].isalnum() or text[end] == "-"):
                end += 1
            yield line, "word", text[pos:end]
            pos = end
            continue
        if ch in "{}[]:,":
            yield line, ch, ch
        pos += 1


def _line_of_bare(text: str, name: str) -> int:
    for line, kind, value in _tokens(text):
        if kind == "word" and value.lstrip("-") == name.lstrip("-"):
            return line
    return 1


def _first_duplicate(text: str) -> tuple[int, str]:
    """(line, key) of the first key that repeats within one object."""
    stack: list[set[str] | None] = []  # a set per open object, None per open array
    expect_key = False
    for line, kind, value in _tokens(text):
        if kind == "{":
            stack.append(set())
            expect_key = True
        elif kind == "[":
            stack.append(None)
            expect_key = False
        elif kind in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
        elif kind == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif kind == "string" and expect_key:
            keys = stack[-1]
            try:
                key = str(json.loads(value))
            except ValueError:
                key = value.strip('"')
            if keys is not None:
                if key in keys:
                    return line, key
                keys.add(key)
            expect_key = False
    return 1, "?"

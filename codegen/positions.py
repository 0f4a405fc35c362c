"""JSON pointer -> line number maps for JSON and YAML documents.

Values are parsed by the stdlib (fast, exact); positions are recovered by a small scanner
only when a finding needs a line, so the common no-findings path pays nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import yaml


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape(str(t)) for t in tokens)


class JsonLines:
    """Maps JSON pointers to 1-based line numbers in a JSON text, computed lazily."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._map: dict[str, int] | None = None

    def line_of(self, ptr: str) -> int:
        if self._map is None:
            self._map = _scan_json(self._text)
        # Fall back to the nearest enclosing location the scanner knows.
        while ptr and ptr not in self._map:
            ptr = ptr.rsplit("/", 1)[0]
        return self._map.get(ptr, 1)


def _scan_json(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    pos = 0
    line = 1
    n = len(text)

    def skip_ws() -> None:
        nonlocal pos, line
        while pos < n and text[pos] in " \t\r\n":
            if text[pos] == "\n":
                line += 1
            pos += 1

    def read_string() -> str:
        nonlocal pos
        start = pos
        pos += 1
        while pos < n and text[pos] != '"':
            pos += 2 if text[pos] == "\\" else 1
        pos += 1
        try:
            value = json.loads(text[start:pos])
        except ValueError:
            return text[start + 1 : pos - 1]
        return str(value)

    def value(ptr: str) -> None:
        nonlocal pos
        skip_ws()
        lines.setdefault(ptr, line)
        if pos >= n:
            return
        ch = text[pos]
        if ch == "{":
            pos += 1
            while True:
                skip_ws()
                if pos >= n or text[pos] == "}":
                    pos += 1
                    return
                if text[pos] == ",":
                    pos += 1
                    continue
                key_line = line
                key = read_string()
                child = ptr + "/" + escape(key)
                lines.setdefault(child, key_line)
                skip_ws()
                pos += 1  # the colon
                value(child)
        elif ch == "[":
            pos += 1
            index = 0
            while True:
                skip_ws()
                if pos >= n or text[pos] == "]":
                    pos += 1
                    return
                if text[pos] == ",":
                    pos += 1
                    continue
                value(f"{ptr}/{index}")
                index += 1
        elif ch == '"':
            read_string()
        else:
            while pos < n and text[pos] not in ",]} \t\r\n":
                pos += 1

    value("")
    return lines


def yaml_lines(node: yaml.Node) -> dict[str, int]:
    """Pointer -> line for a composed YAML node tree (keys point at the key's line)."""
    out: dict[str, int] = {}

    def walk(n: yaml.Node, ptr: str) -> None:
        out.setdefault(ptr, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                child = ptr + "/" + escape(str(k.value))
                out.setdefault(child, k.start_mark.line + 1)
                walk(v, child)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, f"{ptr}/{i}")

    walk(node, "")
    return out


LineOf = Callable[[str], int]

"""JSON pointer -> line number maps for JSON and YAML documents.

Values are parsed by the stdlib (fast, exact); positions are recovered by a small scanner
only when a finding needs a line, so the common no-findings path pays nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

    @property
    def text(self) -> str:
        return self._text

    def line_of(self, ptr: str) -> int:
        if self._map is None:
            self._map = _scan_json(self._text)
        # Fall back to the nearest enclosing location the scanner knows.
        while ptr and ptr not in self._map:
            ptr = ptr.rsplit("/", 1)[0]
        return self._map.get(ptr, 1)


def _scan_json(text: str) -> dict[str, int]:
    scanner = _JsonScanner(text)
    scanner.value("")
    return scanner.lines


class _JsonScanner:
    """Walks a JSON text once, noting the line where each pointer's value (or key)
    starts. Tolerant: it never raises, whatever the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.line = 1
        self.lines: dict[str, int] = {}

    def skip_ws(self) -> None:
        text, n = self.text, self.n
        while self.pos < n and text[self.pos] in " \t\r\n":
            if text[self.pos] == "\n":
                self.line += 1
            self.pos += 1

    def read_string(self) -> str:
        text = self.text
        start = self.pos
        self.pos += 1
        while self.pos < self.n and text[self.pos] != '"':
            self.pos += 2 if text[self.pos] == "\\" else 1
        self.pos += 1
        try:
            value = json.loads(text[start : self.pos])
        except ValueError:
            return text[start + 1 : self.pos - 1]
        return str(value)

    def value(self, ptr: str) -> None:
        self.skip_ws()
        self.lines.setdefault(ptr, self.line)
        if self.pos >= self.n:
            return
        ch = self.text[self.pos]
        if ch == "{":
            self._object(ptr)
        elif ch == "[":
            self._array(ptr)
        elif ch == '"':
            self.read_string()
        else:
            while self.pos < self.n and self.text[self.pos] not in ",]} \t\r\n":
                self.pos += 1

    def _members(self, close: str) -> bool:
        """Before the next member of an object or array: False at its end (consumed)."""
        while True:
            self.skip_ws()
            if self.pos >= self.n or self.text[self.pos] == close:
                self.pos += 1
                return False
            if self.text[self.pos] != ",":
                return True
            self.pos += 1

    def _object(self, ptr: str) -> None:
        self.pos += 1
        while self._members("}"):
            key_line = self.line
            child = ptr + "/" + escape(self.read_string())
            self.lines.setdefault(child, key_line)
            self.skip_ws()
            self.pos += 1  # the colon
            self.value(child)

    def _array(self, ptr: str) -> None:
        self.pos += 1
        index = 0
        while self._members("]"):
            self.value(f"{ptr}/{index}")
            index += 1


def yaml_lines(node: yaml.Node) -> dict[str, int]:
    """Pointer -> line for a composed YAML node tree (keys point at the key's line)."""
    import yaml

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

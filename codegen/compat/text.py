"""Message helpers: where in the instance a finding is, and type names for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checker import Path


def type_label(types: frozenset[str] | set[str]) -> str:
    names = set(types)
    if {"integer", "float"} <= names:
        names -= {"integer", "float"}
        names.add("number")
    elif "float" in names:
        names.remove("float")
        names.add("non-integer number")
    return ", ".join(sorted(names)) or "nothing"


def where(path: Path) -> str:
    text = ""
    for kind, key, _ in path:
        if kind == "prop":
            text += ("." if text else "") + (str(key) if key is not None else "<other>")
        else:
            text += f"[{key}]" if isinstance(key, int) else "[]"
    return f'property "{text}"' if text else "the document root"

"""REF_CYCLE: a reference that leads back to where it started without descending into
the instance.

``{"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}}`` is valid JSON Schema, but any
validator that follows it loops (the 2020-12 spec calls the behaviour undefined), and
the model generator stopped with a traceback ("Generated model inheritance cycle").
Recursion is fine when it goes through a keyword that moves to a part of the instance
(``properties``, ``items``, ...): each step then looks at a smaller value. A cycle made
only of keywords that apply to the *same* value (``$ref``, ``allOf``, ``anyOf``,
``oneOf``, ``not``, ``if``/``then``/``else``, ``dependentSchemas``) never ends, so it
is reported at the reference that closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codegen.errors import Finding
from codegen.positions import escape
from codegen.refs import REF_KEYWORDS, anchors, local_fragment, lookup, schemas

# Keywords whose subschemas apply to the same instance as the schema they sit in.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAPS = ("dependentSchemas",)


def _target(doc: Any, named: dict[str, str], ref: Any) -> str | None:
    fragment = local_fragment(ref) if isinstance(ref, str) else None
    if fragment is None:
        return None
    target = fragment if fragment == "" or fragment.startswith("/") else named.get(fragment)
    return target if target is not None and isinstance(lookup(doc, target), dict) else None


def _edges(
    doc: Any, named: dict[str, str], ptr: str, node: dict[str, Any]
) -> list[tuple[str, str]]:
    """(target pointer, pointer of the keyword that leads there) for every in-place step."""
    out: list[tuple[str, str]] = []
    for key in REF_KEYWORDS:
        target = _target(doc, named, node.get(key))
        if target is not None:
            out.append((target, f"{ptr}/{escape(key)}"))
    for key in _IN_PLACE_ONE:
        if isinstance(node.get(key), dict):
            out.append((f"{ptr}/{key}", f"{ptr}/{key}"))
    for key in _IN_PLACE_LISTS:
        value = node.get(key)
        for i, sub in enumerate(value if isinstance(value, list) else []):
            if isinstance(sub, dict):
                out.append((f"{ptr}/{key}/{i}", f"{ptr}/{key}/{i}"))
    for key in _IN_PLACE_MAPS:
        value = node.get(key)
        for name, sub in (value if isinstance(value, dict) else {}).items():
            if isinstance(sub, dict):
                at = f"{ptr}/{key}/{escape(name)}"
                out.append((at, at))
    return out


def ref_cycles(doc: Any) -> list[tuple[str, list[str]]]:
    """(pointer of the ref that closes a cycle, the schemas on the cycle) for each cycle
    of in-place steps, found by a depth-first walk (iterative: documents may be deep)."""
    named = anchors(doc)
    graph = {ptr: _edges(doc, named, ptr, node) for ptr, node in schemas(doc)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[tuple[str, list[str]]] = []
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            ptr, i = stack[-1]
            edges = graph.get(ptr, [])
            if i == len(edges):
                stack.pop()
                path.pop()
                state[ptr] = 2
                continue
            stack[-1] = (ptr, i + 1)
            target, via = edges[i]
            if state.get(target) == 1:
                found.append((via, path[path.index(target) :]))
            elif not state.get(target) and target in graph:
                state[target] = 1
                path.append(target)
                stack.append((target, 0))
    return found


def lint_ref_cycles(doc: Any, locate: Callable[[str], tuple[str, int]]) -> list[Finding]:
    out = []
    for via, cycle in ref_cycles(doc):
        shown = " -> ".join(p or "#" for p in [*cycle, cycle[0]])
        out.append(
            Finding(
                *locate(via),
                f"This reference loops back without descending into the value ({shown}): "
                "every validator would recurse forever on it and no model can be generated. "
                "Make the recursive reference go through properties, items or another "
                "keyword that moves into the value.",
                "REF_CYCLE",
            )
        )
    return out

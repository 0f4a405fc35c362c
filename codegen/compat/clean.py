"""Sub-pairs already proved clean, remembered across compares by their content.

The gate judges many pairs of versions of one type, and most of their sub-pairs are the
same schemas again (an unchanged property, the same array of line items). A sub-pair
whose walk reported nothing is remembered here and not walked again, in any compare of
this process. Only what cannot depend on anything outside the two subschemas counts:

* a reference keyword reads the rest of its document, so a sub-pair with refs counts
  only with what they reach: every ``$ref``/``$dynamicRef`` string in it, and in what
  those reach, transitively, with its target's position and content (the document is one
  resource, so that is all a ref can read). ``$recursiveRef``, or a ref that does not
  resolve, keeps the sub-pair out;
* no synthetic node as an input (those carry engine-made content);
* no coinductive assumption used during the walk (``Walker.cuts`` unchanged): a
  recursive pair assumed to hold is only proved together with its enclosing pair;
* the key holds everything else the walk reads: direction, semantics, the runtime
  "unmodelled writer" state, each node's role and the parts of its pointer the rules
  look at (root or not; an ``allOf``/``anyOf``/``oneOf`` parent or own token; a
  ``$defs`` entry of the document).

Only "nothing to report" is remembered: a sub-pair with findings is walked again, so
every finding keeps its own pointers and witness. Content is canonical JSON, never
``id()`` of a schema object.
"""

from __future__ import annotations

from typing import Any

from .nodes import Node, UnresolvableRef, canonical, resolve_ref

_REFS = ('"$ref"', '"$dynamicRef"')
_REF_KEYS = ("$ref", "$dynamicRef")
_COMBINATORS = frozenset({"allOf", "anyOf", "oneOf"})
_DEFS = frozenset({"$defs", "definitions"})
_CLEAN: set[tuple[Any, ...]] = set()
_SIZE = 100_000  # entries before the set starts over (a few hundred bytes each)


def _position(ptr: str) -> tuple[bool, str, str]:
    *above, parent, own = ["", "", *ptr.rsplit("/", 2)]
    if parent in _DEFS and above[-1] == "":
        parent = "def"  # a document's own $defs entry: a named class (walker._position)
    return (
        ptr == "",
        parent if parent in _COMBINATORS or parent == "def" else "",
        own if own in _COMBINATORS else "",
    )


def _part(n: Node) -> tuple[Any, ...] | None:
    if n.synth:
        return None
    parts = n.doc.parts
    if n.ptr in parts:
        return parts[n.ptr]
    text = canonical(n)
    part = None
    if '"$recursiveRef"' not in text:
        reach = _reach(n) if any(r in text for r in _REFS) else ()
        if reach is not None:
            part = (n.doc.role, n.doc.models, _position(n.ptr), text, reach)
    parts[n.ptr] = part
    return part


def _reach(n: Node) -> tuple[tuple[str, tuple[bool, str, str], str], ...] | None:
    """Every ref string under ``n`` and under what it reaches, transitively, with its
    target's position and canonical JSON; None when one does not resolve. (A "$ref" key
    inside an instance value counts too: a key that says more than needed is still sound.)"""
    found: dict[str, tuple[tuple[bool, str, str], str]] = {}
    stack = [n]
    while stack:
        node = stack.pop()
        for ref in _refs_under(node.schema):
            if ref in found:
                continue
            if not isinstance(ref, str):
                return None
            try:
                target = resolve_ref(n.doc, ref)
            except UnresolvableRef:
                return None
            text = canonical(target)
            if '"$recursiveRef"' in text:
                return None
            found[ref] = (_position(target.ptr), text)
            stack.append(target)
    return tuple((ref, *found[ref]) for ref in sorted(found))


def _refs_under(value: Any) -> list[Any]:
    out: list[Any] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out += [v[k] for k in _REF_KEYS if k in v]
            stack += v.values()
        elif isinstance(v, list):
            stack += v
    return out


def key(
    a: tuple[Node, ...], b: Node, *, backward: bool, runtime: bool, unmodelled: bool
) -> tuple[Any, ...] | None:
    """The memo key of a sub-pair, or None when it may depend on more than its content."""
    parts = []
    for n in (*a, b):
        part = _part(n)
        if part is None:
            return None
        parts.append(part)
    return (backward, runtime, unmodelled, tuple(parts))


def known(k: tuple[Any, ...]) -> bool:
    return k in _CLEAN


def known_pair(
    a: tuple[Node, ...], b: Node, *, backward: bool, runtime: bool, unmodelled: bool
) -> bool:
    """``known(key(a, b, ...))``, with the one-writer-node case (a property of the same
    shape on both sides, asked for every property of every compare) spelled out."""
    if len(a) != 1:
        k = key(a, b, backward=backward, runtime=runtime, unmodelled=unmodelled)
        return k is not None and k in _CLEAN
    pa = _part(a[0])
    if pa is None:
        return False
    pb = _part(b)
    return pb is not None and (backward, runtime, unmodelled, (pa, pb)) in _CLEAN


def remember(k: tuple[Any, ...]) -> None:
    if len(_CLEAN) >= _SIZE:
        _CLEAN.clear()
    _CLEAN.add(k)


def forget() -> None:
    """Drop every remembered sub-pair (tests judge with an empty memo)."""
    _CLEAN.clear()


def size() -> int:
    return len(_CLEAN)

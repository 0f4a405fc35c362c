"""Whole-document witnesses: embed a sub-instance into a valid writer document and keep it
only when jsonschema confirms it is valid for the writer and invalid for the reader."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from codegen.validation import outcome

from .nodes import Node
from .sample import first_sample, item_conj, sample_candidates

if TYPE_CHECKING:
    from .checker import Checker, Issue, Path

_MISSING = object()
MAX_TRIES = 6


def _bases(ch: Checker) -> list[Any]:
    if ch.witness_bases is None:
        ch.witness_bases = _compute_bases(ch)
    return ch.witness_bases


def _compute_bases(ch: Checker) -> list[Any]:
    root = ch.writer.root
    valid = ch.validator(ch.writer)
    out = []
    if isinstance(root, dict):
        for example in root.get("examples", []) or []:
            if valid.is_valid(example):
                out.append(example)
                break
    out += sample_candidates((Node(root, "", ch.writer),))[:2]
    return out


def _embed(base: Any, path: Path, leaf: Any, container: tuple[Node, ...] = ()) -> Any:
    """``base`` with ``leaf`` put at ``path``; ``container`` is the writer conjunction of
    ``base`` itself (missing array positions before the target are sampled from it)."""
    if not path:
        return leaf
    (kind, key, conj), rest = path[0], path[1:]
    if kind == "prop":
        if not isinstance(base, dict) or key is None:
            return _MISSING
        current = base[key] if key in base else first_sample(conj)
        inner = _embed(current, rest, leaf, conj)
        if inner is _MISSING:
            return _MISSING
        result = dict(base)
        result[key] = inner
        return result
    if not isinstance(base, list) or not isinstance(key, int):
        return _MISSING
    items = list(base)
    while len(items) <= key:
        index = len(items)
        items.append(first_sample(item_conj(container, index) if container else conj))
    inner = _embed(items[key], rest, leaf, conj)
    if inner is _MISSING:
        return _MISSING
    items[key] = inner
    return items


def build(ch: Checker, issue: Issue) -> tuple[bool, Any]:
    """(True, document) for a verified witness, else (False, None)."""
    candidates = issue.candidates
    if candidates is None:
        return False, None
    # A witness is best effort: a failing heuristic never hides a finding.
    found = outcome(lambda: (candidates()[:MAX_TRIES], _bases(ch)), None)
    if found is None:
        return False, None
    leaves, bases = found
    writer = ch.validator(ch.writer)
    reader = ch.validator(ch.reader)
    for leaf in leaves:
        for base in bases[:3]:
            doc = _embed(
                copy.deepcopy(base), issue.path, leaf, (Node(ch.writer.root, "", ch.writer),)
            )
            if doc is _MISSING:
                continue
            if outcome(lambda: writer.is_valid(doc) and not reader.is_valid(doc), False):  # noqa: B023
                return True, doc
    return False, None

"""compare(): both pairwise verdicts of an old/new schema pair."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import witness
from .equality import Equality, same_model
from .jsonvalue import json_equal
from .model import Direction, Finding, PairReport, Semantics
from .nodes import Doc, Node, canonical_text
from .walker import Walker

# Canonical JSON of subschemas, shared by every compare of the same document (the gate
# compares each version with up to all others), keyed by the document's own content.
_TEXTS: dict[str, dict[str, str]] = {}
_TEXTS_SIZE = 4096  # documents (a version is up to four: two roles, two views)


def _content(doc: Any, memo: bool, ident: str | None) -> tuple[str, dict[str, str]]:
    """A key for the document's content, and its shared canonical texts. ``ident`` is the
    caller's name for that content (the gate's fingerprint of a version), which spares
    serialising the whole document on every compare."""
    if not memo:
        return "", {}
    if ident is not None:
        key, texts = "fingerprint:" + ident, {}  # (JSON text never starts like that)
    else:
        key = canonical_text(doc)
        texts = {"": key}
    found = _TEXTS.get(key)
    if found is None:
        if len(_TEXTS) >= _TEXTS_SIZE:
            _TEXTS.clear()
        found = _TEXTS[key] = texts
    return key, found


# Whole documents by content, role and model view: what the walk derives from a document
# (memo key parts, resolved refs, property slots) is then derived once per run, not once
# per compare.
_DOCS: dict[tuple[str, str, bool], Doc] = {}


def _doc(root: Any, role: str, content: tuple[str, dict[str, str]], *, models: bool) -> Doc:
    key, texts = content
    if not key:  # memo off
        return Doc(root, role, models=models, texts=texts)
    found = _DOCS.get((key, role, models))
    if found is None:
        if len(_DOCS) >= _TEXTS_SIZE:
            _DOCS.clear()
        found = _DOCS[(key, role, models)] = Doc(root, role, models=models, texts=texts)
    return found


def _direction(
    writer: Any,
    reader: Any,
    contents: tuple[tuple[str, dict[str, str]], tuple[str, dict[str, str]]],
    *,
    backward: bool,
    runtime: bool,
    memo: bool,
) -> list[Finding]:
    docs = (
        _doc(writer, "writer", contents[0], models=runtime),
        _doc(reader, "reader", contents[1], models=runtime),
    )
    ch = Walker(*docs, backward=backward, runtime=runtime, memo=memo)
    ch.check((Node(ch.writer.root, "", ch.writer),), Node(ch.reader.root, "", ch.reader), ())
    direction: Direction = "backward" if backward else "forward"
    findings = []
    for issue in ch.issues:
        old_ptr, new_ptr = (issue.a_ptr, issue.b_ptr) if backward else (issue.b_ptr, issue.a_ptr)
        has, value = witness.build(ch, issue)
        findings.append(
            Finding(issue.rule.id, direction, old_ptr, new_ptr, issue.message, value, has)
        )
    return findings


def compare(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    *,
    semantics: Semantics = "runtime",
    memo: bool = True,
    ids: tuple[str, str] | None = None,
) -> PairReport:
    """Compare two self-contained JSON Schema 2020-12 documents.

    ``backward``: every instance the old writer can produce is read by the new reader;
    ``forward``: every instance the new writer can produce is read by the old reader.
    Under ``runtime`` semantics writers and readers are the generated pydantic models.
    ``memo=False`` turns every internal cache off (tests compare both: no cache may
    change a verdict). ``ids`` names the content of ``old`` and ``new`` (fingerprints of
    their canonical JSON: equal ids must mean equal documents).
    """
    old_doc: Any = old if isinstance(old, bool) else dict(old)
    new_doc: Any = new if isinstance(new, bool) else dict(new)
    runtime = semantics == "runtime"
    old_content = _content(old_doc, memo, ids[0] if ids else None)
    new_content = _content(new_doc, memo, ids[1] if ids else None)
    old_root = Node(old_doc, "", _doc(old_doc, "w", old_content, models=False))
    new_root = Node(new_doc, "", _doc(new_doc, "r", new_content, models=False))
    # Equal documents are compatible. At runtime "equal" means the generator sees the same
    # schema: equivalent but differently written schemas may generate different models.
    if json_equal(old_doc, new_doc) or (
        same_model(old_root, new_root) if runtime else Equality().nodes(old_root, new_root)
    ):
        return PairReport(True, True, ())
    back = _direction(
        old_doc, new_doc, (old_content, new_content), backward=True, runtime=runtime, memo=memo
    )
    fwd = _direction(
        new_doc, old_doc, (new_content, old_content), backward=False, runtime=runtime, memo=memo
    )
    # One finding per rule and location: a shared $defs entry reached along several
    # instance paths is one problem in the schema, reported once (with a witness if any).
    findings: dict[tuple[str, str, str, str], Finding] = {}
    for f in sorted([*back, *fwd]):
        key = (f.rule, f.direction, f.old_pointer, f.new_pointer)
        kept = findings.get(key)
        if kept is None or (f.has_witness and not kept.has_witness):
            findings[key] = f
    ordered = tuple(sorted(findings.values()))
    return PairReport(backward=not back, forward=not fwd, findings=ordered)

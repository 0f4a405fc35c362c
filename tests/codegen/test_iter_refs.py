"""`shapes.iter_refs` finds exactly the ref strings `shapes.map_refs` rewrites, in order,
without copying the schema (it replaced a copy made only to collect them)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from codegen.shapes import INSTANCE_KEYWORDS, MAP_KEYWORDS, iter_refs, map_refs

# Keys that matter to the walk, and a few that do not.
KEYS = st.sampled_from(
    ["$ref", "items", "x", *sorted(INSTANCE_KEYWORDS), *sorted(MAP_KEYWORDS), "allOf"]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_iter_refs_is_what_map_refs_rewrites(doc: Any) -> None:
    seen: list[str] = []

    def record(ref: str) -> str:
        seen.append(ref)
        return ref

    assert map_refs(doc, record) == doc
    assert list(iter_refs(doc)) == seen


def test_refs_in_instances_and_property_names_are_not_refs() -> None:
    doc = {
        "properties": {"$ref": {"$ref": "#/a"}},
        "enum": [{"$ref": "#/no"}],
        "items": {"$ref": "#/b"},
    }
    assert list(iter_refs(doc)) == ["#/a", "#/b"]

"""`codegen gen` writes an AsyncAPI 3.1 document (validated against the official JSON Schema
of AsyncAPI 3.1.0 here, and by the official parser in test_asyncapi_parser.py) and a Markdown
event catalog under generated/docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import validators

from tests.codegen.golden import copy_input, run_codegen

DATA = Path(__file__).resolve().parent.parent / "data"
REPO = Path(__file__).resolve().parents[2]


def _validator() -> object:
    schema = json.loads((DATA / "asyncapi-3.1.0.schema.json").read_text())
    return validators.validator_for(schema)(schema)


def _errors(doc: object) -> list[str]:
    v = _validator()
    return [e.message for e in v.iter_errors(doc)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["basic", "hostile", "shared_shapes", "asyncapi_keywords"])
def test_asyncapi_document_is_valid(case: str, tmp_path: Path) -> None:
    work = copy_input(case, tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    doc = json.loads((work / "generated" / "docs" / "asyncapi.json").read_text())
    assert _errors(doc) == []
    assert doc["asyncapi"] == "3.1.0"


def test_repository_asyncapi_is_valid_and_complete() -> None:
    doc = json.loads((REPO / "generated" / "docs" / "asyncapi.json").read_text())
    assert _errors(doc) == []
    messages = doc["components"]["messages"]
    assert {"OrderCreatedV1", "OrderCreatedV2", "InventoryReserveRequestV1"} <= set(messages)
    ops = doc["operations"]
    assert ops["payment.receive.order.created"]["action"] == "receive"
    assert ops["order.send.order.created"]["action"] == "send"
    assert "reply" in ops["inventory.receive.inventory.reserve"]
    assert doc["channels"]["stream.orders"]["address"] == "orders"


def test_asyncapi_validator_rejects_a_broken_document() -> None:
    # Guard against a validator that accepts anything (e.g. a schema that failed to load).
    assert _errors(
        {"asyncapi": "3.1.0", "info": {"title": "x"}, "operations": {"o": {"action": "yell"}}}
    )


def test_markdown_catalog(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    docs = work / "generated" / "docs"
    index = (docs / "README.md").read_text()
    assert "[shop.order.placed](events/shop.order.placed.md)" in index
    page = (docs / "events" / "shop.order.placed.md").read_text()
    assert "| `order_id` | string | yes |" in page
    assert "- consumers: shop (v1)" in page
    assert '"order_id": "o-1"' in page


def test_markdown_escapes_hostile_text(tmp_path: Path) -> None:
    work = copy_input("hostile", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    page = (work / "generated" / "docs" / "events" / "evil.thing.md").read_text()
    for line in page.splitlines():
        if line.startswith("| `"):
            # Every field row keeps exactly four cells: no description can break the table.
            assert line.count(" | ") - line.count("\\|") >= 3
    assert "<" not in page.replace("<!--", "").replace("-->", "")


def test_docs_command_writes_the_same_files(tmp_path: Path) -> None:
    work = copy_input("basic", tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    out = tmp_path / "docs"
    assert run_codegen(work, "docs", "--out", str(out))[0] == 0
    generated = work / "generated" / "docs"
    for path in generated.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(generated)).read_text() == path.read_text()

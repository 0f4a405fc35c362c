"""generated/docs/asyncapi.json loads in AsyncAPI's own tools: the official @asyncapi/parser
(what AsyncAPI Studio, the generator and Modelina use) returns a document with 0 errors, and
that document has every channel, operation and message the catalog implies.

The parser is installed by tests/asyncapi/parser.py into .cache/ on first use (npm ci from a
committed lock file); nothing here is skipped when node or npm is missing, the test fails
and says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.build import build_project
from codegen.ir import Project
from tests.asyncapi import parser
from tests.codegen.golden import copy_input, run_codegen

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def installed() -> Path:
    return parser.install()


def _expected(project: Project) -> dict[str, set[str]]:
    """Channels, operations and messages derived from the catalog, independently of the
    renderer: a stream and a NATS subject per durable type, a subject per real-time type, a
    request and a reply channel per operation; one operation per service and use."""
    channels: set[str] = set()
    for t in project.types:
        if t.config.delivery == "durable":
            channels.add(f"stream.{t.config.stream}")
        if t.config.delivery in ("durable", "realtime"):
            channels.add(f"nats.{t.config.subject}")
    for op in project.operations:
        channels |= {f"rpc.{op.name}", f"rpc.{op.name}.reply"}
    operations: set[str] = set()
    for s in project.services:
        operations |= {f"{s.name}.send.{t}" for t, _ in s.produces}
        operations |= {f"{s.name}.receive.{t}" for t, _ in s.consumes}
        operations |= {f"{s.name}.receive.{op}" for op in s.serves}
        operations |= {f"{s.name}.send.{op}" for op in s.calls}
    messages = {v.class_name for t in project.types for v in t.versions}
    return {"channels": channels, "operations": operations, "messages": messages}


def _parsed(result: dict[str, Any]) -> dict[str, set[str]]:
    document = result["document"]
    assert document is not None, parser.errors(result)
    return {k: set(document[k]) for k in ("channels", "operations", "messages")}


def test_repository_document_parses_with_no_errors_and_is_complete(installed: Path) -> None:
    result = parser.parse(REPO / "generated" / "docs" / "asyncapi.json", installed)
    assert parser.errors(result) == []
    # Not even a warning or a hint (the pinned parser recommends 3.1.0, which we emit).
    assert result["diagnostics"] == []
    project, findings = build_project(REPO)
    assert findings == []
    assert _parsed(result) == _expected(project)
    document = result["document"]
    assert document["version"] == "3.1.0"
    # Shared shapes are components of their own, next to one schema per payload.
    assert {"Money", "LineItem"} <= set(document["schemas"])
    assert _expected(project)["messages"] <= set(document["schemas"])


@pytest.mark.parametrize("case", ["basic", "hostile", "shared_shapes", "asyncapi_keywords"])
def test_golden_documents_parse_with_no_errors(case: str, installed: Path, tmp_path: Path) -> None:
    work = copy_input(case, tmp_path / "repo")
    assert run_codegen(work, "gen")[0] == 0
    path = work / "generated" / "docs" / "asyncapi.json"
    result = parser.parse(path, installed)
    assert parser.errors(result) == []
    doc = json.loads(path.read_text())
    parsed = _parsed(result)
    assert parsed["channels"] == set(doc["channels"])
    assert parsed["operations"] == set(doc["operations"])
    assert parsed["messages"] == set(doc["components"]["messages"])
    project, _ = build_project(work)
    assert parsed["messages"] == _expected(project)["messages"]


def test_the_parser_check_catches_payload_refs_it_cannot_resolve(
    installed: Path, tmp_path: Path
) -> None:
    """The document as it was before shared shapes were hoisted: 2020-12 payloads with
    `#/$defs/...` refs. The parser refuses it; this check must see that."""
    doc = json.loads((REPO / "generated" / "docs" / "asyncapi.json").read_text())
    project, _ = build_project(REPO)
    for t in project.types:
        for v in t.versions:
            doc["components"]["messages"][v.class_name]["payload"] = {
                "schemaFormat": "application/schema+json;version=draft-07",
                "schema": v.bundled,
            }
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc))
    result = parser.parse(path, installed)
    found = parser.errors(result)
    assert any("'#/$defs/LineItem' does not exist" in e for e in found), found
    assert result["document"] is None

"""A one-event contracts tree for hostile-input tests, written from a schema dict or text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TYPE = "evil.thing"
REL = f"schemas/events/{TYPE}/v1.json"


def event(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A valid event schema around ``properties`` (``id`` is the aggregate id)."""
    return {
        "$schema": DIALECT,
        "$id": f"https://schemabus.dev/schemas/events/{TYPE}/v1.json",
        "title": "Evil thing",
        "description": "A contract written by someone who wants to break the build.",
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}, **properties},
        "examples": [{"id": "e-1"}],
        **extra,
    }


def write_tree(root: Path, schema: Any, *, text: str | None = None, services: str = "") -> Path:
    """Catalog + one event version (``text`` is written verbatim when given)."""
    folder = root / "schemas" / "events" / TYPE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v1.json").write_text(
        text if text is not None else json.dumps(schema, indent=2), "utf-8"
    )
    (root / "schemas" / "catalog.yaml").write_text(
        "version: 1\n"
        "events:\n"
        f"  {TYPE}:\n"
        "    delivery: durable\n"
        "    stream: evil\n"
        "    aggregate_id: id\n" + (services or "services: {}\n"),
        "utf-8",
    )
    return folder / "v1.json"


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")

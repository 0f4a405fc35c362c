"""`codegen new`, `codegen bump` and `codegen unlock`: small edits people would do by hand."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from codegen.lock import LOCK_REL, read_lock, read_streams, render_lock
from codegen.names import is_valid_type_name
from codegen.write import CONTRACTS, write_files

_SKELETON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "",
    "title": "",
    "description": "TODO: say what happened, in one sentence.",
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 64}},
    "examples": [{"id": "example-1"}],
}


def _fail(message: str) -> int:
    print(f"codegen: {message}", file=sys.stderr)
    return 2


def _dump(doc: object) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def new_type(root: Path, type_name: str) -> int:
    if not is_valid_type_name(type_name):
        return _bad_type_name(type_name)
    folder = root / "schemas" / "events" / type_name
    if folder.exists():
        return _fail(
            f"{type_name} exists already; use `codegen bump {type_name}` for a new version."
        )
    doc = dict(_SKELETON)
    doc["$id"] = f"https://schemabus.dev/schemas/events/{type_name}/v1.json"
    doc["title"] = type_name.replace(".", " ").replace("_", " ").capitalize()
    catalog = root / "schemas" / "catalog.yaml"
    text = catalog.read_text("utf-8") if catalog.exists() else "version: 1\nevents:\nservices: {}\n"
    stream = type_name.split(".")[0]
    block = f"  {type_name}:\n    delivery: durable\n    stream: {stream}\n    aggregate_id: id\n"
    match = re.search(r"^events:[ \t]*(\{\})?[ \t]*$", text, flags=re.MULTILINE)
    if match is None:
        text = text.rstrip("\n") + "\nevents:\n" + block
    else:
        text = text[: match.start()] + "events:\n" + block + text[match.end() + 1 :]
    schema_rel = f"schemas/events/{type_name}/v1.json"
    write_files(root, {schema_rel: _dump(doc), "schemas/catalog.yaml": text}, CONTRACTS)
    print(f"codegen: created schemas/events/{type_name}/v1.json and registered it in the catalog")
    print("codegen: edit the schema and its example, then run `make gen`")
    return 0


def _bad_type_name(type_name: str) -> int:
    return _fail(
        f'"{type_name}" is not a valid type name; use dotted lower-case, e.g. "order.created".'
    )


def bump_type(root: Path, type_name: str) -> int:
    if not is_valid_type_name(type_name):
        return _bad_type_name(type_name)  # also keeps "../../x" from leaving schemas/
    folder = root / "schemas" / "events" / type_name
    versions = sorted(
        int(m.group(1))
        for p in folder.glob("v*.json")
        if (m := re.fullmatch(r"v(\d+)\.json", p.name))
    )
    if not versions:
        return _fail(f"no schemas/events/{type_name}/v1.json; use `codegen new {type_name}` first.")
    latest = versions[-1]
    try:
        doc = json.loads((folder / f"v{latest}.json").read_text("utf-8"))
    except ValueError as exc:
        return _fail(f"schemas/events/{type_name}/v{latest}.json is not valid JSON: {exc}")
    if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
        doc["$id"] = re.sub(r"/v\d+\.json$", f"/v{latest + 1}.json", doc["$id"])
    target = f"schemas/events/{type_name}/v{latest + 1}.json"
    write_files(root, {target: _dump(doc)}, CONTRACTS)
    print(f"codegen: created {target} from v{latest}")
    print("codegen: edit it and run `make gen`; consumers opt in via their catalog version")
    return 0


def repartition(root: Path, stream: str) -> int:
    """Record the catalog's new partition count for `stream` (after draining it)."""
    from codegen.build import build_project
    from codegen.lock import stream_partitions

    project, findings = build_project(root)
    if findings:
        return _fail("fix the catalog and schemas first (`codegen check` lists the findings)")
    wanted = stream_partitions(project).get(stream)
    if wanted is None:
        return _fail(f"no event in the catalog uses stream {stream!r}")
    streams = read_streams(root / LOCK_REL)
    old = streams.get(stream)
    streams[stream] = wanted
    write_files(root, {LOCK_REL: render_lock(read_lock(root / LOCK_REL), streams)}, CONTRACTS)
    print(f"codegen: stream {stream} now has {wanted} partition(s) (was {old or 'unrecorded'})")
    print("codegen: run `make gen`, then deploy consumers before producers")
    return 0


def unlock(root: Path, ref: str) -> int:
    type_name, at, number = ref.rpartition("@")
    if not at or not is_valid_type_name(type_name) or not re.fullmatch(r"[1-9][0-9]*", number):
        return _fail(f'"{ref}" is not TYPE@N (e.g. "order.created@2").')
    locked = read_lock(root / LOCK_REL)
    if ref not in locked:
        return _fail(f"{ref} is not in {LOCK_REL}; nothing to unlock (expected TYPE@N).")
    del locked[ref]
    write_files(root, {LOCK_REL: render_lock(locked, read_streams(root / LOCK_REL))}, CONTRACTS)
    print(f"codegen: unlocked {ref}; `make gen` will record its new fingerprint")
    return 0

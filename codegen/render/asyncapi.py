"""The AsyncAPI 3.1 document: channels (Redis streams, NATS subjects, request/reply),
operations per service, one message per event version, and the payload schemas under
`components/schemas` (shared shapes once, referenced from every payload that uses them),
in the AsyncAPI schema format that AsyncAPI's own tools read (asyncapi_schema.py).
`tests/asyncapi/` checks the result with the official @asyncapi/parser."""

from __future__ import annotations

import json
import re
from typing import Any

from codegen.ir import Project, Version
from codegen.positions import escape
from codegen.render.asyncapi_schema import COMPONENTS, Note, Scope, translated

ASYNCAPI_VERSION = "3.1.0"
_VERB = {"receive": "answers", "send": "calls"}
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _cid(text: str) -> str:
    return _ID_SAFE.sub("_", text)


def _message_ref(v: Version) -> dict[str, str]:
    return {"$ref": f"#/components/messages/{v.class_name}"}


def asyncapi(project: Project) -> tuple[str, list[Note]]:
    """The document, and the keywords it could not express (for the docs' notes)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channel_of: dict[str, list[str]] = {}

    def add_channel(
        cid: str, address: str | None, description: str, versions: list[Version]
    ) -> None:
        ch = channels.setdefault(
            cid, {"address": address, "description": description, "messages": {}}
        )
        for v in versions:
            ch["messages"][v.class_name] = _message_ref(v)

    for t in project.types:
        for v in t.versions:
            messages[v.class_name] = {
                "name": t.name,
                "title": f"{t.name} v{v.version}",
                "contentType": "application/json",
                "payload": {"$ref": f"{COMPONENTS}{escape(v.class_name)}"},
                "x-schemabus-version": v.version,
                "x-schemabus-fingerprint": v.fingerprint,
            }
        c = t.config
        vs = list(t.versions)
        if c.delivery == "durable" and c.stream:
            cid = _cid(f"stream.{c.stream}")
            add_channel(
                cid,
                c.stream,
                f"Redis Stream {c.stream}: durable log, one consumer group per service.",
                vs,
            )
            channel_of.setdefault(t.name, []).append(cid)
        if c.delivery in ("durable", "realtime"):
            cid = _cid(f"nats.{c.subject}")
            what = "live mirror of a durable event" if c.delivery == "durable" else "real-time only"
            add_channel(cid, c.subject, f"NATS subject {c.subject} ({what}).", vs)
            channel_of.setdefault(t.name, []).append(cid)

    for op in project.operations:
        req = project.version(*op.request)
        rep = project.version(*op.reply)
        add_channel(
            _cid(f"rpc.{op.name}"), op.subject, f"NATS request subject of {op.name}.", [req]
        )
        add_channel(_cid(f"rpc.{op.name}.reply"), None, f"Reply inbox of {op.name}.", [rep])

    for svc in project.services:
        for type_name, version in svc.produces:
            v = project.version(type_name, version)
            for cid in channel_of.get(type_name, [])[:1]:
                operations[_cid(f"{svc.name}.send.{type_name}")] = {
                    "action": "send",
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "messages": [{"$ref": f"#/channels/{cid}/messages/{v.class_name}"}],
                    "summary": f"{svc.name} publishes {type_name} v{version}.",
                }
        for type_name, version in svc.consumes:
            v = project.version(type_name, version)
            for cid in channel_of.get(type_name, [])[:1]:
                operations[_cid(f"{svc.name}.receive.{type_name}")] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "messages": [{"$ref": f"#/channels/{cid}/messages/{v.class_name}"}],
                    "summary": f"{svc.name} handles {type_name} (declares v{version}).",
                }
        for role, action in (("serves", "receive"), ("calls", "send")):
            for op_name in getattr(svc, role):
                op = next(o for o in project.operations if o.name == op_name)
                req = project.version(*op.request)
                rep = project.version(*op.reply)
                rid, pid = _cid(f"rpc.{op.name}"), _cid(f"rpc.{op.name}.reply")
                operations[_cid(f"{svc.name}.{action}.{op.name}")] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{rid}"},
                    "messages": [{"$ref": f"#/channels/{rid}/messages/{req.class_name}"}],
                    "reply": {
                        "channel": {"$ref": f"#/channels/{pid}"},
                        "messages": [{"$ref": f"#/channels/{pid}/messages/{rep.class_name}"}],
                    },
                    "summary": f"{svc.name} {_VERB[action]} {op.name}.",
                }

    schemas, notes = _schemas(project)
    doc = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "schemabus event contracts",
            "version": _contracts_version(project),
            "description": "Generated by `codegen gen` from schemas/. Do not edit. Payload "
            "schemas are in the AsyncAPI schema format, translated from JSON Schema 2020-12; "
            "docs/README.md lists anything the translation could not express.",
        },
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": dict(sorted(messages.items())),
        },
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return text, sorted(set(notes))


def _schemas(project: Project) -> tuple[dict[str, Any], list[Note]]:
    """components/schemas: one per shared shape (by its class name), one per payload (by its
    model's name) and one per local `$defs` entry of a payload (`<Model>.<key>`)."""
    out: dict[str, Any] = {}
    notes: list[Note] = []
    shared_root = {"$defs": {d.class_name: d.schema for d in project.defs}}
    shared_scope = Scope(shared_root, {d.class_name: d.class_name for d in project.defs}, None)
    for d in project.defs:
        out[d.class_name] = translated(d.schema, shared_scope, d.class_name, notes)
    for t in project.types:
        for v in t.versions:
            bundled = v.bundled if isinstance(v.bundled, dict) else {}
            found = bundled.get("$defs")
            local: dict[str, Any] = found if isinstance(found, dict) else {}
            shared = dict(v.shared)
            names = {k: shared.get(k) or f"{v.class_name}.{_cid(k)}" for k in local}
            scope = Scope(v.bundled, names, v.class_name)
            payload = {k: x for k, x in bundled.items() if k != "$defs"}
            out[v.class_name] = translated(payload, scope, v.class_name, notes)
            for key, sub in local.items():
                if key not in shared:
                    out[names[key]] = translated(
                        sub, scope, v.class_name, notes, f"/$defs/{escape(key)}"
                    )
    return out, notes


def _contracts_version(project: Project) -> str:
    # A stable content-derived version: changes exactly when some version is added.
    total = sum(len(t.versions) for t in project.types)
    return f"1.0.{total}"

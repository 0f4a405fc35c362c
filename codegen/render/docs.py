"""Documentation generated from the contracts: an AsyncAPI 3.0 document and a Markdown
event catalog (one page per type: versions, fields, examples, producers, consumers and the
compatibility matrix). Free text from schemas is escaped for Markdown tables; nothing here
is executed, so the worst a hostile description can do is look odd."""

from __future__ import annotations

import json
import re
from typing import Any

from codegen.ir import EventType, Project, Version
from codegen.render.python import const_name

_VERB = {"receive": "answers", "send": "calls"}
ASYNCAPI_SCHEMA_FORMAT = "application/schema+json;version=2020-12"
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _cid(text: str) -> str:
    return _ID_SAFE.sub("_", text)


def render_docs(project: Project) -> dict[str, str]:
    files = {"generated/docs/asyncapi.json": asyncapi(project)}
    files["generated/docs/README.md"] = _index(project)
    for t in project.types:
        files[f"generated/docs/events/{t.name}.md"] = _event_page(project, t)
    return files


def _message_ref(v: Version) -> dict[str, str]:
    return {"$ref": f"#/components/messages/{v.class_name}"}


def asyncapi(project: Project) -> str:
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
                "payload": {"schemaFormat": ASYNCAPI_SCHEMA_FORMAT, "schema": v.bundled},
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

    doc = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "schemabus event contracts",
            "version": _contracts_version(project),
            "description": "Generated by `codegen gen` from schemas/. Do not edit.",
        },
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items()))},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _contracts_version(project: Project) -> str:
    # A stable content-derived version: changes exactly when some version is added.
    total = sum(len(t.versions) for t in project.types)
    return f"1.0.{total}"


def md_text(text: Any) -> str:
    """One line of Markdown-safe text: no table breaks, no raw HTML."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("`", "\\`")
    return s.strip()


def _index(project: Project) -> str:
    lines = [
        "<!-- Code generated by codegen from schemas/. DO NOT EDIT. -->",
        "# Event catalog",
        "",
        "| type | delivery | stream / subject | versions | producers | consumers |",
        "|---|---|---|---|---|---|",
    ]
    for t in project.types:
        producers, consumers = _users(project, t)
        route = t.config.stream or t.config.subject or "request/reply"
        lines.append(
            f"| [{t.name}](events/{t.name}.md) | {t.config.delivery} | {md_text(route)} | "
            f"{len(t.versions)} | {', '.join(producers) or '-'} | {', '.join(consumers) or '-'} |"
        )
    lines += ["", "Machine-readable: [asyncapi.json](asyncapi.json) (AsyncAPI 3.0)."]
    return "\n".join(lines) + "\n"


def _users(project: Project, t: EventType) -> tuple[list[str], list[str]]:
    producers = [s.name for s in project.services if any(n == t.name for n, _ in s.produces)]
    consumers = [f"{s.name} (v{v})" for s in project.services for n, v in s.consumes if n == t.name]
    for op in project.operations:
        if t.name in (op.request[0], op.reply[0]):
            role = "request" if op.request[0] == t.name else "reply"
            servers = [s.name for s in project.services if op.name in s.serves]
            callers = [s.name for s in project.services if op.name in s.calls]
            if role == "request":
                producers += callers
                consumers += servers
            else:
                producers += servers
                consumers += callers
    return sorted(set(producers)), sorted(set(consumers))


def _type_label(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any" if schema is True else "never"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return "= " + json.dumps(schema["const"], ensure_ascii=False)
    t = schema.get("type", "any")
    label = " or ".join(t) if isinstance(t, list) else str(t)
    if label == "array" and isinstance(schema.get("items"), dict):
        label = f"array of {_type_label(schema['items'])}"
    return label


def _fields(v: Version) -> list[str]:
    schema = v.bundled if isinstance(v.bundled, dict) else {}
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, sub in (schema.get("properties") or {}).items():
        desc = sub.get("description", "") if isinstance(sub, dict) else ""
        rows.append(
            f"| `{md_text(name)}` | {md_text(_type_label(sub))} | "
            f"{'yes' if name in required else 'no'} | {md_text(desc)} |"
        )
    return rows


def _matrix(t: EventType) -> list[str]:
    from codegen.gate import can_read

    head = "| reader \\ writer | " + " | ".join(f"v{v.version}" for v in t.versions) + " |"
    rows = [head, "|---|" + "---|" * len(t.versions)]
    for reader in t.versions:
        cells = []
        for writer in t.versions:
            ok = writer.version == reader.version or can_read(t, writer, reader)
            cells.append("reads" if ok else "no")
        rows.append(f"| v{reader.version} | " + " | ".join(cells) + " |")
    return rows


def _fence(text: str) -> str:
    # A fence longer than any backtick run inside, so example strings cannot close it.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _event_page(project: Project, t: EventType) -> str:
    c = t.config
    producers, consumers = _users(project, t)
    out = [
        f"<!-- Code generated by codegen from schemas/events/{t.name}/. DO NOT EDIT. -->",
        f"# {t.name}",
        "",
        f"- delivery: **{c.delivery}**"
        + (f", Redis stream `{md_text(c.stream)}`" if c.stream else "")
        + (f", NATS subject `{md_text(c.subject)}`" if c.subject else ""),
        f"- aggregate id (ordering key): `{md_text(c.aggregate_id)}`"
        if c.aggregate_id
        else "- request/reply body",
        f"- compatibility: {c.compatibility} ({c.semantics} semantics)",
        f"- producers: {', '.join(producers) or '-'}",
        f"- consumers: {', '.join(consumers) or '-'}",
        "",
    ]
    if len(t.versions) > 1:
        out += ["## Compatibility between versions", "", *_matrix(t), ""]
    for v in reversed(t.versions):
        desc = v.raw.get("description", "") if isinstance(v.raw, dict) else ""
        out += [
            f"## v{v.version} — `{v.class_name}`",
            "",
            md_text(desc),
            "",
            f"Schema: `{v.path}` · fingerprint `{v.fingerprint[:19]}…` · "
            f"registry `{const_name(t.name, v.version)}`",
            "",
            *_fields(v),
            "",
        ]
        examples = v.raw.get("examples", []) if isinstance(v.raw, dict) else []
        for i, example in enumerate(examples):
            out += [
                f"Example {i + 1}:",
                "",
                "```json",
                json.dumps(example, indent=2, ensure_ascii=False),
                "```",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"

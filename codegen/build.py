"""Stage 1+2 driver: the contracts tree -> (Project IR, findings)."""

from __future__ import annotations

import keyword
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from codegen import lint, shapes
from codegen.catalog import CatalogDoc, read_catalog, validate_catalog
from codegen.errors import BadInput, Finding
from codegen.ir import EventConfig, EventType, Operation, Project, Retry, Service, Version
from codegen.load import Bundler, JsonFile, fingerprint
from codegen.names import (
    class_name,
    is_valid_service_name,
    is_valid_type_name,
    module_name,
    snake_case,
)
from codegen.positions import pointer

CATALOG_REL = "schemas/catalog.yaml"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]{0,5})\.json$")


def build_project(root: Path) -> tuple[Project, list[Finding]]:
    """Read, lint and assemble the whole contracts tree. Raises BadInput for unreadable input."""
    schemas = root / "schemas"
    catalog = read_catalog(root / CATALOG_REL, CATALOG_REL)
    findings = validate_catalog(catalog)
    if findings:
        # A catalog that does not match its schema cannot be interpreted any further.
        return Project((), (), ()), findings
    bundler = Bundler(root, schemas)
    files, layout = _discover(root, schemas)
    findings += layout
    bad: list[Finding] = []
    versions: dict[str, list[Version]] = {}
    for type_name, entries in files.items():
        for number, path in entries:
            rel = path.relative_to(root).as_posix()
            try:
                jf = bundler.file(path)
            except BadInput as exc:
                bad += exc.findings
                continue
            found, version = _version(bundler, jf, type_name, number)
            findings += found
            if version is not None:
                versions.setdefault(type_name, []).append(version)
            del rel
    if bad:
        raise BadInput(bad)
    on_disk = {name: {n for n, _ in entries} for name, entries in files.items()}
    modules = frozenset(p.stem for p in (root / "services").glob("*.py") if p.stem != "__init__")
    project, cat_findings = _assemble(catalog, versions, on_disk, modules)
    findings += cat_findings
    project = _with_shared_defs(project)
    findings += shapes.lint_shapes(project.types, project.defs)
    return project, findings


def _with_shared_defs(project: Project) -> Project:
    """Identify the shared shapes (schemas/defs/) once, for every renderer."""
    defs, per_version = shapes.share(project.types)
    types = tuple(
        replace(
            t,
            versions=tuple(
                replace(v, shared=per_version.get((t.name, v.version), ())) for v in t.versions
            ),
        )
        for t in project.types
    )
    return replace(project, types=types, defs=defs)


def _discover(root: Path, schemas: Path) -> tuple[dict[str, list[tuple[int, Path]]], list[Finding]]:
    events = schemas / "events"
    out: dict[str, list[tuple[int, Path]]] = {}
    findings: list[Finding] = []
    if not events.is_dir():
        return out, findings
    for type_dir in sorted(events.iterdir()):
        rel = type_dir.relative_to(root).as_posix()
        if not type_dir.is_dir():
            findings.append(
                Finding(
                    rel,
                    0,
                    "Put event schemas in schemas/events/<type>/v<N>.json.",
                    "LAYOUT_INVALID",
                )
            )
            continue
        if not is_valid_type_name(type_dir.name):
            findings.append(
                Finding(
                    rel,
                    0,
                    f'"{type_dir.name}" is not a valid event type name: use lower-case dotted '
                    'words such as "order.created".',
                    "TYPE_NAME_INVALID",
                )
            )
            continue
        numbered: list[tuple[int, Path]] = []
        for f in sorted(type_dir.iterdir()):
            m = _VERSION_FILE.match(f.name)
            if not m or not f.is_file():
                findings.append(
                    Finding(
                        f.relative_to(root).as_posix(),
                        0,
                        f'Unexpected "{f.name}": a type folder holds only v1.json, v2.json, ….',
                        "LAYOUT_INVALID",
                    )
                )
                continue
            numbered.append((int(m.group(1)), f))
        numbered.sort()
        for expected, (number, f) in enumerate(numbered, start=1):
            if number != expected:
                findings.append(
                    Finding(
                        f.relative_to(root).as_posix(),
                        0,
                        f"Versions of {type_dir.name} must be contiguous from v1: expected "
                        f"v{expected}.json, found v{number}.json.",
                        "VERSION_GAP",
                    )
                )
                break
        if numbered:
            out[type_dir.name] = numbered
    return out, findings


def _version(
    bundler: Bundler, jf: JsonFile, type_name: str, number: int
) -> tuple[list[Finding], Version | None]:
    findings = lint.lint_metaschema_cached(jf)
    if findings:
        return findings, None
    findings += lint.lint_event_header(jf, type_name, number)
    findings += lint.lint_property_names(jf)
    bundle = bundler.bundle(jf)
    findings += bundle.findings
    if bundle.findings:
        return findings, None
    hostile = lint.lint_names_and_patterns(bundle.schema, bundle.locate)
    if hostile:  # before the examples: they would run an unsupported pattern
        return findings + hostile, None
    findings += lint.lint_examples_cached(jf, bundle.schema)
    version = Version(
        type=type_name,
        version=number,
        path=jf.rel,
        raw=jf.doc,
        bundled=bundle.schema,
        fingerprint=fingerprint(bundle.schema),
        class_name=class_name(type_name, number),
        module=module_name(type_name, number),
        source=bundle,
    )
    return findings, version


def _stream_findings(types: list[EventType], cat: CatalogDoc) -> list[Finding]:
    """Event types that share a stream must agree on its partition count: the stream's
    keys (`orders:{p}`) and every consumer group over it depend on it."""
    out: list[Finding] = []
    first: dict[str, EventType] = {}
    for t in types:
        stream = t.config.stream
        if stream is None:
            continue
        seen = first.setdefault(stream, t)
        if seen.config.partitions != t.config.partitions:
            out.append(
                cat.finding(
                    pointer("events", t.name, "partitions"),
                    f"{t.name} puts stream {stream} in {t.config.partitions} partition(s) but "
                    f"{seen.name} puts it in {seen.config.partitions}; give every event type "
                    f"on {stream} the same `partitions`.",
                    "CATALOG_PARTITIONS_MISMATCH",
                )
            )
    return out


def _assemble(
    cat: CatalogDoc,
    versions: dict[str, list[Version]],
    on_disk: dict[str, set[int]],
    service_modules: frozenset[str] = frozenset(),
) -> tuple[Project, list[Finding]]:
    """Cross-check the catalog with the schemas. `versions` holds the versions that passed
    lint; `on_disk` every version file, so a broken schema is not also reported missing."""
    data = cat.data
    findings: list[Finding] = []
    defaults = data.get("defaults", {})
    default_retry = Retry(**defaults.get("retry", {}))
    ops_data: dict[str, Any] = data.get("operations") or {}
    message_types: dict[str, str] = {}
    for op_name, op in ops_data.items():
        for role in ("request", "reply"):
            t, _, _ = op[role].partition("@")
            message_types.setdefault(t, f"/operations/{op_name}/{role}")

    types: list[EventType] = []
    events_data: dict[str, Any] = data.get("events") or {}
    for name, ev in events_data.items():
        ptr = pointer("events", name)
        if name not in on_disk:
            findings.append(
                cat.finding(
                    ptr,
                    f"The catalog declares event {name} but schemas/events/{name}/v1.json does "
                    f"not exist; run `codegen new {name}`.",
                    "CATALOG_UNKNOWN_TYPE",
                )
            )
            continue
        if len(versions.get(name, [])) != len(on_disk[name]):
            continue  # some version failed lint; its findings say why
        if name in message_types:
            findings.append(
                cat.finding(
                    ptr,
                    f"{name} is used as a request/reply body and cannot also be an event.",
                    "CATALOG_ROLE_CONFLICT",
                )
            )
        retention = ev.get("retention", {})
        config = EventConfig(
            delivery=ev["delivery"],
            stream=ev.get("stream") if ev["delivery"] == "durable" else None,
            subject=ev.get("subject", f"evt.{name}"),
            aggregate_id=ev["aggregate_id"],
            maxlen=retention.get("maxlen"),
            max_age_ms=retention.get("max_age_ms"),
            compatibility=ev.get("compatibility", defaults.get("compatibility", "FULL_TRANSITIVE")),
            semantics=ev.get("semantics", defaults.get("semantics", "runtime")),
            retry=Retry(**{**vars(default_retry), **ev.get("retry", {})}),
            jetstream=bool(ev.get("jetstream", False)),
            breaking_versions=tuple(sorted(ev.get("breaking_versions", []))),
            partitions=int(ev.get("partitions", 1)) if ev["delivery"] == "durable" else 1,
            durability=str(ev.get("durability", "default")),
            replicas=int(ev.get("replicas", 1)),
            catalog_line=cat.line_of(pointer("events", name, "partitions")),
        )
        vs = tuple(versions[name])
        for v in vs:
            findings += _aggregate_id_findings(v, config.aggregate_id or "", cat, ptr)
        types.append(EventType(name, config, vs))
    findings += _stream_findings(types, cat)

    for name in sorted(message_types):
        if name in events_data:
            continue
        if name not in versions or len(versions[name]) != len(on_disk[name]):
            continue  # missing (reported below) or broken (reported by lint)
        config = EventConfig(
            delivery="message",
            stream=None,
            subject="",
            aggregate_id=None,
            compatibility=defaults.get("compatibility", "FULL_TRANSITIVE"),
            semantics=defaults.get("semantics", "runtime"),
        )
        types.append(EventType(name, config, tuple(versions[name])))

    for name in sorted(set(on_disk) - set(events_data) - set(message_types)):
        findings.append(
            Finding(
                f"schemas/events/{name}",
                0,
                f"{name} has schemas but the catalog neither declares it under events: nor uses "
                "it in an operation; add it to schemas/catalog.yaml.",
                "TYPE_NOT_IN_CATALOG",
            )
        )

    known = {t.name: {v.version for v in t.versions} for t in types}
    broken = {n for n in on_disk if n not in known}

    def check_ref(ref: str, ptr: str) -> tuple[str, int] | None:
        t, _, num = ref.partition("@")
        if t in broken:
            return None  # lint already reported why this type is unusable
        if t not in known:
            findings.append(cat.finding(ptr, f"Unknown message type {t}.", "CATALOG_UNKNOWN_TYPE"))
            return None
        if int(num) not in known[t]:
            findings.append(
                cat.finding(
                    ptr,
                    f"{t} has no version {num} (versions: "
                    f"{', '.join(str(x) for x in sorted(known[t]))}).",
                    "CATALOG_UNKNOWN_VERSION",
                )
            )
            return None
        return (t, int(num))

    operations: list[Operation] = []
    for op_name, op in ops_data.items():
        req = check_ref(op["request"], pointer("operations", op_name, "request"))
        rep = check_ref(op["reply"], pointer("operations", op_name, "reply"))
        if req and rep:
            operations.append(
                Operation(
                    op_name,
                    op.get("subject", f"rpc.{op_name}"),
                    req,
                    rep,
                    op.get("timeout_ms", 2000),
                )
            )

    services: list[Service] = []
    event_names = {t.name for t in types if t.config.delivery != "message"}
    for svc_name, svc in (data.get("services") or {}).items():
        sptr = pointer("services", svc_name)
        if not is_valid_service_name(svc_name, service_modules):
            why = (
                "is a Python keyword"
                if keyword.iskeyword(svc_name)
                else "would shadow the module services/" + svc_name + ".py"
            )
            findings.append(
                cat.finding(
                    sptr,
                    f'"{svc_name}" {why}; pick another service name.',
                    "SERVICE_NAME_INVALID",
                )
            )
            continue
        consumes = []
        for t, num in (svc.get("consumes") or {}).items():
            p = pointer("services", svc_name, "consumes", t)
            if t not in event_names and t in known:
                findings.append(
                    cat.finding(
                        p, f"{t} is a request/reply body, not an event.", "CATALOG_ROLE_CONFLICT"
                    )
                )
                continue
            ref = check_ref(f"{t}@{num}", p)
            if ref:
                consumes.append(ref)
        produces = []
        for i, r in enumerate(svc.get("produces") or []):
            ref = check_ref(r, pointer("services", svc_name, "produces", i))
            if ref:
                produces.append(ref)
        for key in ("serves", "calls"):
            for i, op_name in enumerate(svc.get(key) or []):
                if op_name not in ops_data:
                    findings.append(
                        cat.finding(
                            pointer("services", svc_name, key, i),
                            f"Unknown operation {op_name}; declare it under operations:.",
                            "CATALOG_UNKNOWN_OPERATION",
                        )
                    )
        services.append(
            Service(
                svc_name,
                tuple(consumes),
                tuple(produces),
                tuple(o for o in svc.get("serves") or [] if o in ops_data),
                tuple(o for o in svc.get("calls") or [] if o in ops_data),
            )
        )

    findings += _collisions(cat, [t.name for t in types], "events", "TYPE_NAME_COLLISION")
    findings += _collisions(cat, list(ops_data), "operations", "OPERATION_NAME_COLLISION")
    project = Project(
        tuple(sorted(types, key=lambda t: t.name)),
        tuple(sorted(operations, key=lambda o: o.name)),
        tuple(sorted(services, key=lambda s: s.name)),
    )
    return project, findings


def _aggregate_id_findings(v: Version, field: str, cat: CatalogDoc, ptr: str) -> list[Finding]:
    schema = v.bundled if isinstance(v.bundled, dict) else {}
    props = schema.get("properties", {})
    if field not in props or field not in schema.get("required", []):
        return [
            cat.finding(
                ptr + "/aggregate_id",
                f'aggregate_id "{field}" must be a required property of {v.type} v{v.version} '
                f"({v.path}).",
                "AGGREGATE_ID_MISSING",
            )
        ]
    return []


def _collisions(cat: CatalogDoc, names: list[str], section: str, rule: str) -> list[Finding]:
    seen: dict[str, str] = {}
    out = []
    for name in sorted(names):
        key = snake_case(name)
        if key in seen:
            out.append(
                cat.finding(
                    pointer(section, name),
                    f'{seen[key]} and {name} both become the Python name "{key}"; rename one.',
                    rule,
                )
            )
        seen[key] = name
    return out

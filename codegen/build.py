"""Stage 1+2 driver: the contracts tree -> (Project IR, findings)."""

from __future__ import annotations

import gc
import keyword
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codegen import lint, shapes
from codegen.cache import Cache
from codegen.catalog import CatalogDoc, read_catalog, retry_defaults, validate_catalog_cached
from codegen.errors import BadInput, Finding
from codegen.forked import map_forked, workers
from codegen.ir import EventConfig, EventType, Operation, Project, Retry, Service, Version
from codegen.load import Bundler, JsonFile, canonical_json, text_fingerprint
from codegen.names import (
    class_name,
    is_valid_service_name,
    is_valid_type_name,
    module_name,
    snake_case,
)
from codegen.positions import pointer
from codegen.ref_cycles import lint_ref_cycles

CATALOG_REL = "schemas/catalog.yaml"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]{0,5})\.json$")


def build_project(root: Path, cache: Cache | None = None) -> tuple[Project, list[Finding]]:
    """Read, lint and assemble the whole contracts tree. Raises BadInput for unreadable input.
    `cache` remembers lint passes (memory only when None; nothing is written here)."""
    cache = cache if cache is not None else Cache()
    schemas = root / "schemas"
    _refuse_links_out(schemas, [root / CATALOG_REL])
    catalog = read_catalog(root / CATALOG_REL, CATALOG_REL, cache)
    findings = validate_catalog_cached(catalog, cache)
    if findings:
        # A catalog that does not match its schema cannot be interpreted any further.
        return Project((), (), ()), findings
    bundler = Bundler(root, schemas)
    files, layout = _discover(root, schemas)
    findings += layout
    _refuse_links_out(schemas, [path for entries in files.values() for _, path in entries], bundler)
    items = [
        (type_name, number, path)
        for type_name, entries in files.items()
        for number, path in entries
    ]
    bad: list[Finding] = []
    versions: dict[str, list[Version]] = {}
    for built in _build_versions(bundler, items, cache):
        bad += built.bad
        findings += built.findings
        for type_name, version in built.versions:
            versions.setdefault(type_name, []).append(version)
    if bad:
        raise BadInput(bad)
    on_disk = {name: {n for n, _ in entries} for name, entries in files.items()}
    modules = frozenset(p.stem for p in (root / "services").glob("*.py") if p.stem != "__init__")
    project, cat_findings = _assemble(catalog, versions, on_disk, modules)
    findings += cat_findings
    project = _with_shared_defs(project)
    findings += shapes.lint_shapes(project.types, project.defs)
    return project, findings


# From this many versions on, a forked worker builds the second half of them (the same
# threshold as the docs worker in render/python.py).
_FORK_MIN = 100


@dataclass
class _Built:
    """What building a run of version files gave: per file its findings (in order), the
    versions that passed lint, the findings of files that could not be read, and the
    cache entries computed on the way ("namespace/key" -> text)."""

    findings: list[Finding] = field(default_factory=list)
    versions: list[tuple[str, Version]] = field(default_factory=list)
    bad: list[Finding] = field(default_factory=list)
    computed: dict[str, str] = field(default_factory=dict)


def _build_versions(
    bundler: Bundler, items: list[tuple[str, int, Path]], cache: Cache
) -> list[_Built]:
    """Bundle and lint every version file, in order. On a large tree a forked worker
    builds the second half while this process builds the first (each version is a pure
    function of its files and the cache), and its versions come back pickled: a tenth of
    the time of building them. Lint passes the worker computed are put in this cache."""

    def build(run: list[tuple[str, int, Path]]) -> _Built:
        before = set(cache.computed())
        out = _Built()
        for type_name, number, path in run:
            try:
                jf = bundler.file(path)
            except BadInput as exc:
                out.bad += exc.findings
                continue
            found, version = _version(bundler, jf, type_name, number, cache)
            out.findings += found
            if version is not None:
                out.versions.append((type_name, version))
        out.computed = {k: v for k, v in cache.computed().items() if k not in before}
        return out

    if len(items) < _FORK_MIN or workers() < 2:
        return [build(items)]
    # As in gate.judge_ahead: what exists now is frozen, so neither process's collector
    # walks it (and so copies its pages in the worker) while the halves are built.
    gc.freeze()
    try:
        # The worker's share is a little smaller: it starts cold (copying the pages it
        # writes) and its versions must be unpickled here.
        cut = len(items) * 11 // 20
        runs = map_forked(build, [items[:cut], items[cut:]])
    finally:
        gc.unfreeze()
    for run in runs[1:]:
        for entry, text in run.computed.items():
            namespace, _, key = entry.partition("/")
            if cache.get(namespace, key) is None:
                cache.put(namespace, key, text)
    return runs


def _refuse_links_out(schemas: Path, paths: list[Path], bundler: Bundler | None = None) -> None:
    """Nothing outside schemas/ is ever read: a contract file that resolves elsewhere (it,
    or a folder on its way, is a symlink) is refused before it is opened."""
    inside = bundler.schemas_dir if bundler is not None else schemas.resolve()
    resolve = bundler.resolve if bundler is not None else Path.resolve
    bad = [
        Finding(
            path.relative_to(schemas.parent).as_posix(),
            0,
            "This file resolves outside schemas/ (through a symlink), and codegen reads "
            "nothing outside schemas/; put the file itself there.",
            "LAYOUT_INVALID",
        )
        for path in paths
        if not resolve(path).is_relative_to(inside)
    ]
    if bad:
        raise BadInput(bad)


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
    bundler: Bundler, jf: JsonFile, type_name: str, number: int, cache: Cache
) -> tuple[list[Finding], Version | None]:
    findings = lint.lint_metaschema_cached(jf, cache)
    if findings:
        return findings, None
    findings += lint.lint_event_header(jf, type_name, number)
    findings += lint.lint_property_names(jf)
    bundle = bundler.bundle(jf)
    findings += bundle.findings
    if bundle.findings:
        return findings, None
    text = canonical_json(bundle.schema)
    hostile = cache.lint_pass(
        cache.key(b"lint:shape", text),
        lambda: (
            lint.lint_names_and_patterns(bundle.schema, bundle.locate)
            + lint_ref_cycles(bundle.schema, bundle.locate)
        ),
    )
    if hostile:  # before the examples: they would run an unsupported pattern, or loop
        return findings + hostile, None
    findings += lint.lint_examples_cached(jf, bundle.schema, cache, bundled_text=text)
    version = Version(
        type=type_name,
        version=number,
        path=jf.rel,
        raw=jf.doc,
        bundled=bundle.schema,
        fingerprint=text_fingerprint(text),
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
    lint; `on_disk` every version file, so a broken schema is not also reported missing.
    One builder per section, each returning (items, findings)."""
    sections = _Sections(cat, versions, on_disk)
    types, findings = _event_types(sections)
    findings += _stream_findings(types, cat)
    bodies, found = _message_types(sections)
    types += bodies
    findings += found + _types_not_in_catalog(sections)
    refs = _VersionRefs(cat, types, on_disk)
    operations, found = _operations(sections, refs)
    findings += found
    services, found = _services(sections, types, refs, service_modules)
    findings += found
    findings += _collisions(cat, [t.name for t in types], "events", "TYPE_NAME_COLLISION")
    findings += _collisions(
        cat, list(sections.operations), "operations", "OPERATION_NAME_COLLISION"
    )
    project = Project(
        tuple(sorted(types, key=lambda t: t.name)),
        tuple(sorted(operations, key=lambda o: o.name)),
        tuple(sorted(services, key=lambda s: s.name)),
    )
    return project, findings


class _Sections:
    """The catalog's sections as the builders read them, with the schemas found."""

    def __init__(
        self, cat: CatalogDoc, versions: dict[str, list[Version]], on_disk: dict[str, set[int]]
    ) -> None:
        self.cat = cat
        self.versions = versions
        self.on_disk = on_disk
        data = cat.data
        self.defaults: dict[str, Any] = data.get("defaults", {})
        self.events: dict[str, Any] = data.get("events") or {}
        self.operations: dict[str, Any] = data.get("operations") or {}
        self.services: dict[str, Any] = data.get("services") or {}
        # request/reply bodies: type -> where the catalog first uses it
        self.message_types: dict[str, str] = {}
        for op_name, op in self.operations.items():
            for role in ("request", "reply"):
                t, _, _ = op[role].partition("@")
                self.message_types.setdefault(t, f"/operations/{op_name}/{role}")

    def compatibility(self, ev: dict[str, Any]) -> str:
        return str(ev.get("compatibility", self.defaults.get("compatibility", "FULL_TRANSITIVE")))

    def semantics(self, ev: dict[str, Any]) -> str:
        return str(ev.get("semantics", self.defaults.get("semantics", "runtime")))

    def retry(self, ev: dict[str, Any]) -> Retry:
        """The schema's defaults, overridden by the catalog's defaults, then the event's."""
        return Retry(
            **{**retry_defaults(), **self.defaults.get("retry", {}), **ev.get("retry", {})}
        )


def _event_types(sections: _Sections) -> tuple[list[EventType], list[Finding]]:
    cat = sections.cat
    types: list[EventType] = []
    findings: list[Finding] = []
    for name, ev in sections.events.items():
        ptr = pointer("events", name)
        if name not in sections.on_disk:
            findings.append(
                cat.finding(
                    ptr,
                    f"The catalog declares event {name} but schemas/events/{name}/v1.json does "
                    f"not exist; run `codegen new {name}`.",
                    "CATALOG_UNKNOWN_TYPE",
                )
            )
            continue
        if len(sections.versions.get(name, [])) != len(sections.on_disk[name]):
            continue  # some version failed lint; its findings say why
        if name in sections.message_types:
            findings.append(
                cat.finding(
                    ptr,
                    f"{name} is used as a request/reply body and cannot also be an event.",
                    "CATALOG_ROLE_CONFLICT",
                )
            )
        config = _event_config(sections, name, ev)
        vs = tuple(sections.versions[name])
        for v in vs:
            findings += _aggregate_id_findings(v, config.aggregate_id or "", cat, ptr)
        types.append(EventType(name, config, vs))
    return types, findings


def _event_config(sections: _Sections, name: str, ev: dict[str, Any]) -> EventConfig:
    retention = ev.get("retention", {})
    durable = ev["delivery"] == "durable"
    return EventConfig(
        delivery=ev["delivery"],
        stream=ev.get("stream") if durable else None,
        subject=ev.get("subject", f"evt.{name}"),
        aggregate_id=ev["aggregate_id"],
        maxlen=retention.get("maxlen"),
        max_age_ms=retention.get("max_age_ms"),
        compatibility=sections.compatibility(ev),
        semantics=sections.semantics(ev),
        retry=sections.retry(ev),
        jetstream=bool(ev.get("jetstream", False)),
        breaking_versions=tuple(sorted(ev.get("breaking_versions", []))),
        partitions=int(ev.get("partitions", 1)) if durable else 1,
        durability=str(ev.get("durability", "default")),
        replicas=int(ev.get("replicas", 1)),
        catalog_line=sections.cat.line_of(pointer("events", name, "partitions")),
    )


def _message_types(sections: _Sections) -> tuple[list[EventType], list[Finding]]:
    """Request/reply bodies: types only operations use (published on msg.<type>)."""
    types = []
    for name in sorted(sections.message_types):
        if name in sections.events:
            continue
        found = sections.versions.get(name)
        if found is None or len(found) != len(sections.on_disk[name]):
            continue  # missing (reported by the operations) or broken (reported by lint)
        config = EventConfig(
            delivery="message",
            stream=None,
            subject=f"msg.{name}",
            aggregate_id=None,
            compatibility=sections.compatibility({}),
            semantics=sections.semantics({}),
            retry=Retry(**retry_defaults()),
        )
        types.append(EventType(name, config, tuple(found)))
    return types, []


def _types_not_in_catalog(sections: _Sections) -> list[Finding]:
    unclaimed = set(sections.on_disk) - set(sections.events) - set(sections.message_types)
    return [
        Finding(
            f"schemas/events/{name}",
            0,
            f"{name} has schemas but the catalog neither declares it under events: nor uses "
            "it in an operation; add it to schemas/catalog.yaml.",
            "TYPE_NOT_IN_CATALOG",
        )
        for name in sorted(unclaimed)
    ]


class _VersionRefs:
    """Resolves `type@N` references of the operations and services."""

    def __init__(self, cat: CatalogDoc, types: list[EventType], on_disk: dict[str, set[int]]):
        self.cat = cat
        self.known = {t.name: {v.version for v in t.versions} for t in types}
        self.broken = {n for n in on_disk if n not in self.known}

    def resolve(self, ref: str, ptr: str) -> tuple[tuple[str, int] | None, list[Finding]]:
        t, _, num = ref.partition("@")
        if t in self.broken:
            return None, []  # lint already reported why this type is unusable
        if t not in self.known:
            return None, [
                self.cat.finding(ptr, f"Unknown message type {t}.", "CATALOG_UNKNOWN_TYPE")
            ]
        if int(num) not in self.known[t]:
            listed = ", ".join(str(x) for x in sorted(self.known[t]))
            return None, [
                self.cat.finding(
                    ptr,
                    f"{t} has no version {num} (versions: {listed}).",
                    "CATALOG_UNKNOWN_VERSION",
                )
            ]
        return (t, int(num)), []


def _operations(sections: _Sections, refs: _VersionRefs) -> tuple[list[Operation], list[Finding]]:
    operations: list[Operation] = []
    findings: list[Finding] = []
    for op_name, op in sections.operations.items():
        req, found = refs.resolve(op["request"], pointer("operations", op_name, "request"))
        findings += found
        rep, found = refs.resolve(op["reply"], pointer("operations", op_name, "reply"))
        findings += found
        if req and rep:
            subject = op.get("subject", f"rpc.{op_name}")
            operations.append(Operation(op_name, subject, req, rep, op.get("timeout_ms", 2000)))
    return operations, findings


def _services(
    sections: _Sections,
    types: list[EventType],
    refs: _VersionRefs,
    service_modules: frozenset[str],
) -> tuple[list[Service], list[Finding]]:
    services: list[Service] = []
    findings: list[Finding] = []
    event_names = {t.name for t in types if t.config.delivery != "message"}
    for svc_name, svc in sections.services.items():
        if not is_valid_service_name(svc_name, service_modules):
            why = (
                "is a Python keyword"
                if keyword.iskeyword(svc_name)
                else "would shadow the module services/" + svc_name + ".py"
            )
            findings.append(
                sections.cat.finding(
                    pointer("services", svc_name),
                    f'"{svc_name}" {why}; pick another service name.',
                    "SERVICE_NAME_INVALID",
                )
            )
            continue
        service, found = _service(sections, svc_name, svc, event_names, refs)
        services.append(service)
        findings += found
    return services, findings


def _service(
    sections: _Sections,
    svc_name: str,
    svc: dict[str, Any],
    event_names: set[str],
    refs: _VersionRefs,
) -> tuple[Service, list[Finding]]:
    cat = sections.cat
    findings: list[Finding] = []
    consumes = []
    for t, num in (svc.get("consumes") or {}).items():
        p = pointer("services", svc_name, "consumes", t)
        if t not in event_names and t in refs.known:
            findings.append(
                cat.finding(
                    p, f"{t} is a request/reply body, not an event.", "CATALOG_ROLE_CONFLICT"
                )
            )
            continue
        ref, found = refs.resolve(f"{t}@{num}", p)
        findings += found
        if ref:
            consumes.append(ref)
    produces = []
    for i, r in enumerate(svc.get("produces") or []):
        ref, found = refs.resolve(r, pointer("services", svc_name, "produces", i))
        findings += found
        if ref:
            produces.append(ref)
    ops = sections.operations
    for key in ("serves", "calls"):
        for i, op_name in enumerate(svc.get(key) or []):
            if op_name not in ops:
                findings.append(
                    cat.finding(
                        pointer("services", svc_name, key, i),
                        f"Unknown operation {op_name}; declare it under operations:.",
                        "CATALOG_UNKNOWN_OPERATION",
                    )
                )
    service = Service(
        svc_name,
        tuple(consumes),
        tuple(produces),
        tuple(o for o in svc.get("serves") or [] if o in ops),
        tuple(o for o in svc.get("calls") or [] if o in ops),
    )
    return service, findings


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

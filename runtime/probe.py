"""Real entries through the real decode path: the evidence half of `codegen check --samples`.

For every sampled stream entry:

1. the envelope is parsed as the consumer parses it (`Envelope.from_fields`);
2. its payload is held against the contract of the version it claims: decoded with that
   version's generated model, then walked for what a generated writer never sends
   (`runtime.contract`: nulls the schema forbids; undeclared properties, for types the
   gate judges with `runtime` semantics);
3. every reader of its type decodes it exactly as a running consumer would: a
   `Dispatcher` built for that reader (its declared version, the versions its registry
   knows, its read plans and the upcasters it has) processes the entry with a handler
   that does nothing. Whatever the Dispatcher would dead-letter is a finding, with the
   reason it would record.

codegen never imports the runtime: it runs `python -m runtime.probe` in the project with a
JSON request on stdin (sources, streams, readers, semantics) and reads a JSON result from
stdout. The project's own generated registry and upcasters are loaded, as `schemabus run`
loads them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from runtime.contract import Contract
from runtime.dispatch import Dispatcher, UpcasterMap, _short
from runtime.envelope import Envelope, MalformedEnvelope
from runtime.errors import ConfigError, SchemabusError, Undeliverable
from runtime.sampling import Sample, read_jsonl, read_streams
from runtime.spec import Context, ReadPlan, Registry, Subscription
from runtime.transport import Inbound

UNREADABLE = "SAMPLE_UNREADABLE"
OFF_CONTRACT = "SAMPLE_OFF_CONTRACT"
UNDECLARED = "SAMPLE_UNDECLARED_PROPERTY"
UNKNOWN_EVENT = "SAMPLE_UNKNOWN_EVENT"
MALFORMED = "SAMPLE_MALFORMED"


@dataclass(frozen=True)
class ReaderSpec:
    """One way of reading a type. `known` / `plans` / `upcasters` None: as this project's
    registry and upcaster module do (a consumer built from these contracts)."""

    label: str
    type: str
    version: int
    known: Mapping[int, str] | None = None
    plans: Mapping[int, tuple[str, tuple[tuple[str, int, int], ...]]] | None = None
    upcasters: frozenset[tuple[str, int, int]] | None = None

    def config(self) -> bytes:
        """Readers with equal configs decode identically: decode once for all of them."""
        return orjson.dumps(
            [
                self.type,
                self.version,
                None if self.known is None else sorted(self.known.items()),
                None if self.plans is None else sorted(self.plans.items()),
                None if self.upcasters is None else sorted(self.upcasters),
            ]
        )


@dataclass
class Problem:
    rule: str
    reason: str
    readers: list[str] = field(default_factory=list)
    dlq_reason: str = ""


async def _noop(event: Any, ctx: Context) -> None:
    return None


class Probe:
    def __init__(
        self,
        registry: Registry,
        upcasters: UpcasterMap,
        readers: Sequence[ReaderSpec],
        *,
        semantics: Mapping[str, str] | None = None,
        max_payload_bytes: int = 1_048_576,
    ) -> None:
        self.registry = registry
        self.semantics = dict(semantics or {})
        #: reader config -> (labels, dispatcher); per type
        self.readers: dict[str, list[tuple[list[str], Dispatcher]]] = defaultdict(list)
        #: readers that cannot be reproduced here, with the reason (reported once)
        self.skipped: list[tuple[str, str]] = []
        self._contracts: dict[tuple[str, int], Contract] = {}
        groups: dict[bytes, list[ReaderSpec]] = defaultdict(list)
        for reader in readers:
            groups[reader.config()].append(reader)
        for specs in groups.values():
            first = specs[0]
            labels = sorted(s.label for s in specs)
            try:
                dispatcher = self._dispatcher(first, upcasters, max_payload_bytes)
            except (ConfigError, LookupError) as exc:
                self.skipped += [(label, str(exc)) for label in labels]
                continue
            self.readers[first.type].append((labels, dispatcher))

    def _dispatcher(
        self, reader: ReaderSpec, upcasters: UpcasterMap, max_payload_bytes: int
    ) -> Dispatcher:
        registry = self.registry
        target = registry.spec(reader.type, reader.version)
        ups: UpcasterMap = upcasters
        if reader.known is not None:
            for version, fp in sorted(reader.known.items()):
                mine = registry.events.get((reader.type, version))
                if mine is not None and mine.fingerprint != fp:
                    raise ConfigError(
                        f"its build's {reader.type} v{version} differs from this project's, "
                        "so its decoding cannot be reproduced here"
                    )
            # Only the versions its build knows: any other is unknown to it.
            events = {
                k: v
                for k, v in registry.events.items()
                if k[0] != reader.type or k[1] in reader.known
            }
            plans = {
                (reader.type, source, reader.version): ReadPlan(
                    reader.type,
                    source,
                    reader.version,
                    "upcast" if via == "upcast" else "direct",
                    steps,
                )
                for source, (via, steps) in (reader.plans or {}).items()
                if source != reader.version
            }
            registry = Registry(events=events, operations=registry.operations, read_plans=plans)
        if reader.upcasters is not None:
            missing = sorted(k for k in reader.upcasters if k not in upcasters)
            needed = {k for _, steps in (reader.plans or {}).values() for k in steps}
            if missing and needed & set(missing):
                raise ConfigError(
                    f"it upcasts with {missing[0]!r}, which this project's upcasters lack"
                )
            ups = {k: fn for k, fn in upcasters.items() if k in reader.upcasters}
        return Dispatcher(
            [Subscription(target, _noop)],
            registry,
            ups,
            max_payload_bytes=max_payload_bytes,
        )

    def _contract(self, type_: str, version: int) -> Contract:
        key = (type_, version)
        contract = self._contracts.get(key)
        if contract is None:
            schema = orjson.loads(self.registry.events[key].schema_json)
            declared_only = self.semantics.get(type_, "runtime") == "runtime"
            contract = self._contracts[key] = Contract(schema, declared_only=declared_only)
        return contract

    async def check(self, sample: Sample) -> list[Problem]:
        try:
            env = Envelope.from_fields(sample.fields)
        except MalformedEnvelope as exc:
            return [Problem(MALFORMED, f"not an envelope: {exc}", dlq_reason="malformed")]
        spec = self.registry.events.get((env.type, env.dataversion))
        if spec is None:
            known = self.registry.versions(env.type)
            what = (
                f"{env.type} has no version {env.dataversion} in these contracts"
                if known
                else f"{env.type} is not in these contracts"
            )
            return [Problem(UNKNOWN_EVENT, what, dlq_reason="unknown_event")]
        problems = self._writer(env, spec.model)
        inbound = Inbound(sample.key, sample.id, 1, env, None, sample.fields)
        for labels, dispatcher in self.readers.get(env.type, ()):
            try:
                await dispatcher.process(inbound)
            except Undeliverable as exc:
                problems.append(Problem(UNREADABLE, str(exc), list(labels), exc.reason))
        return problems

    def _writer(self, env: Envelope, model: type[Any]) -> list[Problem]:
        where = f"{env.type} v{env.dataversion}"
        try:
            doc = orjson.loads(env.data)
        except orjson.JSONDecodeError as exc:
            return [Problem(OFF_CONTRACT, f"the data is not JSON: {exc}")]
        try:
            model.model_validate_json(env.data)
        except Exception as exc:
            return [Problem(OFF_CONTRACT, f"it is not a valid {where}: {_short(exc)}")]
        found = self._contract(env.type, env.dataversion).first_violation(doc)
        if found is None:
            return []
        rule = UNDECLARED if "not a declared property" in found else OFF_CONTRACT
        return [Problem(rule, f"in {where}, {found}")]


@dataclass
class StreamCount:
    checked: int = 0
    passed: int = 0


async def run(
    probe: Probe, samples: Iterable[Sample], *, source: str, show_payloads: bool
) -> tuple[dict[str, StreamCount], list[dict[str, Any]]]:
    counts: dict[str, StreamCount] = defaultdict(StreamCount)
    findings: list[dict[str, Any]] = []
    for sample in samples:
        count = counts[sample.stream]
        count.checked += 1
        problems = await probe.check(sample)
        if not problems:
            count.passed += 1
            continue
        head = _head(sample)
        for p in problems:
            item = {
                "source": source,
                "stream": sample.stream,
                "key": sample.key,
                "id": sample.id,
                **head,
                "rule": p.rule,
                "readers": p.readers,
                "reason": p.reason,
                "dlq_reason": p.dlq_reason,
            }
            if show_payloads:
                data = sample.fields.get(b"data")
                item["payload"] = (
                    data.decode("utf-8", "replace")
                    if data is not None
                    else orjson.dumps(
                        {
                            k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                            for k, v in sample.fields.items()
                        }
                    ).decode()
                )
            findings.append(item)
    return counts, findings


def _head(sample: Sample) -> dict[str, Any]:
    try:
        version: int | None = int(sample.fields.get(b"dataversion", b""))
    except ValueError:
        version = None
    t = sample.fields.get(b"type")
    return {"type": t.decode("utf-8", "replace") if t else None, "version": version}


# --- `python -m runtime.probe` ---------------------------------------------------------


def _readers(raw: Sequence[Mapping[str, Any]]) -> list[ReaderSpec]:
    out = []
    for r in raw:
        plans = r.get("plans")
        ups = r.get("upcasters")
        known = r.get("known")
        out.append(
            ReaderSpec(
                label=str(r["label"]),
                type=str(r["type"]),
                version=int(r["version"]),
                known=None if known is None else {int(k): str(v) for k, v in known.items()},
                plans=None
                if plans is None
                else {
                    int(k): (
                        str(v["via"]),
                        tuple((str(a), int(b), int(c)) for a, b, c in v["upcasters"]),
                    )
                    for k, v in plans.items()
                },
                upcasters=None
                if ups is None
                else frozenset((str(a), int(b), int(c)) for a, b, c in ups),
            )
        )
    return out


async def _samples(source: str, streams: Sequence[tuple[str, int]], count: int) -> list[Sample]:
    if "://" not in source:
        return list(read_jsonl(Path(source)))
    from runtime.redis_conn import make_client
    from runtime.settings import RedisSettings

    client = make_client(RedisSettings.from_url(source).client_kwargs())
    try:
        return await read_streams(client, streams, count)
    finally:
        await client.aclose()


async def main_async(request: Mapping[str, Any]) -> dict[str, Any]:
    from runtime.cli import DEFAULT_REGISTRY, DEFAULT_UPCASTERS, load_object

    registry = load_object(os.environ.get("SCHEMABUS_REGISTRY") or DEFAULT_REGISTRY, "registry")
    if not isinstance(registry, Registry):
        raise ConfigError("the registry object is not a runtime.spec.Registry")
    try:
        upcasters = load_object(
            os.environ.get("SCHEMABUS_UPCASTERS") or DEFAULT_UPCASTERS, "upcasters"
        )
    except ConfigError:
        upcasters = {}
    probe = Probe(
        registry,
        upcasters,
        _readers(request.get("readers", [])),
        semantics=request.get("semantics", {}),
        max_payload_bytes=int(request.get("max_payload_bytes", 1_048_576)),
    )
    streams = [(str(s), int(n)) for s, n in request.get("streams", [])]
    results = []
    for source in request["sources"]:
        started = time.perf_counter()
        samples = await _samples(source["where"], streams, int(request.get("count", 1000)))
        read_s = time.perf_counter() - started
        counts, findings = await run(
            probe, samples, source=source["label"], show_payloads=bool(request.get("show_payloads"))
        )
        results.append(
            {
                "source": source["label"],
                "streams": {k: vars(v) for k, v in sorted(counts.items())},
                "findings": findings,
                "seconds": {"read": read_s, "check": time.perf_counter() - started - read_s},
            }
        )
    return {
        "results": results,
        "skipped": [{"reader": r, "reason": why} for r, why in probe.skipped],
    }


def _error(message: str) -> int:
    """One line; codegen shows it as the reason the samples could not be checked."""
    sys.stdout.write(orjson.dumps({"error": message}).decode())
    return 2


def main() -> int:
    try:
        request = orjson.loads(sys.stdin.buffer.read())
        result = asyncio.run(main_async(request))
    except SchemabusError as exc:
        return _error(str(exc))
    except Exception as exc:  # a broker or file error, a broken sample file
        return _error(f"{type(exc).__name__}: {exc}")
    sys.stdout.write(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

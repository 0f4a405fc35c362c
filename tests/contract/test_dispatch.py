"""Every service x consumed event x published version: an event written by a producer of
that version reaches the service's handler as the model the service declared, through the
real dispatch path on the in-memory bus (or the test names the upcaster to write).
Services, events and versions are discovered from the generated code, never listed."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from typing import Any

import pytest
from pydantic import BaseModel

import generated.services
from generated.registry import REGISTRY
from runtime.bus import Bus
from runtime.memory import MemoryTransport
from runtime.settings import ConsumerSettings, Settings
from runtime.spec import Context, EventSpec, ServiceWiring
from services.upcasters import UPCASTERS

# The in-memory bus never blocks long; drain() needs only short idle fetches.
FAST = Settings(redis=None, consumer=ConsumerSettings(block_ms=5))


def _services() -> list[tuple[str, type[Any], Any]]:
    found = []
    for info in pkgutil.iter_modules(generated.services.__path__):
        module = importlib.import_module(f"generated.services.{info.name}")
        base = next(
            obj
            for name, obj in vars(module).items()
            if name.endswith("Handlers") and inspect.isclass(obj) and inspect.isabstract(obj)
        )
        found.append((info.name, base, module.wire))
    return sorted(found, key=lambda s: s[0])


def _recorder(base: type[Any]) -> tuple[Any, list[tuple[str, BaseModel]]]:
    calls: list[tuple[str, BaseModel]] = []
    namespace: dict[str, Any] = {}
    for method in sorted(base.__abstractmethods__):

        async def record(self: Any, event: BaseModel, ctx: Context, _m: str = method) -> None:
            calls.append((_m, event))

        namespace[method] = record
    return type(f"Recording{base.__name__}", (base,), namespace)(), calls


CASES = [
    (name, sub.spec, version)
    for name, base, wire in _services()
    for sub in wire(_recorder(base)[0]).subscriptions
    for version in REGISTRY.versions(sub.spec.type)
]


def _examples(spec: EventSpec) -> list[Any]:
    return list(json.loads(spec.schema_json).get("examples", []))


@pytest.mark.parametrize(
    ("service", "declared", "version"),
    CASES,
    ids=[f"{s}:{d.type}@{v}->v{d.version}" for s, d, v in CASES],
)
async def test_published_version_reaches_handler_as_declared_model(
    service: str, declared: EventSpec, version: int
) -> None:
    written = REGISTRY.spec(declared.type, version)
    plan = REGISTRY.read_plan(declared.type, version, declared.version)
    assert plan is not None, (
        f"{service} declares {declared.type} v{declared.version} and cannot read v{version}; "
        f"the gate found no safe decoding and no upcaster path"
    )
    for step in plan.upcasters:
        assert step in UPCASTERS, f"write upcaster {step} in services/upcasters.py"

    base, wire = next((b, w) for n, b, w in _services() if n == service)
    handlers, calls = _recorder(base)
    wiring: ServiceWiring = wire(handlers)
    transport = MemoryTransport()
    producer = Bus.in_memory(REGISTRY, source="old-producer", transport=transport)
    consumer = Bus.in_memory(
        REGISTRY, source=service, transport=transport, upcasters=UPCASTERS, settings=FAST
    )
    runner = consumer.service(wiring)
    examples = _examples(written)
    for example in examples:
        await producer.publish(written.model.model_validate(example))
    await runner.drain()
    got = [event for method, event in calls if method == f"on_{declared.type.replace('.', '_')}"]
    assert len(got) == len(examples), f"handled {len(got)} of {len(examples)}"
    # Examples may sit in different partitions, so they can arrive in any order: pair
    # each with the handled event that carries its shared fields unchanged.
    unmatched = [event.model_dump(mode="json", by_alias=True) for event in got]
    assert all(type(event) is declared.model for event in got)
    for example in examples:
        match = next(
            (d for d in unmatched if all(d[k] == v for k, v in example.items() if k in d)),
            None,
        )
        assert match is not None, f"no handled event carries {example} unchanged"
        unmatched.remove(match)
    assert runner.dead_lettered == 0


def test_every_service_is_covered() -> None:
    names = {name for name, _, _ in _services()}
    assert names == {"order", "payment", "inventory"}
    assert {(s, d.type) for s, d, _ in CASES} >= {("payment", "order.created")}

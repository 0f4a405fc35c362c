"""The differential oracle: a "compatible" verdict is disproved by one instance.

strict: the instance is valid for the writer schema and invalid for the reader schema
(jsonschema Draft 2020-12 with the format checker, through ``codegen.validation``, whose
patterns run on the same Rust regex engine the generated models use).

runtime: the instance is valid for the writer schema, the generated writer model accepts
it, and the generated reader model rejects the bytes the runtime writer emits for it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codegen.compat import compare
from codegen.validation import validator_for

from .instances import candidates

Models = Callable[[Any], Any]  # schema -> generated model class (or None)


@dataclass
class Failure:
    semantics: str
    direction: str  # "backward": writer old, reader new; "forward": the reverse
    old: Any
    new: Any
    instance: Any
    kind: str = "unsafe"  # "unsafe" verdict or "crash" of the engine
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "semantics": self.semantics,
            "direction": self.direction,
            "old": self.old,
            "new": self.new,
            "instance": self.instance,
            "detail": self.detail,
        }


@dataclass
class Stats:
    pairs: int = 0
    directions: int = 0
    compatible: int = 0
    instances: int = 0
    unmodelled: int = 0
    equivalent_directions: int = 0
    false_alarms: int = 0
    failures: list[Failure] = field(default_factory=list)
    alarm_examples: list[tuple[Any, Any]] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        for name in ("pairs", "directions", "compatible", "instances", "unmodelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.equivalent_directions += other.equivalent_directions
        self.false_alarms += other.false_alarms
        self.failures += other.failures
        self.alarm_examples += other.alarm_examples


def _valid(validator: Any, instance: Any) -> bool | None:
    try:
        return bool(validator.is_valid(instance))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # jsonschema cannot evaluate it (a panic in rpds on deep
        return None  # recursion is a BaseException): no evidence either way


def strict_disproof(writer: Any, reader: Any, instances: list[Any]) -> Any:
    """The first instance valid for ``writer`` and invalid for ``reader`` (or _NONE)."""
    try:
        wv, rv = validator_for(writer), validator_for(reader)
    except Exception:
        return _NONE
    for instance in instances:
        if _valid(wv, instance) and _valid(rv, instance) is False:
            return instance
    return _NONE


def runtime_disproof(writer: Any, reader: Any, instances: list[Any], models: Models) -> Any:
    from pydantic import ValidationError

    from runtime.wire import writer_for

    writer_model, reader_model = models(writer), models(reader)
    if writer_model is None or reader_model is None:
        return UNMODELLED
    try:
        wv = validator_for(writer)
        write = writer_for(writer_model, json.dumps(writer))
    except Exception:
        return _NONE
    for instance in instances:
        if not _valid(wv, instance):
            continue
        try:
            emitted = writer_model.model_validate(instance)
        except ValidationError:
            continue  # the generated writer refuses it: a generated producer never emits it
        except Exception:
            continue
        try:
            data = write(emitted)
        except Exception:
            continue  # the writer cannot serialise it: never published
        try:
            writer_model.model_validate_json(data)
        except Exception:
            continue  # the model cannot read its own event: a generator/wire defect, no verdict
        try:
            reader_model.model_validate_json(data)
        except Exception:  # ValidationError, or a TypeError from a misapplied constraint
            return instance
    return _NONE


class _None:
    def __repr__(self) -> str:
        return "<no instance>"


_NONE = _None()
UNMODELLED = _None()  # the generator could not model one side: no evidence either way


def disproof(
    semantics: str, writer: Any, reader: Any, instances: list[Any], models: Models | None
) -> Any:
    if semantics == "strict":
        return strict_disproof(writer, reader, instances)
    assert models is not None
    return runtime_disproof(writer, reader, instances, models)


def is_disproof(value: Any) -> bool:
    return value is not _NONE and value is not UNMODELLED


def judge(
    kind: str,
    old: Any,
    new: Any,
    semantics: str,
    rng: random.Random,
    *,
    models: Models | None = None,
    budget: int = 400,
) -> Stats:
    """Judge one pair in one semantics and try to disprove each compatible direction."""
    stats = Stats(pairs=1, directions=2)
    try:
        report = compare(old, new, semantics=semantics)  # type: ignore[arg-type]
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a crash is a failure, rpds' PanicException included
        stats.failures.append(
            Failure(semantics, "both", old, new, None, "crash", f"{type(exc).__name__}: {exc}")
        )
        return stats
    if kind == "equivalent":
        stats.equivalent_directions = 2
        stats.false_alarms = (not report.backward) + (not report.forward)
        if stats.false_alarms:
            stats.alarm_examples.append((old, new))
    for direction, ok, writer, reader in (
        ("backward", report.backward, old, new),
        ("forward", report.forward, new, old),
    ):
        if not ok:
            continue
        stats.compatible += 1
        instances = candidates(writer, reader, rng, budget=budget)
        stats.instances += len(instances)
        found = disproof(semantics, writer, reader, instances, models)
        stats.unmodelled += found is UNMODELLED
        if is_disproof(found):
            stats.failures.append(Failure(semantics, direction, old, new, found))
    return stats

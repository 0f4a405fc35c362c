"""Run the differential fuzzer: N random pairs from a seed, in strict and runtime semantics.

``make fuzz`` calls ``python -m tests.compat.fuzz`` (a longer run); failures are minimized
and appended to ``regressions.json``, which the test suite replays on every run.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from .oracle import Failure, Models, Stats, disproof, is_disproof, judge
from .schemas import Gen, pair

REGRESSIONS = Path(__file__).with_name("regressions.json")


def strict_pairs(count: int, seed: int) -> list[tuple[str, Any, Any]]:
    gen = Gen(random.Random(seed))
    return [pair(gen) for _ in range(count)]


def runtime_pairs(count: int, seed: int) -> list[tuple[str, Any, Any]]:
    """Object roots only: runtime semantics judges event payloads, which are objects."""
    gen = Gen(random.Random(seed), object_root=True)
    return [pair(gen) for _ in range(count)]


def model_lookup(schemas: list[Any]) -> Models:
    import warnings

    from tests.compat.modelkit import models_for

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the generator warns about every dropped constraint
        found = models_for(schemas)
    return lambda schema: found.get(json.dumps(schema, sort_keys=True))


def run(count: int, seed: int, semantics: str, *, budget: int = 400, log: Any = None) -> Stats:
    pairs = strict_pairs(count, seed) if semantics == "strict" else runtime_pairs(count, seed)
    models = (
        model_lookup([s for _, o, n in pairs for s in (o, n)]) if semantics == "runtime" else None
    )
    rng = random.Random(seed ^ 0x5EED)
    total = Stats()
    for i, (kind, old, new) in enumerate(pairs):
        stats = judge(kind, old, new, semantics, rng, models=models, budget=budget)
        total.merge(stats)
        if log is not None and stats.failures:
            for failure in stats.failures:
                log(f"[{semantics} #{i}] {failure.kind} {failure.direction}: {failure.detail}")
    return total


# --- minimization ----------------------------------------------------------------------


def _reductions(schema: Any) -> list[Any]:
    """Smaller variants of ``schema``: one keyword, branch or property removed, or one
    subschema replaced by ``true``."""
    out: list[Any] = []
    if isinstance(schema, bool) or not isinstance(schema, dict):
        return out
    if schema:
        out.append(True)
    for key in list(schema):
        smaller = {k: v for k, v in schema.items() if k != key}
        out.append(smaller)
    for key, value in schema.items():
        if isinstance(value, dict) and key not in ("enum", "const"):
            if key in ("properties", "patternProperties", "dependentSchemas", "$defs"):
                for name in value:
                    out.append({**schema, key: {k: v for k, v in value.items() if k != name}})
                    for sub in _reductions(value[name]):
                        out.append({**schema, key: {**value, name: sub}})
            else:
                for sub in _reductions(value):
                    out.append({**schema, key: sub})
        elif isinstance(value, list) and key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            for i in range(len(value)):
                if len(value) > 1:
                    out.append({**schema, key: value[:i] + value[i + 1 :]})
                for sub in _reductions(value[i]):
                    out.append({**schema, key: [*value[:i], sub, *value[i + 1 :]]})
    return out


def still_fails(failure: Failure, old: Any, new: Any, models: Models | None) -> Any:
    """The instance disproving ``old``/``new`` in the failure's direction, or None."""
    from codegen.compat import compare

    from .instances import candidates

    try:
        report = compare(old, new, semantics=failure.semantics)  # type: ignore[arg-type]
    except Exception:
        return None if failure.kind != "crash" else {"crash": True}
    if failure.kind == "crash":
        return None
    ok = report.backward if failure.direction == "backward" else report.forward
    if not ok:
        return None
    writer, reader = (old, new) if failure.direction == "backward" else (new, old)
    tries = [failure.instance, *candidates(writer, reader, random.Random(0), budget=300)]
    found = disproof(failure.semantics, writer, reader, tries, models)
    return found if is_disproof(found) else None


def minimize(failure: Failure, models: Models | None = None, rounds: int = 200) -> Failure:
    old, new, instance = copy.deepcopy(failure.old), copy.deepcopy(failure.new), failure.instance
    for _ in range(rounds):
        for side in ("old", "new"):
            current = old if side == "old" else new
            for smaller in _reductions(current):
                if failure.semantics == "runtime" and not (
                    isinstance(smaller, dict) and smaller.get("type") == "object"
                ):
                    continue
                trial_old, trial_new = (smaller, new) if side == "old" else (old, smaller)
                if models is not None:
                    models = model_lookup([trial_old, trial_new])
                found = still_fails(failure, trial_old, trial_new, models)
                if found is not None:
                    old, new, instance = trial_old, trial_new, found
                    break
            else:
                continue
            break
        else:
            break
    return Failure(failure.semantics, failure.direction, old, new, instance, failure.kind)


def load_regressions() -> list[dict[str, Any]]:
    if not REGRESSIONS.exists():
        return []
    data = json.loads(REGRESSIONS.read_text("utf-8"))
    return list(data)


def save_regressions(entries: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = json.dumps(entry, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    REGRESSIONS.write_text(json.dumps(unique, indent=1, sort_keys=True) + "\n", "utf-8")

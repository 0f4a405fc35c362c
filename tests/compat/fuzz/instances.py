"""Instance sampling for the differential oracle.

Candidates for one schema pair come from: values sampled to satisfy either schema, the
constants both schemas mention (enum/const values, bounds and their neighbours, names),
every JSON type put into every slot of a sampled instance, and small mutations (a
property added or dropped, an item appended or removed). Only validity decides: a
candidate that disproves a "compatible" verdict is valid for the writer and not for
the reader, whatever produced it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from typing import Any

from .schemas import NAMES, STRINGS

REPRESENTATIVES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    3,
    0.5,
    0.3,
    10,
    1.5,
    "",
    "a",
    "ab",
    "b",
    "xa",
    "aaaa",
    [],
    [0],
    ["a"],
    [0, 0],
    [None, "a", 1],
    {},
    {"a": 0},
    {"b": "a"},
    {"a": None, "b": 1},
)
EXTRA_NAMES = (*NAMES, "b", "x", "xa", "ba", "c")
FORMAT_VALUES = ("2024-01-01", "user@example.com", "123e4567-e89b-42d3-a456-426614174000")
MAX_DEPTH = 5


def _walk(schema: Any) -> Iterator[dict[str, Any]]:
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            for key, value in node.items():
                if key in ("enum", "const", "examples", "default"):
                    continue
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def constants(schemas: list[Any]) -> list[Any]:
    """Scalars and names the schemas mention, with numeric neighbours."""
    out: list[Any] = [*REPRESENTATIVES, *FORMAT_VALUES]
    for schema in schemas:
        for node in _walk(schema):
            if "const" in node:
                out.append(node["const"])
            for value in node.get("enum", []) if isinstance(node.get("enum"), list) else []:
                out.append(value)
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                value = node.get(key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out += [value, value - 1, value + 1, value - 0.5, value + 0.5]
            step = node.get("multipleOf")
            if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
                out += [step * k for k in (1, 2, 3, 7)] + [step / 2]
            for key in ("minLength", "maxLength"):
                value = node.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    out += ["a" * max(value - 1, 0), "a" * value, "a" * (value + 1)]
    return out


class Sampler:
    """Random instances that probably satisfy a schema (validation decides)."""

    def __init__(self, rng: random.Random, root: Any) -> None:
        self.rng = rng
        self.root = root

    def _resolve(self, node: Any) -> Any:
        for _ in range(8):
            if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
                return node
            ref = node["$ref"]
            target = self.root
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
                if not isinstance(target, dict) or part not in target:
                    return node
                target = target[part]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **rest} if isinstance(target, dict) else target
        return node

    def sample(self, schema: Any, depth: int = 0) -> Any:
        schema = self._resolve(schema)
        rng = self.rng
        if schema is False:
            return rng.choice(REPRESENTATIVES)
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return rng.choice(REPRESENTATIVES)
        if "const" in schema and rng.random() < 0.9:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"] and rng.random() < 0.9:
            return rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches and rng.random() < 0.7:
                branch = self._resolve(rng.choice(branches))
                rest = {k: v for k, v in schema.items() if k != key}
                if isinstance(branch, dict):
                    return self.sample({**rest, **branch}, depth + 1)
        if "if" in schema and rng.random() < 0.5:
            chosen = schema.get("then") if rng.random() < 0.5 else schema.get("else")
            rest = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
            if isinstance(chosen, dict):
                return self.sample({**rest, **chosen}, depth + 1)
        declared = schema.get("type")
        types = [declared] if isinstance(declared, str) else list(declared or [])
        if not types:
            types = ["null", "boolean", "integer", "number", "string", "array", "object"]
        kind = rng.choice(types)
        return getattr(self, "_" + kind, self._null)(schema, depth)

    def _null(self, schema: dict[str, Any], depth: int) -> Any:
        return None

    def _boolean(self, schema: dict[str, Any], depth: int) -> Any:
        return self.rng.random() < 0.5

    def _integer(self, schema: dict[str, Any], depth: int) -> Any:
        return int(self._number(schema, depth, integer=True))

    def _number(self, schema: dict[str, Any], depth: int, *, integer: bool = False) -> Any:
        rng = self.rng
        low = schema.get("minimum", schema.get("exclusiveMinimum", -5))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 10))
        if not all(isinstance(v, (int, float)) for v in (low, high)) or low > high:
            low, high = -5, 10
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
            k = rng.randint(math.floor(low / step) - 1, math.ceil(high / step) + 1)
            value: float = k * step
        elif integer or rng.random() < 0.5:
            lo, hi = math.ceil(low), math.floor(high)
            value = rng.randint(lo, hi) if lo <= hi else lo
        else:
            value = round(rng.uniform(low, high), 1)
        return value

    def _string(self, schema: dict[str, Any], depth: int) -> Any:
        rng = self.rng
        fmt = schema.get("format")
        if fmt == "date":
            return "2024-01-01"
        if fmt == "email":
            return "user@example.com"
        if fmt == "uuid":
            return "123e4567-e89b-42d3-a456-426614174000"
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", 4)
        low = low if isinstance(low, int) else 0
        high = high if isinstance(high, int) and high >= low else low + 3
        candidates = [s for s in (*STRINGS, "aaa", "aab", "xab") if low <= len(s) <= high]
        if candidates and rng.random() < 0.7:
            return rng.choice(candidates)
        return "a" * rng.randint(low, high)

    def _array(self, schema: dict[str, Any], depth: int) -> Any:
        rng = self.rng
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", 3)
        low = low if isinstance(low, int) else 0
        high = high if isinstance(high, int) and high >= low else low + 2
        count = rng.randint(low, min(high, low + 3))
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        out = []
        for i in range(count):
            if i < len(prefix):
                sub = prefix[i]
            elif "items" in schema:
                sub = schema["items"]
            elif "contains" in schema and rng.random() < 0.5:
                sub = schema["contains"]
            else:
                sub = schema.get("unevaluatedItems", True)
            out.append(self.sample(sub, depth + 1))
        return out

    def _object(self, schema: dict[str, Any], depth: int) -> Any:
        rng = self.rng
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        out: dict[str, Any] = {}
        for name in sorted({*required, *[p for p in props if rng.random() < 0.6]}):
            out[name] = self.sample(props.get(name, True), depth + 1)
        if rng.random() < 0.3:
            name = rng.choice(EXTRA_NAMES)
            if name not in out:
                extra = schema.get("additionalProperties", True)
                out[name] = self.sample(props.get(name, extra), depth + 1)
        return out


def _slots(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if len(path) > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, v in value.items():
            yield from _slots(v, (*path, key))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _slots(v, (*path, i))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    items = list(value)
    items[head] = _replace(items[head], rest, new)
    return items


def _edits(value: Any, rng: random.Random, pool: list[Any]) -> Iterator[Any]:
    """Every type in every slot, and structural mutations, of one base instance."""
    for path in _slots(value):
        inner = value
        for token in path:
            inner = inner[token]
        for rep in rng.sample(pool, min(len(pool), 10)):
            yield _replace(value, path, rep)
        if isinstance(inner, dict):
            for name in EXTRA_NAMES:
                if name not in inner:
                    yield _replace(value, path, {**inner, name: rng.choice(pool)})
            for name in list(inner)[:3]:
                yield _replace(value, path, {k: v for k, v in inner.items() if k != name})
        elif isinstance(inner, list):
            yield _replace(value, path, [*inner, rng.choice(pool)])
            yield _replace(value, path, [*inner, *inner])
            if inner:
                yield _replace(value, path, inner[:-1])


def candidates(
    writer: Any, reader: Any, rng: random.Random, *, samples: int = 12, budget: int = 400
) -> list[Any]:
    """Deduplicated candidate instances for one (writer, reader) direction."""
    pool = constants([writer, reader])
    out: dict[str, Any] = {}

    def add(value: Any) -> None:
        try:
            key = json.dumps(value, sort_keys=True, allow_nan=False)
        except ValueError:
            return
        if key not in out and len(out) < budget:
            out[key] = value

    for value in pool:
        add(value)
    bases: list[Any] = []
    for schema in (writer, reader):
        sampler = Sampler(rng, schema)
        for _ in range(samples):
            value = sampler.sample(schema)
            bases.append(value)
            add(value)
    # round-robin over the bases so that every one of them gets its slot edits
    streams = [_edits(base, rng, pool) for base in bases]
    while streams and len(out) < budget:
        for stream in list(streams):
            edited = next(stream, _DONE)
            if edited is _DONE:
                streams.remove(stream)
            else:
                add(edited)
    return list(out.values())


_DONE = object()

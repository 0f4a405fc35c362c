"""Differential fuzz: `render.direct` against datamodel-code-generator (+ `finish`).

Random model inputs, in the exact form `render.python` hands to the generator: event
modules (a root object, shared shapes as token placeholders) and defs modules. The shapes
are those `direct` writes plus near misses (formats, defaults, nullable types, unique
items, hostile names and literals, name collisions, long lines), so both its answers and
its refusals are exercised. A discrepancy is a module `direct` wrote that differs from the
generator's text, or that the generator refuses.

    python -m tests.codegen.direct_fuzz --count 2000 --seed 7
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from typing import Any

from codegen.render.direct import direct_source
from codegen.render.models import Job, _run_generator, model_input
from codegen.render.shared import defs_root_title

FIELDS = [
    "id", "customer", "amount", "lines", "status", "field_2", "data", "items", "address",
    "x1", "a_b_c", "order_id", "tags", "children", "money", "line_item", "sku", "qty",
]  # fmt: skip
HOSTILE_FIELDS = [
    "class", "model_x", "json", "copy", "schema", "self", "type", "list", "str", "int",
    "field", "Field", "root", "annotations", "_x", "x_", "a__b", "Caps", "with-dash", "1abc",
    "über", "x y", "validate", "dict", "fields", "construct", "match", "case", "__init__",
    "base_model", "config_dict", "literal", "model_config", "none", "true", "any", "date",
    "float", "bool", "format", "hash", "min", "max", "type", "id", "input", "object", "set",
    "false", "exception", "warning", "ellipsis", "not_implemented", "base_exception",
]  # fmt: skip
CLASSES = ["Money", "LineItem", "Address", "Line", "Customer", "Item", "Status", "Datum"]
HOSTILE_CLASSES = ["Field", "Model", "BaseModel", "Literal", "ConfigDict", "Root", "Any"]
TEXTS = [
    "a", "new", "paid", "EUR", "x-1", "it's", "a\\b", 'say "hi"', "ü", "", " ", "tab\there",
    "x" * 60, "#", "{}", "\u2028", "a'b\"c",
]  # fmt: skip
PATTERNS = [
    "^[A-Z]{3}$", "^\\d+$", "\\w\\\\", "a\\\\b\\d", "\\d\\", "^[a-z]+(-[a-z]+)*$", "a'b", 'q"',
    "\\\\", "^é$", "",
]  # fmt: skip
NUMBERS: list[Any] = [0, 1, -1, 10, 10000, 0.5, 0.1, 2.5, 1e20, 2**60, -3.75, True, 1.0]


@dataclass
class Gen:
    rng: random.Random
    tokens: list[str]

    def name(self) -> str:
        pool = HOSTILE_FIELDS if self.rng.random() < 0.15 else FIELDS
        return self.rng.choice(pool)

    def obj(self, depth: int) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for _ in range(self.rng.randint(0 if self.rng.random() < 0.05 else 1, 5)):
            props[self.name()] = self.node(depth + 1)
        node: dict[str, Any] = {"type": "object", "properties": props}
        if self.rng.random() < 0.03:
            del node["type"]
        names = list(props)
        if names and self.rng.random() < 0.7:
            node["required"] = self.rng.sample(names, self.rng.randint(0, len(names)))
            if self.rng.random() < 0.04:
                node["required"].append("missing")
        r = self.rng.random()
        if r < 0.2:
            node["additionalProperties"] = False
        elif r < 0.25:
            node["additionalProperties"] = True
        elif r < 0.28:
            node["additionalProperties"] = {"type": "string"}
        if self.rng.random() < 0.03:
            node["minProperties"] = 1
        return node

    def node(self, depth: int) -> dict[str, Any]:
        kinds = ["string", "integer", "number", "boolean", "enum", "const", "array"]
        if depth < 3:
            kinds += ["object"]
        if self.tokens:
            kinds += ["ref", "ref"]
        kind = self.rng.choice(kinds)
        if kind == "object":
            return self.obj(depth)
        if kind == "ref":
            node: dict[str, Any] = {"$ref": f"#/$defs/{self.rng.choice(self.tokens)}"}
            if self.rng.random() < 0.05:
                node["description"] = "x"
            return node
        if kind == "array":
            node = {"type": "array", "items": self.node(depth + 1)}
            if self.rng.random() < 0.05:
                del node["items"]
            for key in ("minItems", "maxItems"):
                if self.rng.random() < 0.3:
                    node[key] = self.rng.choice([0, 1, 3, 100])
            if self.rng.random() < 0.05:
                node["uniqueItems"] = True
            return node
        if kind in ("enum", "const"):
            pool: list[Any] = self.rng.choice([TEXTS, [1, 2, 3, -5, 2**40], [*TEXTS, 1], [True]])
            values = self.rng.sample(pool, self.rng.randint(1, min(4, len(pool))))
            node = {"enum": values} if kind == "enum" else {"const": values[0]}
            if self.rng.random() < 0.3:
                node["type"] = "string" if isinstance(values[0], str) else "integer"
            if self.rng.random() < 0.03:
                node["enum"] = values + values[:1]
            return node
        node = {"type": kind}
        keys = {
            "string": ["minLength", "maxLength", "pattern"],
            "integer": ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"],
            "number": ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"],
            "boolean": [],
        }[kind]
        for key in keys:
            if self.rng.random() < 0.3:
                if key == "pattern":
                    node[key] = self.rng.choice(PATTERNS)
                elif key in ("minLength", "maxLength"):
                    node[key] = self.rng.choice([0, 1, 3, 64])
                else:
                    node[key] = self.rng.choice(NUMBERS)
        extra = self.rng.random()
        if extra < 0.03:
            node["format"] = self.rng.choice(["date-time", "email", "uuid", "date"])
        elif extra < 0.05:
            node["default"] = None
        elif extra < 0.07:
            node["type"] = [kind, "null"]
        return node


def _tokens(rng: random.Random) -> dict[str, str]:
    names = rng.sample(CLASSES, rng.randint(0, 3))
    if rng.random() < 0.05:
        names.append(rng.choice(HOSTILE_CLASSES))
    names = sorted(set(names))
    return {f"SchemabusSharedZ{i:04d}X": name for i, name in enumerate(names)}


def case(rng: random.Random, index: int) -> Job:
    """One random model input: an event module (most) or a defs module."""
    names = _tokens(rng)
    gen = Gen(rng, list(names))
    if names and rng.random() < 0.2:
        defs = {t: gen.obj(2) for t in names}
        schema = model_input({"$defs": defs}, defs_root_title())
        return schema, {"kind": "defs", "names": names, "root": defs_root_title()}
    root = gen.obj(0)
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if names:
        root["$defs"] = {t: {"type": "object"} for t in names}
    title = rng.choice(HOSTILE_CLASSES + CLASSES) if rng.random() < 0.05 else f"Root{index}V1"
    spec = {"kind": "event", "names": names} if names else None
    return model_input(root, title), spec


@dataclass
class Result:
    cases: int
    written: int
    mismatches: list[tuple[Job, str | None, str]]


def _generated(jobs: dict[str, Job]) -> dict[str, str | None]:
    """The generator's text per module; None where it refuses the module."""
    try:
        return dict(_run_generator(jobs))
    except Exception:
        if len(jobs) == 1:
            return {name: None for name in jobs}
        names = sorted(jobs)
        half = len(names) // 2
        out = _generated({n: jobs[n] for n in names[:half]})
        out.update(_generated({n: jobs[n] for n in names[half:]}))
        return out


def run(count: int, seed: int) -> Result:
    rng = random.Random(seed)
    jobs = {f"m{i:05d}": case(rng, i) for i in range(count)}
    direct = {name: direct_source(*job) for name, job in jobs.items()}
    written = {name for name, text in direct.items() if text is not None}
    expected = _generated({name: jobs[name] for name in sorted(written)}) if written else {}
    mismatches = [
        (jobs[name], direct[name], expected[name] or "<generator refused>")
        for name in sorted(written)
        if direct[name] != expected[name]
    ]
    return Result(count, len(written), mismatches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    result = run(args.count, args.seed)
    for (schema, spec), got, want in result.mismatches[:5]:
        print(f"MISMATCH spec={spec}\nschema={schema}\n--- direct\n{got}--- generator\n{want}")
    print(
        f"{result.cases} inputs, {result.written} written directly, "
        f"{len(result.mismatches)} mismatches"
    )
    return 1 if result.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

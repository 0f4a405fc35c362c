"""Random small schemas over the Draft 2020-12 keyword space, and pairs built from them.

Pairs come in three kinds: a schema and a random mutation of it (most gate questions are
near misses), two independent schemas, and a schema and an equivalent rewriting of it
(used to measure false alarms: the gate must call those compatible).
"""

from __future__ import annotations

import copy
import random
from typing import Any

NAMES = ("a", "b", "ab")
PATTERNS = ("^a", "b$", "^x")
STRINGS = ("", "a", "ab", "b", "ba", "xa")
NUMBERS = (-1, 0, 0.5, 1, 2, 3, 10)
STEPS = (1, 2, 3, 0.5, 0.1, 0.3)
FORMATS = ("date", "email", "uuid")
TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
DEFS = ("d0", "d1")

Schema = Any


class Gen:
    """Seeded schema generator. ``defs`` are the root's ``$defs`` names refs may target."""

    def __init__(self, rng: random.Random, *, object_root: bool = False) -> None:
        self.rng = rng
        self.object_root = object_root
        self.has_defs = False  # refs are only drawn when the document gets $defs

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def document(self, depth: int = 3) -> Schema:
        self.has_defs = self.chance(0.3)
        root = self.object_schema(depth) if self.object_root else self.schema(depth)
        if self.has_defs and not isinstance(root, dict):
            root = {"allOf": [root]}
        if self.has_defs and isinstance(root, dict):
            self.has_defs = False  # no ref inside a definition: no in-place ref cycles
            defs = {name: self.schema(depth - 1) for name in DEFS}
            self.has_defs = True
            if self.chance(0.3):  # a recursive definition
                defs["d1"] = {
                    "type": ["object", "null"],
                    "properties": {"a": {"$ref": "#/$defs/d1"}, "b": self.scalar()},
                }
            root["$defs"] = defs
            self._add_ref(root, depth)
        return root

    def _add_ref(self, root: dict[str, Any], depth: int) -> None:
        target = {"$ref": f"#/$defs/{self.rng.choice(DEFS)}"}
        slot = self.rng.choice(("root", "property", "branch"))
        if slot == "root":
            root.update(target)
        elif slot == "property":
            root.setdefault("properties", {})[self.rng.choice(NAMES)] = target
        else:
            root.setdefault("anyOf", []).append(target)

    def schema(self, depth: int, *, allow_ref: bool = True) -> Schema:
        if self.chance(0.08):
            return self.chance(0.8)
        if depth <= 0:
            return self.scalar()
        out: dict[str, Any] = {}
        roll = self.rng.random()
        if roll < 0.5:
            types = self.rng.sample(TYPES, self.rng.choice((1, 1, 1, 2)))
            out["type"] = types[0] if len(types) == 1 and self.chance(0.8) else types
        kinds = self._kinds(out.get("type"))
        for kind in kinds:
            if self.chance(0.5 if "type" in out else 0.25):
                out.update(getattr(self, f"_{kind}_keywords")(depth))
        if self.chance(0.12):
            out.update(self.values())
        if self.chance(0.3):
            out.update(self.combinator(depth))
        if self.chance(0.05):
            out["title"] = "t"
        if allow_ref and self.has_defs and self.chance(0.08):
            out["$ref"] = f"#/$defs/{self.rng.choice(DEFS)}"
        return out

    @staticmethod
    def _kinds(declared: Any) -> list[str]:
        names = [declared] if isinstance(declared, str) else list(declared or TYPES)
        kinds = []
        if "string" in names:
            kinds.append("string")
        if "integer" in names or "number" in names:
            kinds.append("number")
        if "array" in names:
            kinds.append("array")
        if "object" in names:
            kinds.append("object")
        return kinds

    def scalar(self) -> Schema:
        kind = self.rng.choice(("string", "integer", "number", "boolean", "null", "any"))
        if kind == "any":
            return {}
        out: dict[str, Any] = {"type": kind}
        if kind == "string" and self.chance(0.4):
            out.update(self._string_keywords(0))
        if kind in ("integer", "number") and self.chance(0.4):
            out.update(self._number_keywords(0))
        return out

    def values(self) -> dict[str, Any]:
        pool = [None, True, False, 0, 1, 2.5, "a", "b", "", [], {}, [1], {"a": 1}]
        if self.chance(0.3):
            return {"const": self.rng.choice(pool)}
        return {"enum": self.rng.sample(pool, self.rng.randint(1, 4))}

    def _string_keywords(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.chance(0.5):
            out["minLength"] = self.rng.randint(0, 3)
        if self.chance(0.5):
            out["maxLength"] = self.rng.randint(0, 3)
        if self.chance(0.25):
            out["pattern"] = self.rng.choice(PATTERNS)
        if self.chance(0.1):
            out["format"] = self.rng.choice(FORMATS)
        return out

    def _number_keywords(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if self.chance(0.25):
                out[key] = self.rng.choice(NUMBERS)
        if self.chance(0.25):
            out["multipleOf"] = self.rng.choice(STEPS)
        return out

    def _array_keywords(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.chance(0.5):
            out["items"] = self.schema(depth - 1)
        if self.chance(0.3):
            out["prefixItems"] = [self.schema(depth - 1) for _ in range(self.rng.randint(1, 2))]
        if self.chance(0.3):
            out["minItems"] = self.rng.randint(0, 2)
        if self.chance(0.3):
            out["maxItems"] = self.rng.randint(0, 3)
        if self.chance(0.15):
            out["uniqueItems"] = self.chance(0.8)
        if self.chance(0.2):
            out["contains"] = self.schema(depth - 1)
            if self.chance(0.4):
                out["minContains"] = self.rng.randint(0, 2)
            if self.chance(0.3):
                out["maxContains"] = self.rng.randint(1, 2)
        if self.chance(0.15):
            out["unevaluatedItems"] = self.schema(depth - 1)
        return out

    def _object_keywords(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.chance(0.7):
            names = self.rng.sample(NAMES, self.rng.randint(1, 3))
            out["properties"] = {n: self.schema(depth - 1) for n in names}
        if self.chance(0.4):
            out["required"] = self.rng.sample(NAMES, self.rng.randint(1, 2))
        if self.chance(0.3):
            out["additionalProperties"] = self.schema(depth - 1) if self.chance(0.5) else False
        if self.chance(0.2):
            out["patternProperties"] = {self.rng.choice(PATTERNS): self.schema(depth - 1)}
        if self.chance(0.1):
            out["propertyNames"] = self._string_keywords(0) or {"maxLength": 1}
        if self.chance(0.15):
            out["minProperties"] = self.rng.randint(0, 2)
        if self.chance(0.15):
            out["maxProperties"] = self.rng.randint(0, 2)
        if self.chance(0.1):
            out["dependentRequired"] = {self.rng.choice(NAMES): [self.rng.choice(NAMES)]}
        if self.chance(0.1):
            out["dependentSchemas"] = {self.rng.choice(NAMES): self.schema(depth - 1)}
        if self.chance(0.15):
            out["unevaluatedProperties"] = self.schema(depth - 1) if self.chance(0.4) else False
        return out

    def object_schema(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object"}
        out.update(self._object_keywords(depth))
        return out

    def combinator(self, depth: int) -> dict[str, Any]:
        kind = self.rng.choice(("allOf", "anyOf", "oneOf", "not", "if"))
        if kind == "not":
            return {"not": self.schema(depth - 1)}
        if kind == "if":
            out = {"if": self.schema(depth - 1)}
            if self.chance(0.8):
                out["then"] = self.schema(depth - 1)
            if self.chance(0.6):
                out["else"] = self.schema(depth - 1)
            return out
        count = self.rng.choice((1, 2, 2, 3))
        return {kind: [self.schema(depth - 1) for _ in range(count)]}


# --- mutations -----------------------------------------------------------------------


_ONE = frozenset(
    {"items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems"}
    | {"not", "if", "then", "else", "contains", "propertyNames"}
)


def _subschemas(schema: Schema, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every schema position inside ``schema`` (the root included)."""
    out = [path]
    if not isinstance(schema, dict):
        return out
    for key, value in schema.items():
        if key in _ONE:
            out += _subschemas(value, (*path, key))
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(value, list):
            for i, v in enumerate(value):
                out += _subschemas(v, (*path, key, i))
        elif key in ("properties", "patternProperties", "dependentSchemas", "$defs") and isinstance(
            value, dict
        ):
            for name, v in value.items():
                out += _subschemas(v, (*path, key, name))
    return out


def _get(schema: Schema, path: tuple[Any, ...]) -> Schema:
    for token in path:
        schema = schema[token]
    return schema


def _set(schema: Schema, path: tuple[Any, ...], value: Schema) -> Schema:
    if not path:
        return value
    parent = _get(schema, path[:-1])
    parent[path[-1]] = value
    return schema


def mutate(gen: Gen, schema: Schema, steps: int = 1) -> Schema:
    out = copy.deepcopy(schema)
    for _ in range(steps):
        paths = _subschemas(out)
        path = gen.rng.choice(paths)
        target = _get(out, path)
        out = _set(out, path, _mutate_one(gen, target, path == () and gen.object_root))
    return out


def _mutate_one(gen: Gen, target: Schema, keep_object: bool) -> Schema:
    rng = gen.rng
    if isinstance(target, bool):
        return gen.schema(1) if not keep_object else gen.object_schema(1)
    target = dict(target)
    choice = rng.randrange(9)
    numeric = [k for k, v in target.items() if isinstance(v, (int, float)) and k != "const"]
    numeric = [k for k in numeric if not isinstance(target[k], bool)]
    if choice == 0 and numeric:
        key = rng.choice(numeric)
        if key == "multipleOf":
            target[key] = rng.choice(STEPS)
        elif key.startswith(("min", "max")) and key not in ("minimum", "maximum"):
            target[key] = max(0, target[key] + rng.choice((-1, 1)))  # a count: non-negative
        else:
            target[key] = target[key] + rng.choice((-1, 1, 0.5))
    elif choice == 1 and target:
        key = rng.choice(sorted(target))
        if not (keep_object and key == "type"):
            del target[key]
    elif choice == 2:
        extra = gen.schema(2)
        if isinstance(extra, dict):
            for key, value in extra.items():
                if not (keep_object and key == "type"):
                    target.setdefault(key, value)
    elif choice == 3 and not keep_object:
        target["type"] = rng.choice(TYPES) if rng.random() < 0.6 else rng.sample(TYPES, 2)
    elif choice == 4:
        required = list(target.get("required", []))
        name = rng.choice(NAMES)
        if name in required:
            required.remove(name)
        else:
            required.append(name)
        target["required"] = required
    elif choice == 5:
        target["additionalProperties"] = rng.choice((False, True, {"type": "string"}))
    elif choice == 6:
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(target.get(key), list):
                branches = list(target[key])
                if branches and rng.random() < 0.5:
                    branches.pop(rng.randrange(len(branches)))
                else:
                    branches.append(gen.schema(1))
                target[key] = branches
                break
        else:
            target.update(gen.combinator(2))
    elif choice == 7:
        props = dict(target.get("properties", {}))
        props[rng.choice(NAMES)] = gen.schema(1)
        target["properties"] = props
    else:
        return gen.schema(2) if not keep_object else gen.object_schema(2)
    return target


# --- equivalent rewritings (false-alarm measurement) -----------------------------------


def equivalent(gen: Gen, schema: Schema) -> Schema:
    """A rewriting of ``schema`` that accepts exactly the same instances."""
    out = copy.deepcopy(schema)
    paths = _subschemas(out)
    path = gen.rng.choice(paths)
    target = _get(out, path)
    rewrite = gen.rng.randrange(9)
    if rewrite == 0:
        new = {"allOf": [target]}
    elif rewrite == 1 and "unevaluated" not in repr(out):
        new = {"not": {"not": target}}  # `not` drops annotations unevaluated* would see
    elif rewrite == 2:
        new = {"anyOf": [target, False]}
    elif rewrite == 3 and isinstance(target, dict) and isinstance(target.get("type"), str):
        new = {**target, "type": [target["type"]]}
    elif rewrite == 4 and isinstance(target, dict):
        new = {**target, "description": "same", "default": None}
    elif rewrite == 5 and isinstance(target, dict) and isinstance(target.get("enum"), list):
        new = {**target, "enum": list(reversed(target["enum"]))}
    elif rewrite == 6 and isinstance(target, dict) and isinstance(target.get("anyOf"), list):
        new = {**target, "anyOf": list(reversed(target["anyOf"]))}
    elif rewrite == 7 and isinstance(out, dict) and path != ():
        defs = out.setdefault("$defs", {})
        defs["eq"] = copy.deepcopy(target)
        new = {"$ref": "#/$defs/eq"}
    elif rewrite == 8 and isinstance(target, dict):
        new = {**target, "allOf": [*target.get("allOf", []), True]}
    else:
        new = {"allOf": [target, {}]}
    if path == () and isinstance(new, dict):
        if gen.object_root:
            new = {"type": "object", **new}
        # refs resolve against the document root: its $defs must stay there
        defs = target.get("$defs") if isinstance(target, dict) else None
        if defs is not None and new is not target:
            _drop_defs(new, target)
            new["$defs"] = defs
    return _set(out, path, new)


def _drop_defs(new: dict[str, Any], target: dict[str, Any]) -> None:
    """Remove ``target``'s $defs wherever the rewrite embedded it (it moves to the root)."""
    stack: list[Any] = [new]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node is target or node.get("$defs") is target.get("$defs"):
                node.pop("$defs", None)
            stack.extend(v for k, v in node.items() if k != "$defs")
        elif isinstance(node, list):
            stack.extend(node)


def pair(gen: Gen) -> tuple[str, Schema, Schema]:
    """(kind, old, new): a mutation, an independent pair or an equivalent rewriting."""
    roll = gen.rng.random()
    old = gen.document()
    if roll < 0.65:
        return "mutation", old, mutate(gen, old, gen.rng.choice((1, 1, 2)))
    if roll < 0.8:
        return "independent", old, gen.document()
    return "equivalent", old, equivalent(gen, old)

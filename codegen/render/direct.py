"""Model sources for plain record schemas, written here instead of by the generator.

datamodel-code-generator needs about 0.5 s to warm up and 14 ms per model, most of a cold
`gen`. Most event schemas are plain records: objects of strings, numbers, booleans, enums,
arrays, nested objects and shared shapes. For those this module writes, directly, the very
text that the generator and `render.shared.finish` write; for any other shape (or name,
literal or line it is not sure of) it returns None and the generator runs as before.

Byte-equality with the generator is the contract, so a module's text never depends on
which path wrote it: tests/codegen/test_direct_models.py compares both over random schemas
inside and just outside these shapes, and over the example project.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

LINE_LENGTH = 100

_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_STRING_KEYS = {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern"}
_NUMBER_KEYS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
}
_ARRAY_KEYS = {"minItems": "min_length", "maxItems": "max_length"}
_DEFS_REF = "#/$defs/"
# Names the generator may rename, alias or shadow: field names that are keywords,
# pydantic attributes or types an annotation of ours could name (it renames a field `str`
# beside a `str` annotation), and class names that meet an import of the module.
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# BaseModel's public attributes besides `model_*` (spelt out: importing pydantic here would
# cost more than writing every model; a test compares the list with pydantic's).
BASE_MODEL_NAMES = frozenset(
    {"construct", "copy", "dict", "from_orm", "json", "parse_file", "parse_obj", "parse_raw"}
    | {"schema", "schema_json", "update_forward_refs", "validate"}
)
_RESERVED_FIELDS = frozenset(
    {*keyword.kwlist, *keyword.softkwlist, *BASE_MODEL_NAMES, "annotations", "literal", "root"}
    | {"str", "int", "float", "bool", "list", "dict", "set", "tuple", "bytes", "object"}
)
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_RESERVED_CLASSES = frozenset(
    {"Any", "AwareDatetime", "BaseModel", "ConfigDict", "Dict", "Enum", "Field", "Literal"}
    | {"Model", "Optional", "RootModel", "Union", "List"}
)
# Python's own names ("None", "True", "Exception", ...): a helper class named after a
# property ("none") must not take one.
_BUILTIN_NAMES = frozenset({*dir(builtins), *keyword.kwlist})
# String literals the generator and Python's repr() agree on, written in double quotes.
_PLAIN_TEXT = re.compile(r"^[ !#-~]*$")
_SAFE_FLOAT = 2.0**53


class Decline(Exception):
    """A shape this module does not write; the generator does."""


def direct_source(schema: Any, spec: dict[str, Any] | None) -> str | None:
    """The generator's output for `schema` (finished by `spec`), or None."""
    try:
        return _Module(spec).render(schema)
    except Decline:
        return None


@dataclass
class _Class:
    name: str
    extra: str | None
    fields: list[str]


@dataclass
class _Module:
    spec: dict[str, Any] | None
    classes: dict[str, _Class] = field(default_factory=dict)
    # `$ref` text -> class name of each shared shape the module may refer to
    refs: dict[str, str] = field(default_factory=dict)
    # event modules import shared shapes; the defs module defines them (and no helpers)
    imported: bool = True
    shared_used: set[str] = field(default_factory=set)
    literal: bool = False
    uses_field: bool = False

    def render(self, schema: Any) -> str:
        if not isinstance(schema, dict):
            raise Decline
        names = self._names()
        if self.spec is not None and self.spec.get("kind") == "defs":
            self._defs_module(schema, names)
        else:
            self._event_module(schema, names)
        return self._text()

    def _names(self) -> dict[str, str]:
        if self.spec is None:
            return {}
        names = self.spec.get("names")
        if not isinstance(names, dict) or not all(
            isinstance(v, str) and _CLASS_NAME.match(v) and v not in _RESERVED_CLASSES
            for v in names.values()
        ):
            raise Decline
        return dict(names)

    def _event_module(self, schema: dict[str, Any], names: dict[str, str]) -> None:
        if self.spec is not None and self.spec.get("kind") != "event":
            raise Decline
        defs = schema.get("$defs", {})
        if not isinstance(defs, dict) or set(defs) != set(names):
            raise Decline
        if any(sub != {"type": "object"} for sub in defs.values()):
            raise Decline
        title = schema.get("title")
        if not isinstance(title, str) or not _CLASS_NAME.match(title):
            raise Decline
        if title in _RESERVED_CLASSES or title in set(names.values()):
            raise Decline
        body = {k: v for k, v in schema.items() if k not in ("$defs", "$schema", "title")}
        if "$schema" in schema and not isinstance(schema["$schema"], str):
            raise Decline
        self.refs = {f"{_DEFS_REF}{token}": name for token, name in names.items()}
        self.imported = True
        self._object(title, body)

    def _defs_module(self, schema: dict[str, Any], names: dict[str, str]) -> None:
        if set(schema) != {"$defs", "title"} or schema["title"] != self.spec_root():
            raise Decline
        defs = schema["$defs"]
        if not isinstance(defs, dict) or set(defs) != set(names) or not defs:
            raise Decline
        self.refs = {f"{_DEFS_REF}{token}": name for token, name in names.items()}
        self.imported = False
        for token in sorted(defs):
            self._object(names[token], defs[token])
        self._no_cycles({names[t]: defs[t] for t in defs})

    def spec_root(self) -> Any:
        return (self.spec or {}).get("root")

    # -- shapes --------------------------------------------------------------------------

    def _object(self, name: str, node: Any) -> None:
        if not isinstance(node, dict) or not set(node) <= _OBJECT_KEYS:
            raise Decline
        props, required = node.get("properties"), node.get("required", [])
        if node.get("type") != "object" or not isinstance(props, dict) or not props:
            raise Decline
        if not isinstance(required, list) or len(set(map(str, required))) != len(required):
            raise Decline
        if not set(required) <= set(props):
            raise Decline
        extra = node.get("additionalProperties")
        if extra is not None and not isinstance(extra, bool):
            raise Decline
        if name in self.classes or name in _RESERVED_CLASSES or name in _BUILTIN_NAMES:
            raise Decline  # the generator renames it (`none` -> class `None1`)
        cls = _Class(name, None if extra is None else "allow" if extra else "forbid", [])
        self.classes[name] = cls
        for prop, sub in props.items():
            if not isinstance(prop, str) or not _FIELD_NAME.match(prop):
                raise Decline
            if prop in _RESERVED_FIELDS or prop.startswith("model_"):
                raise Decline
            cls.fields.append(self._field(prop, sub, prop in required))

    def _field(self, prop: str, node: Any, required: bool) -> str:
        annotation, kwargs = self._type(prop, node, top=True)
        if not required:
            annotation = f"{annotation} | None"
        if kwargs:
            self.uses_field = True
            args = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
            return f"{prop}: {annotation} = Field({'...' if required else 'None'}, {args})"
        return f"{prop}: {annotation}" if required else f"{prop}: {annotation} = None"

    def _type(self, prop: str, node: Any, *, top: bool) -> tuple[str, dict[str, str]]:
        """The annotation of `node` and its Field(...) arguments (only at a property)."""
        if not isinstance(node, dict):
            raise Decline
        if "$ref" in node:
            return self._ref(node), {}
        if "enum" in node or "const" in node:
            return self._literal(node), {}
        kind = node.get("type")
        if not isinstance(kind, str):
            raise Decline
        if kind in _SCALARS:
            return _SCALARS[kind], self._scalar_kwargs(kind, node, top=top)
        if kind == "array":
            return self._array(prop, node, top=top)
        if kind == "object" and top:
            name = _pascal(prop)
            self._nested(name, node)
            return name, {}
        raise Decline

    def _ref(self, node: dict[str, Any]) -> str:
        if set(node) != {"$ref"} or not isinstance(node["$ref"], str):
            raise Decline
        if node["$ref"] not in self.refs:
            raise Decline
        name: str = self.refs[node["$ref"]]
        if self.imported:
            self.shared_used.add(name)
        return name

    def _literal(self, node: dict[str, Any]) -> str:
        values = node["enum"] if "enum" in node else [node.get("const")]
        if "enum" in node and "const" in node:
            raise Decline
        if not isinstance(values, list) or not values:
            raise Decline
        if all(isinstance(v, str) for v in values):
            kind = "string"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            kind = "integer"
        else:
            raise Decline
        if not set(node) <= {"enum", "const", "type"} or node.get("type", kind) != kind:
            raise Decline
        if len(set(values)) != len(values):
            raise Decline
        self.literal = True
        return f"Literal[{', '.join(_literal(v) for v in values)}]"

    def _scalar_kwargs(self, kind: str, node: dict[str, Any], *, top: bool) -> dict[str, str]:
        keys = {"string": _STRING_KEYS, "boolean": {}}.get(kind, _NUMBER_KEYS)
        if not set(node) - {"type"} <= set(keys):
            raise Decline
        kwargs = {keys[k]: _constraint(kind, k, v) for k, v in node.items() if k != "type"}
        if kwargs and not top:
            raise Decline  # a constrained item gets a RootModel class of its own
        return kwargs

    def _array(self, prop: str, node: dict[str, Any], *, top: bool) -> tuple[str, dict[str, str]]:
        if not set(node) <= {"type", "items", *_ARRAY_KEYS} or "items" not in node:
            raise Decline
        kwargs = {}
        for key, arg in _ARRAY_KEYS.items():
            if key in node:
                kwargs[arg] = _count(node[key])
        if kwargs and not top:
            raise Decline
        item = node["items"]
        if isinstance(item, dict) and item.get("type") == "object" and "$ref" not in item:
            if not top:
                raise Decline  # the generator names objects in nested arrays its own way
            from codegen.render.singular import singular_name

            try:
                name = singular_name(_pascal(prop))
            except ImportError:
                raise Decline from None  # no inflect to ask: the generator names it
            self._nested(name, item)
            return f"list[{name}]", kwargs
        inner, _ = self._type(prop, item, top=False)
        return f"list[{inner}]", kwargs

    def _nested(self, name: str, node: Any) -> None:
        if not self.imported:
            raise Decline  # helper classes in the defs module: the generator orders them
        if name in self.refs.values():
            raise Decline
        self._object(name, node)

    def _no_cycles(self, defs: dict[str, Any]) -> None:
        """Shared shapes that refer to each other in a loop: the generator adds rebuilds."""
        edges = {name: _refs_in(node, self.refs) for name, node in defs.items()}
        state: dict[str, int] = {}

        def visit(n: str) -> None:
            state[n] = 1
            for m in edges.get(n, ()):
                if state.get(m) == 1:
                    raise Decline
                if m not in state:
                    visit(m)
            state[n] = 2

        for n in sorted(edges):
            if n not in state:
                visit(n)

    # -- text ----------------------------------------------------------------------------

    def _text(self) -> str:
        out = ["from __future__ import annotations", ""]
        if self.literal:
            out += ["from typing import Literal", ""]
        pydantic = ["BaseModel", "ConfigDict"] + (["Field"] if self.uses_field else [])
        out.append(f"from pydantic import {', '.join(pydantic)}")
        if self.shared_used:  # (no class here takes a shared name: _nested refuses it)
            out += ["", f"from generated.models.defs import {', '.join(sorted(self.shared_used))}"]
        for name in sorted(self.classes):
            cls = self.classes[name]
            out += ["", "", f"class {name}(BaseModel):", "    model_config = ConfigDict("]
            if cls.extra is not None:
                out.append(f'        extra="{cls.extra}",')
            out += ["        populate_by_name=True,", "    )"]
            out += [f"    {line}" for line in cls.fields]
        if any(len(line) > LINE_LENGTH for line in out):
            raise Decline
        return "\n".join(out) + "\n"


def _pascal(prop: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in prop.split("_"))


def _literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    if not _PLAIN_TEXT.match(value) or value.endswith("\\"):
        # the generator's quote normalisation keeps single quotes before a final backslash
        raise Decline
    return '"' + value.replace("\\", "\\\\") + '"'


def _count(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Decline
    return str(value)


def _constraint(kind: str, key: str, value: Any) -> str:
    if key in ("minLength", "maxLength"):
        return _count(value)
    if key == "pattern":
        if not isinstance(value, str):
            raise Decline
        return _literal(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Decline
    if key == "multipleOf" and value <= 0:
        raise Decline
    if kind == "integer":
        if not isinstance(value, int) or (key == "multipleOf" and value == 1):
            raise Decline  # (the generator drops multipleOf 1 on integers)
        return str(value)
    number = float(value)
    if number != value or abs(number) >= _SAFE_FLOAT:
        raise Decline
    return repr(number)


def _refs_in(node: Any, refs: dict[str, str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {refs[ref]} if isinstance(ref, str) and ref in refs else set()
        for sub in node.values():
            found |= _refs_in(sub, refs)
        return found
    if isinstance(node, list):
        return set().union(*(_refs_in(x, refs) for x in node)) if node else set()
    return set()

"""JSON Schema 2020-12 -> the AsyncAPI Schema format (a superset of Draft-07), for payloads
and shared shapes in generated/docs/asyncapi.json.

AsyncAPI tools resolve every `#/...` reference against the AsyncAPI document's root, and
read the Draft-07 keyword set. So each schema lives under `components/schemas` and its
references are rewritten to document-absolute pointers into that section (with the path
inside the target translated too: `prefixItems/0` is `items/0` there). Keywords with a
Draft-07 equivalent are translated; the rest are left out and each omission is recorded as
a `Note` (the docs list them). The rules and their reasons: codegen/render/ASYNCAPI.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from codegen.positions import escape
from codegen.shapes import INSTANCE_KEYWORDS

COMPONENTS = "#/components/schemas/"
# Keywords that apply subschemas to the same instance and can evaluate its properties or
# items: with any of them present, `unevaluated*` depends on what they evaluated and has no
# Draft-07 equivalent (`not` never counts as evaluating).
_IN_PLACE: tuple[str, ...] = ("allOf", "anyOf", "oneOf", "if", "then", "else", "$ref")
_IN_PLACE += ("$dynamicRef", "dependentSchemas")
_SINGLE = frozenset({"not", "if", "then", "else", "contains", "propertyNames"})
_SINGLE |= {"additionalProperties", "additionalItems"}
_DROPPED_SILENTLY = frozenset({"$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary"})


@dataclass(frozen=True, order=True)
class Note:
    """A keyword the AsyncAPI document cannot express, where, and what it shows instead."""

    component: str
    pointer: str
    keyword: str
    rendering: str


class Scope:
    """The document a schema came from: how its refs become component pointers."""

    def __init__(self, root: Any, components: dict[str, str], own: str | None) -> None:
        """`components` maps root `$defs` keys to component names; `own` names the component
        of the root itself (None when the root is only a holder of `$defs`)."""
        self.root = root
        self.components = components
        self.own = own
        self.anchors = _anchors(root)

    def resolve(self, ref: str) -> str | None:
        """The document-absolute ref for a ref of this scope; None if it cannot be mapped."""
        if not ref.startswith("#"):
            return None
        frag = unquote(ref[1:])
        if frag and not frag.startswith("/"):
            frag = self.anchors.get(frag, "")
            if not frag:
                return None
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in frag.split("/")[1:]]
        defs = self.root.get("$defs") if isinstance(self.root, dict) else None
        if len(tokens) >= 2 and tokens[0] == "$defs" and isinstance(defs, dict):
            name = self.components.get(tokens[1])
            if name is None or tokens[1] not in defs:
                return None
            return COMPONENTS + escape(name) + translate_pointer(defs[tokens[1]], tokens[2:])
        if self.own is None:
            return None
        return COMPONENTS + escape(self.own) + translate_pointer(self.root, tokens)


def _anchors(root: Any) -> dict[str, str]:
    """`$anchor` name -> JSON pointer, first one in document order wins."""
    found: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, ptr = stack.pop()
        if isinstance(node, dict):
            for key in ("$anchor", "$dynamicAnchor"):
                if isinstance(node.get(key), str):
                    found.setdefault(node[key], ptr)
            for k, v in reversed(list(node.items())):
                if k not in INSTANCE_KEYWORDS:
                    stack.append((v, f"{ptr}/{escape(k)}"))
        elif isinstance(node, list):
            stack.extend((v, f"{ptr}/{i}") for i, v in reversed(list(enumerate(node))))
    return found


def translate_pointer(node: Any, tokens: list[str]) -> str:
    """The path `tokens` of the 2020-12 schema `node`, spelled as in its translation."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if isinstance(node, dict):
            if token == "prefixItems":
                out.append("items")
            elif token == "items" and "prefixItems" in node:
                out.append("additionalItems")
            elif token in ("dependentSchemas", "dependentRequired"):
                out.append("dependencies")
                name = tokens[i + 1] if i + 1 < len(tokens) else None
                both = name in (node.get("dependentSchemas") or {}) and name in (
                    node.get("dependentRequired") or {}
                )
                if both and name is not None:
                    # Both kinds for one property are merged into an allOf.
                    out += [escape(name), "allOf", "1" if token == "dependentSchemas" else "0"]
                    rest = translate_pointer((node.get(token) or {}).get(name), tokens[i + 2 :])
                    return "".join("/" + t for t in out) + rest
            elif token == "$defs":
                out.append("definitions")
            else:
                out.append(escape(token))
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            out.append(token)
            node = node[int(token)]
        else:
            out.append(escape(token))
            node = None
    return "".join("/" + t for t in out)


class Translator:
    """Translates the schemas of one scope; notes are appended to a shared list."""

    def __init__(self, scope: Scope, component: str, notes: list[Note]) -> None:
        self.scope = scope
        self.component = component
        self.notes = notes

    def note(self, ptr: str, keyword: str, rendering: str) -> None:
        self.notes.append(Note(self.component, ptr or "/", keyword, rendering))

    def schema(self, node: Any, ptr: str = "") -> Any:
        if not isinstance(node, dict):
            return node  # true / false are schemas in Draft-07 too
        out: dict[str, Any] = {}
        required: dict[str, Any] = {}  # dependentRequired
        schemas: dict[str, Any] = {}  # dependentSchemas, translated
        ref: str | None = None
        for k, v in node.items():
            here = f"{ptr}/{escape(k)}"
            if k in _DROPPED_SILENTLY:
                continue
            if k in ("$ref", "$dynamicRef") and isinstance(v, str):
                ref = self._ref(k, v, here)
            elif k in INSTANCE_KEYWORDS:
                out[k] = v
            elif k in ("properties", "patternProperties", "$defs", "definitions") and isinstance(
                v, dict
            ):
                name = "definitions" if k == "$defs" else k
                out[name] = {n: self.schema(s, f"{here}/{escape(n)}") for n, s in v.items()}
            elif k == "prefixItems" and isinstance(v, list):
                out["items"] = [self.schema(s, f"{here}/{i}") for i, s in enumerate(v)]
            elif k == "items":
                out["additionalItems" if "prefixItems" in node else "items"] = self.schema(v, here)
            elif k in ("allOf", "anyOf", "oneOf") and isinstance(v, list):
                out[k] = [self.schema(s, f"{here}/{i}") for i, s in enumerate(v)]
            elif k in _SINGLE:
                out[k] = self.schema(v, here)
            elif k == "dependentRequired" and isinstance(v, dict):
                required.update(v)
            elif k == "dependentSchemas" and isinstance(v, dict):
                schemas.update({n: self.schema(s, f"{here}/{escape(n)}") for n, s in v.items()})
            elif k in ("unevaluatedProperties", "unevaluatedItems"):
                self._unevaluated(k, v, node, out, here)
            elif k in ("minContains", "maxContains"):
                if not (k == "minContains" and v == 1):  # 1 is the default: nothing lost
                    self.note(here, k, f"left out ({k}: {v} has no Draft-07 form)")
            elif k == "contentSchema":
                self.note(here, k, "left out (an annotation with no Draft-07 form)")
            else:
                out[k] = v
        if required or schemas:
            # Draft-07 `dependencies` holds both kinds; a property with both gets an allOf.
            out["dependencies"] = {
                n: {"allOf": [{"required": required[n]}, schemas[n]]}
                if n in required and n in schemas
                else required[n]
                if n in required
                else schemas[n]
                for n in [*required, *(n for n in schemas if n not in required)]
            }
        if ref is not None:
            # Draft-07 ignores keywords next to $ref; an allOf keeps them all applying.
            if not out:
                return {"$ref": ref}
            out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
        return out

    def _ref(self, keyword: str, value: str, ptr: str) -> str:
        resolved = self.scope.resolve(value)
        if resolved is None:
            self.note(ptr, keyword, f"kept as {value!r}: it does not resolve inside the document")
            return value
        if keyword == "$dynamicRef":
            self.note(ptr, keyword, f"rendered as a plain $ref to {resolved} (static scope)")
        return resolved

    def _unevaluated(
        self, keyword: str, value: Any, node: dict[str, Any], out: dict[str, Any], ptr: str
    ) -> None:
        beside = [k for k in _IN_PLACE if k in node]
        if beside:
            self.note(
                ptr,
                keyword,
                f"left out: next to {'/'.join(beside)} it has no Draft-07 form "
                "(the document accepts more than the contract)",
            )
            return
        if keyword == "unevaluatedProperties":
            # Alone, it means additionalProperties (properties/patternProperties evaluate).
            if "additionalProperties" not in node:
                out["additionalProperties"] = self.schema(value, ptr)
            return
        if "contains" in node:
            self.note(ptr, keyword, "left out: next to contains it has no Draft-07 form")
        elif "prefixItems" in node and "items" not in node:
            out["additionalItems"] = self.schema(value, ptr)
        elif "prefixItems" not in node and "items" not in node:
            out["items"] = self.schema(value, ptr)


def translated(node: Any, scope: Scope, component: str, notes: list[Note], ptr: str = "") -> Any:
    return Translator(scope, component, notes).schema(node, ptr)

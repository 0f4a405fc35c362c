"""Load and validate `schemas/catalog.yaml` against `catalog.schema.json`, with lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen.cache import Cache
from codegen.errors import BadInput, Finding
from codegen.positions import pointer, yaml_lines

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class CatalogDoc:
    rel: str
    data: dict[str, Any]
    lines: dict[str, int]

    def line_of(self, ptr: str) -> int:
        while ptr and ptr not in self.lines:
            ptr = ptr.rsplit("/", 1)[0]
        return self.lines.get(ptr, 1)

    def finding(self, ptr: str, message: str, rule: str) -> Finding:
        return Finding(self.rel, self.line_of(ptr), message, rule)


@cache
def catalog_schema() -> dict[str, Any]:
    text = resources.files("codegen").joinpath("catalog.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def retry_defaults() -> dict[str, int]:
    """The retry policy of an event the catalog says nothing about: the `default`s of
    catalog.schema.json (the one place they are written)."""
    properties = catalog_schema()["$defs"]["retry"]["properties"]
    return {name: int(spec["default"]) for name, spec in properties.items()}


def read_catalog(path: Path, rel: str, store: Cache | None = None) -> CatalogDoc:
    """The catalog, parsed. With `store`, a catalog parsed before (same bytes) is taken
    from it: a `check` of an unchanged tree then never imports the YAML parser."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise BadInput(
            [Finding(rel, 0, "The catalog is missing; create it (see README).", "CATALOG_MISSING")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            [Finding(rel, 0, f"Cannot read the catalog: {exc}.", "CATALOG_UNREADABLE")]
        ) from None
    if store is None:
        return _parse(text, rel)
    key = store.key(b"catalog", text.encode("utf-8", "surrogatepass"))
    known = store.get("catalog", key)
    if known is not None:
        parsed = json.loads(known)
        return CatalogDoc(rel, parsed["data"], parsed["lines"])
    doc = _parse(text, rel)
    if _plain_json(doc.data):
        store.put("catalog", key, json.dumps({"data": doc.data, "lines": doc.lines}))
    return doc


def _plain_json(data: Any) -> bool:
    """True when JSON gives `data` back exactly (YAML can also hold dates, non-string keys
    and NaN, which a remembered parse would change)."""
    try:
        return bool(json.loads(json.dumps(data, allow_nan=False)) == data)
    except (TypeError, ValueError):
        return False


def _parse(text: str, rel: str) -> CatalogDoc:
    import yaml

    try:
        # One parse: the node tree gives line numbers, the same tree gives the data.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as fast:
        raise BadInput([_yaml_finding(text, fast, rel)]) from None
    if node is None or not isinstance(data, dict):
        raise BadInput([Finding(rel, 1, "The catalog must be a YAML mapping.", "CATALOG_INVALID")])
    dupes = _duplicate_keys(node, rel)
    if dupes:
        raise BadInput(dupes)
    return CatalogDoc(rel, data, yaml_lines(node))


def _yaml_finding(text: str, fast: yaml.YAMLError, rel: str) -> Finding:
    import yaml

    # Re-parse with the pure-Python loader: its messages do not depend on libyaml.
    exc: yaml.YAMLError = fast
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as pure:
        exc = pure
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 0
    problem = getattr(exc, "problem", None) or str(exc)
    return Finding(rel, line, f"Invalid YAML: {problem}.", "YAML_INVALID")


def _duplicate_keys(node: yaml.Node, rel: str) -> list[Finding]:
    import yaml

    out: list[Finding] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in cur.value:
                key = str(k.value)
                if key in seen:
                    out.append(
                        Finding(
                            rel,
                            k.start_mark.line + 1,
                            f'The key "{key}" appears twice in the same mapping.',
                            "YAML_DUPLICATE_KEY",
                        )
                    )
                seen.add(key)
                stack.append(v)
        elif isinstance(cur, yaml.SequenceNode):
            stack.extend(cur.value)
    return out


def validate_catalog_cached(doc: CatalogDoc, store: Cache) -> list[Finding]:
    """`validate_catalog`, remembered when the catalog passes (by its parsed content: YAML
    may hold dates, hence `repr` for what JSON cannot say)."""
    data = json.dumps(doc.data, sort_keys=True, separators=(",", ":"), default=repr)
    key = store.key(b"lint:catalog", data.encode())
    return store.lint_pass(key, lambda: validate_catalog(doc))


def validate_catalog(doc: CatalogDoc) -> list[Finding]:
    from codegen.validation import validator_for

    validator = validator_for(catalog_schema(), formats=False)
    out: list[Finding] = []
    for err in validator.iter_errors(doc.data):
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            # Point at the misspelt key itself, not at the mapping that holds it.
            extras = [k for k in err.instance if k not in err.schema.get("properties", {})]
            if extras:
                path.append(extras[0])
        ptr = pointer(*path)
        key = ".".join(str(p) for p in path) or "(top level)"
        out.append(doc.finding(ptr, f"Catalog key {key}: {_describe(err)}", "CATALOG_INVALID"))
    return out


def _describe(err: Any) -> str:
    if err.validator == "additionalProperties":
        return f"{err.message}; check the spelling against the README's catalog reference."
    if err.validator == "required":
        return f"{err.message}."
    if err.validator == "pattern" and isinstance(err.instance, str):
        if "@" in err.validator_value:
            return f'"{err.instance}" must look like "type.name@VERSION", e.g. "order.created@2".'
        return f'"{err.instance}" is not a valid name (lower-case dotted words, digits, "_").'
    return f"{err.message}."

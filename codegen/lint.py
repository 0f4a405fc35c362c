"""Lint rules over one schema file. Each returns located findings; ids never change."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

from codegen.cache import Cache
from codegen.errors import Finding
from codegen.load import JsonFile, canonical_json
from codegen.metaschema_fast import certainly_valid
from codegen.positions import escape, pointer

DIALECT = "https://json-schema.org/draft/2020-12/schema"
REQUIRED_KEYWORDS = ("$schema", "$id", "title", "description", "type", "examples")


@cache
def _meta_validator(dialect: str = "2020-12") -> Any:
    from codegen.validation import metaschema_validator

    return metaschema_validator(dialect)


def lint_metaschema(f: JsonFile, dialect: str = "2020-12") -> list[Finding]:
    """SCHEMA_INVALID: the file is a valid schema of its dialect (Draft 2020-12 for
    contracts; ``codegen compat`` also reads 2019-09 and Draft-07)."""
    validator = _meta_validator(dialect)
    if dialect == "2020-12" and certainly_valid(f.doc, validator.format_checker.conforms):
        return []  # the fast walk is sure; otherwise jsonschema decides and locates
    out = []
    for err in validator.iter_errors(f.doc):
        ptr = pointer(*err.absolute_path)
        where = ptr or "the top level"
        out.append(
            Finding(
                f.rel,
                f.line_of(ptr),
                f"Invalid JSON Schema at {where}: {err.message}.",
                "SCHEMA_INVALID",
            )
        )
    return out


# Metaschema and example validation dominate a warm `gen` (~6 ms a file with jsonschema).
# Their result depends only on the bytes validated (and on this code: the cache key has
# its fingerprint), so a pass is remembered keyed by exactly those bytes; failures are
# never cached.
def lint_metaschema_cached(f: JsonFile, cache: Cache) -> list[Finding]:
    key = cache.key(b"lint:meta", canonical_json(f.doc))
    return cache.lint_pass(key, lambda: lint_metaschema(f))


def lint_examples_cached(
    f: JsonFile, bundled: Any, cache: Cache, bundled_text: bytes | None = None
) -> list[Finding]:
    examples = f.doc.get("examples") if isinstance(f.doc, dict) else None
    text = canonical_json(bundled) if bundled_text is None else bundled_text
    key = cache.key(b"lint:examples", text, canonical_json(examples))
    return cache.lint_pass(key, lambda: lint_examples(f, bundled))


def lint_event_header(f: JsonFile, type_name: str, version: int) -> list[Finding]:
    """SCHEMA_* rules: required keywords, dialect, $id agreeing with the path, object payload."""
    doc = f.doc
    if not isinstance(doc, dict):
        return [Finding(f.rel, 1, "An event schema must be a JSON object.", "SCHEMA_NOT_OBJECT")]
    out = []
    missing = [k for k in REQUIRED_KEYWORDS if k not in doc]
    if missing:
        names = ", ".join(f'"{k}"' for k in missing)
        out.append(
            Finding(
                f.rel,
                1,
                f"The schema is missing {names}; every event version carries $schema, $id, "
                "title, description, type and examples.",
                "SCHEMA_REQUIRED_KEYWORD",
            )
        )
    if "$schema" in doc and doc["$schema"] != DIALECT:
        out.append(
            Finding(
                f.rel,
                f.line_of("/$schema"),
                f'"$schema" must be "{DIALECT}" (JSON Schema Draft 2020-12).',
                "SCHEMA_DIALECT",
            )
        )
    suffix = f"/events/{type_name}/v{version}.json"
    schema_id = doc.get("$id")
    if "$id" in doc and not (isinstance(schema_id, str) and schema_id.endswith(suffix)):
        out.append(
            Finding(
                f.rel,
                f.line_of("/$id"),
                f'"$id" must end with "{suffix}" to match the file\'s type and version.',
                "SCHEMA_ID_MISMATCH",
            )
        )
    if "type" in doc and doc["type"] != "object":
        out.append(
            Finding(
                f.rel,
                f.line_of("/type"),
                'An event payload must be "type": "object".',
                "SCHEMA_NOT_OBJECT",
            )
        )
    examples = doc.get("examples")
    if "examples" in doc and (not isinstance(examples, list) or not examples):
        out.append(
            Finding(
                f.rel,
                f.line_of("/examples"),
                '"examples" must be a non-empty array of valid payloads.',
                "EXAMPLES_MISSING",
            )
        )
    return out


def lint_examples(f: JsonFile, bundled: Any) -> list[Finding]:
    """EXAMPLE_INVALID: every example validates against the (bundled) schema."""
    from jsonschema import FormatChecker

    from codegen.validation import validator_for

    examples = f.doc.get("examples") if isinstance(f.doc, dict) else None
    if not isinstance(examples, list):
        return []
    validator = validator_for(bundled, formats=False).evolve(format_checker=FormatChecker())
    out = []
    for i, example in enumerate(examples):
        try:
            errors = list(validator.iter_errors(example))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # an unresolvable ref, or recursion without end
            out.append(
                Finding(
                    f.rel,
                    f.line_of(f"/examples/{i}"),
                    f"Example {i} could not be validated ({type(exc).__name__}); check the "
                    "refs of the schema.",
                    "EXAMPLE_INVALID",
                )
            )
            continue
        for err in errors:
            at = pointer(*err.absolute_path) or "/"
            out.append(
                Finding(
                    f.rel,
                    f.line_of(f"/examples/{i}"),
                    f"Example {i} is invalid at {at}: {err.message}.",
                    "EXAMPLE_INVALID",
                )
            )
    return out


_NON_IDENT = re.compile(r"\W+")


def lint_property_names(f: JsonFile) -> list[Finding]:
    """PROPERTY_NAME_COLLISION: two property names of one object map to one Python name."""
    out: list[Finding] = []

    def walk(node: Any, ptr: str) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                seen: dict[str, str] = {}
                for name in props:
                    if unicodedata.normalize("NFKC", name) != name:
                        # Python NFKC-normalises identifiers: "ｉｄ" would silently become "id".
                        out.append(
                            Finding(
                                f.rel,
                                f.line_of(f"{ptr}/properties/{escape(name)}"),
                                f'Property "{name}" is not in Unicode NFKC form; write it as '
                                f'"{unicodedata.normalize("NFKC", name)}".',
                                "PROPERTY_NAME_NOT_NORMALIZED",
                            )
                        )
                        continue
                    key = _NON_IDENT.sub("_", name).strip("_").casefold()
                    if key in seen:
                        out.append(
                            Finding(
                                f.rel,
                                f.line_of(f"{ptr}/properties/{escape(name)}"),
                                f'Properties "{seen[key]}" and "{name}" both become the Python '
                                f'field "{key or "_"}"; rename one of them.',
                                "PROPERTY_NAME_COLLISION",
                            )
                        )
                    else:
                        seen[key] = name
            for k, v in node.items():
                # only containers can hold properties (and the pointer costs)
                if k not in _VALUE_KEYWORDS and isinstance(v, (dict, list)):
                    walk(v, f"{ptr}/{escape(k)}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{ptr}/{i}")

    walk(f.doc, "")
    return out


# Keywords whose values are instances, not schemas: never walk into them as schemas.
_VALUE_KEYWORDS = frozenset({"examples", "default", "const", "enum"})


_DEF_NAME_BREAKERS = (".",)


def lint_names_and_patterns(doc: Any, locate: Callable[[str], tuple[str, int]]) -> list[Finding]:
    """DEF_NAME_INVALID: a $defs name with "." (the model generator reads it as a module
    path and fails; "#" and other characters work, refs to them are percent-encoded).
    PATTERN_UNSUPPORTED: a pattern the generated models' linear-time regex engine
    (pydantic-core's Rust regex) refuses; pydantic would fall back to Python's
    backtracking ``re``, where one crafted payload can block a consumer."""
    from codegen.refs import schemas
    from codegen.validation import rust_regex_error

    out: list[Finding] = []
    for ptr, node in schemas(doc):
        for key in ("$defs", "definitions"):
            defs = node.get(key)
            for name in defs if isinstance(defs, dict) else {}:
                if any(c in name for c in _DEF_NAME_BREAKERS):
                    at = f"{ptr}/{escape(key)}/{escape(name)}"
                    out.append(
                        Finding(
                            *locate(at),
                            f'The {key} name "{name}" cannot be used: the model generator '
                            'reads a "." as a module path; rename it (e.g. with "_").',
                            "DEF_NAME_INVALID",
                        )
                    )
        found: list[tuple[str, str]] = []
        if isinstance(node.get("pattern"), str):
            found.append((node["pattern"], f"{ptr}/pattern"))
        props = node.get("patternProperties")
        for pattern in props if isinstance(props, dict) else {}:
            found.append((pattern, f"{ptr}/patternProperties/{escape(pattern)}"))
        for pattern, at in found:
            reason = rust_regex_error(pattern)
            if reason is not None:
                out.append(
                    Finding(
                        *locate(at),
                        f"The pattern {pattern!r} is not supported by the generated models' "
                        f"linear-time regex engine ({reason}); rewrite it without lookaround "
                        "or backreferences.",
                        "PATTERN_UNSUPPORTED",
                    )
                )
    return out

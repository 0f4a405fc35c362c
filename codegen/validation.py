"""Every jsonschema validator codegen builds comes from here.

Two guarantees, whatever a contract says:

* References never leave the document: the registry refuses to retrieve anything, so a
  ``$ref``/``$dynamicRef`` to a file or a URL is an error, never a file read or a
  network connection (jsonschema would otherwise fetch http(s) URLs by default).
* Patterns (``pattern``, ``patternProperties``, the names ``additionalProperties``
  skips) run on pydantic-core's linear-time Rust regex engine, the one the generated
  models use, so a pattern such as ``^(a+)+$`` cannot make a long example hang the
  build. Patterns that engine refuses (lookaround, backreferences) are rejected by lint
  in contracts (PATTERN_UNSUPPORTED); elsewhere they fall back to Python's ``re``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from referencing import Registry, Resource

T = TypeVar("T")


def _refuse(uri: str) -> Resource[Any]:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


@cache
def registry() -> Registry[Any]:
    """The one registry every validator gets: it retrieves nothing. jsonschema adds the
    dialect metaschemas to it; nothing else. Built on first use: the judging that needs
    no validator (most of a `check` with lint passes remembered) skips importing
    `referencing` and jsonschema (a tenth of a second)."""
    from referencing import Registry

    return Registry(retrieve=_refuse)  # type: ignore[call-arg]


@lru_cache(maxsize=4096)
def _rust(pattern: str) -> Any:
    from pydantic_core import SchemaValidator, core_schema

    try:
        return SchemaValidator(
            core_schema.str_schema(pattern=pattern, regex_engine="rust-regex", strict=True)
        )
    except Exception:  # pydantic-core raises its own SchemaError type
        return None


def rust_regex_error(pattern: str) -> str | None:
    """Why the generated models' regex engine refuses ``pattern`` (None when it accepts)."""
    if _rust(pattern) is not None:
        return None
    from pydantic_core import SchemaValidator, core_schema

    try:
        SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))
    except Exception as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("error:")]
        return lines[-1].removeprefix("error:").strip() if lines else "not supported"
    return None


def search(pattern: str, text: str) -> bool:
    """``re.search`` semantics on the linear-time engine (Python's ``re`` as a fallback)."""
    found = _rust(pattern)
    if found is not None:
        return bool(found.isinstance_python(text))
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not search(patrn, instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for k, v in instance.items():
            if search(pattern, k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _additional_properties(validator: Any, ap: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in declared and not any(search(p, k) for p in patterns)]
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif ap is False and extras:
        # jsonschema's own wording (callers and golden files quote it)
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(e) for e in sorted(extras))
            known = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {known}")
        else:
            shown = ", ".join(repr(e) for e in sorted(extras, key=str))
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({shown} {verb} unexpected)"
            )


_LINEAR = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


@cache
def _classes() -> Mapping[str, Any]:
    from jsonschema import Draft7Validator, Draft201909Validator, Draft202012Validator, validators

    return {
        name: validators.extend(base, _LINEAR)  # type: ignore[no-untyped-call]
        for name, base in (
            ("2020-12", Draft202012Validator),
            ("2019-09", Draft201909Validator),
            ("draft-07", Draft7Validator),
        )
    }


def without_dialect(schema: Any) -> Any:
    """``schema`` without its root ``$schema``: jsonschema's ``evolve`` would otherwise
    swap our class for its stock one of that dialect (backtracking regex included)."""
    if isinstance(schema, dict) and "$schema" in schema:
        return {k: v for k, v in schema.items() if k != "$schema"}
    return schema


def validator_for(schema: Any, *, dialect: str = "2020-12", formats: bool = True) -> Any:
    """A validator for ``schema`` that never leaves it and asserts ``format``. The
    dialect is ``dialect``, never the document's ``$schema`` (see without_dialect)."""
    schema = without_dialect(schema)
    cls = _classes()[dialect]
    checker = cls.FORMAT_CHECKER if formats else None
    return cls(schema, registry=registry(), format_checker=checker)


def metaschema_validator(dialect: str = "2020-12") -> Any:
    """The dialect's metaschema validator (format assertions on, as lint has always had)."""
    from jsonschema import FormatChecker

    cls = _classes()[dialect]
    return cls(cls.META_SCHEMA, registry=registry(), format_checker=FormatChecker())


def outcome(check: Callable[[], T], fallback: T) -> T:
    """`check()` (a jsonschema verdict), or `fallback` when jsonschema cannot finish it:
    an unresolvable ref, or a ref cycle that recurses without end. The RecursionError of a
    cycle can surface as rpds' PanicException, a BaseException, depending on where the
    stack runs out, so everything but an interrupt is caught; callers pass the answer
    that is safe for them."""
    try:
        return check()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        return fallback

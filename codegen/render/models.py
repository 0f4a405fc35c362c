"""Pydantic models via datamodel-code-generator, called as a library, with a content cache.

Plain record schemas never reach it: `render/direct.py` writes the text the generator would
write for them (and declines everything else).

The generator is slow to import and run (~0.5 s), so each module's source is kept in the
codegen cache (codegen/cache.py) keyed by the exact input schema and the post-processing
spec; the key also covers the code of codegen itself (our options, `render.shared.finish`)
and the generator's version. A no-op `codegen gen --check` never starts it. The cache only
ever holds what the generator produced for that key, so a hit is byte-identical to a fresh
run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from codegen.cache import Cache
from codegen.forked import map_forked, workers
from codegen.shapes import strip_annotations

LINE_LENGTH = 100


def model_input(schema: Any, class_name: str) -> Any:
    """The schema as the generator sees it: annotations stripped, root titled `class_name`.

    Annotations never change validation, and free text from a schema must not reach
    generated code at all (it cannot inject what is not there)."""
    prepared = strip_annotations(schema)
    if isinstance(prepared, dict):
        prepared["title"] = class_name
    return prepared


def _serialise(schema: Any) -> bytes:
    # Key order is kept (not sorted): the generator emits fields in schema order.
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":")).encode()


def _key(prepared: Any, spec: Any) -> str:
    finish = b"" if spec is None else json.dumps(spec, sort_keys=True).encode()
    return Cache.key(b"models", _serialise(prepared), finish)


# A module's input: the prepared schema and, for modules that share shapes, the edit that
# `render.shared.finish` applies to the generator's output (part of the cache key).
Job = tuple[Any, dict[str, Any] | None]


def generate_model_sources(
    schemas: dict[str, Any],
    specs: dict[str, dict[str, Any] | None] | None = None,
    cache: Cache | None = None,
) -> dict[str, str]:
    """module name -> Python source (without our header) for each prepared schema. Sources
    found in `cache` are reused; new ones are put there (in memory: the caller flushes)."""
    from codegen.render.direct import direct_source

    cache = cache if cache is not None else Cache()
    out: dict[str, str] = {}
    jobs: dict[str, Job] = {n: (s, (specs or {}).get(n)) for n, s in schemas.items()}
    missing: dict[str, Job] = {}
    keys = {name: _key(*job) for name, job in jobs.items()}
    for name, key in keys.items():
        hit = cache.get("models", key)
        if hit is not None:
            out[name] = hit
            continue
        # plain records are written directly (the generator's text, without its run)
        text = direct_source(*jobs[name])
        if text is None:
            missing[name] = jobs[name]
        else:
            out[name] = text
            cache.put("models", key, text)
    if missing:
        try:
            fresh = _run_parallel(missing)
        except Exception as exc:  # the generator's own errors: name the schema(s) behind them
            raise GeneratorFailed(_culprits(missing) or {"": str(exc)}) from exc
        for name, source in fresh.items():
            out[name] = source
            cache.put("models", keys[name], source)
    return out


class GeneratorFailed(Exception):
    """datamodel-code-generator refused input that passed lint: module -> its message."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__("; ".join(f"{m}: {e}" for m, e in sorted(failures.items())))
        self.failures = failures


def _culprits(jobs: dict[str, Job]) -> dict[str, str]:
    """Each module alone (only after a failed run): the ones the generator refuses."""
    out = {}
    for name in sorted(jobs):
        try:
            _run_generator({name: jobs[name]})
        except Exception as exc:
            out[name] = " ".join(str(exc).split())[:300]
    return out


# Below this many modules a second process costs more (generator import) than it saves.
_PARALLEL_MIN = 48


def _run_parallel(schemas: dict[str, Job]) -> dict[str, str]:
    """Split a large cold run over the machine's cores; each module is independent (only
    local refs), so the output is the same as one big run."""
    parts = workers()
    if parts < 2 or len(schemas) < _PARALLEL_MIN:
        return _run_generator(schemas)
    names = sorted(schemas)
    chunks = [{n: schemas[n] for n in names[i::parts]} for i in range(parts)]
    out: dict[str, str] = {}
    for part in map_forked(_run_generator, chunks):
        out.update(part)
    return out


def _run_generator(jobs: dict[str, Job]) -> dict[str, str]:
    from codegen.render.shared import finish

    sources = _run_datamodel_codegen({name: schema for name, (schema, _) in jobs.items()})
    out = {}
    for name, source in sources.items():
        spec = jobs[name][1]
        out[name] = source if spec is None else finish(source, spec, LINE_LENGTH)
    return out


def _run_datamodel_codegen(schemas: dict[str, Any]) -> dict[str, str]:
    from datamodel_code_generator import (  # type: ignore[attr-defined]
        DataModelType,
        InputFileType,
        LiteralType,
        PythonVersion,
        generate,
    )
    from datamodel_code_generator.format import Formatter

    from codegen.write import INSIDE, write_files

    with tempfile.TemporaryDirectory(prefix="schemabus-gen-") as tmp:
        src = Path(tmp) / "in"
        dst = Path(tmp) / "out"
        # the generator reads files: the prepared schemas go to a scratch folder
        inputs = {f"{name}.json": _serialise(schema).decode() for name, schema in schemas.items()}
        write_files(src, inputs, INSIDE)
        generate(
            src if len(schemas) > 1 else src / f"{next(iter(schemas))}.json",
            input_file_type=InputFileType.JsonSchema,
            output=dst if len(schemas) > 1 else dst / f"{next(iter(schemas))}.py",
            output_model_type=DataModelType.PydanticV2BaseModel,
            formatters=[Formatter.BUILTIN],
            builtin_format_line_length=LINE_LENGTH,
            disable_timestamp=True,
            keep_model_order=True,
            enum_field_as_literal=LiteralType.All,
            target_python_version=PythonVersion.PY_311,
            use_standard_collections=True,
            use_union_operator=True,
            strict_nullable=True,
            field_constraints=True,
            use_double_quotes=True,
            allow_population_by_field_name=True,
            use_schema_description=False,
            use_field_description=False,
        )
        return {name: _clean((dst / f"{name}.py").read_text("utf-8")) for name in schemas}


def _clean(source: str) -> str:
    """Drop the generator's own header (it names temp files) and normalise line endings."""
    lines = source.replace("\r\n", "\n").split("\n")
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).rstrip("\n") + "\n"

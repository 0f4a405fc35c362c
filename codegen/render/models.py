"""Pydantic models via datamodel-code-generator, called as a library, with a content cache.

The generator is slow to import and run (~0.5 s), so each module's source is cached under
`.cache/codegen/` keyed by the exact input schema, the generator version and our options:
a no-op `codegen gen --check` never starts it. The cache only ever holds what the generator
produced for that key, so a hit is byte-identical to a fresh run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from codegen.shapes import strip_annotations

LINE_LENGTH = 100
# Bump when the options or the post-processing (here and in render/shared.py) change: it
# invalidates the cache.
RENDER_REVISION = "4"


def model_input(schema: Any, class_name: str) -> Any:
    """The schema as the generator sees it: annotations stripped, root titled `class_name`.

    Annotations never change validation, and free text from a schema must not reach
    generated code at all (it cannot inject what is not there)."""
    prepared = strip_annotations(schema)
    if isinstance(prepared, dict):
        prepared["title"] = class_name
    return prepared


_cache_root = Path(".")


def use_cache_root(root: Path) -> None:
    """Caches live in `<repo root>/.cache/codegen` (git-ignored) unless SCHEMABUS_CACHE_DIR
    says otherwise; the CLI points this at its --root."""
    global _cache_root
    _cache_root = root


def cache_dir() -> Path:
    override = os.environ.get("SCHEMABUS_CACHE_DIR")
    return Path(override) if override else _cache_root / ".cache" / "codegen"


def _serialise(schema: Any) -> bytes:
    # Key order is kept (not sorted): the generator emits fields in schema order.
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":")).encode()


@cache
def _generator_tag() -> bytes:
    return f"dmcg={dist_version('datamodel-code-generator')};rev={RENDER_REVISION};".encode()


def _key(prepared: Any, spec: Any) -> str:
    h = hashlib.sha256()
    h.update(_generator_tag())
    h.update(_serialise(prepared))
    if spec is not None:
        h.update(b";finish=" + json.dumps(spec, sort_keys=True).encode())
    return h.hexdigest()


# A module's input: the prepared schema and, for modules that share shapes, the edit that
# `render.shared.finish` applies to the generator's output (part of the cache key).
Job = tuple[Any, dict[str, Any] | None]


def generate_model_sources(
    schemas: dict[str, Any], specs: dict[str, dict[str, Any] | None] | None = None
) -> dict[str, str]:
    """module name -> Python source (without our header) for each prepared schema."""
    out: dict[str, str] = {}
    jobs: dict[str, Job] = {n: (s, (specs or {}).get(n)) for n, s in schemas.items()}
    missing: dict[str, Job] = {}
    keys = {name: _key(*job) for name, job in jobs.items()}
    cache = cache_dir()
    for name, key in keys.items():
        hit = cache / key[:2] / f"{key}.py"
        if hit.is_file():
            out[name] = hit.read_text("utf-8")
        else:
            missing[name] = jobs[name]
    if missing:
        fresh = _run_parallel(missing)
        for name, source in fresh.items():
            out[name] = source
            _store(cache / keys[name][:2] / f"{keys[name]}.py", source)
    return out


def _store(path: Path, source: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source, "utf-8")
        tmp.replace(path)
    except OSError:
        pass  # the cache is an optimisation; a read-only tree still generates correctly


# Below this many modules a second process costs more (generator import) than it saves.
_PARALLEL_MIN = 48


def _run_parallel(schemas: dict[str, Job]) -> dict[str, str]:
    """Split a large cold run over the machine's cores; each module is independent (only
    local refs), so the output is the same as one big run."""
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(schemas) < _PARALLEL_MIN:
        return _run_generator(schemas)
    import concurrent.futures
    import multiprocessing

    names = sorted(schemas)
    chunks = [{n: schemas[n] for n in names[i::workers]} for i in range(workers)]
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    out: dict[str, str] = {}
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for part in pool.map(_run_generator, chunks):
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

    with tempfile.TemporaryDirectory(prefix="schemabus-gen-") as tmp:
        src = Path(tmp) / "in"
        dst = Path(tmp) / "out"
        src.mkdir()
        for name, schema in schemas.items():
            (src / f"{name}.json").write_bytes(_serialise(schema))
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

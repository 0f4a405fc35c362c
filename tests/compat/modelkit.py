"""Generated pydantic models for fixture schemas (the same generator path as `codegen gen`)."""

from __future__ import annotations

import functools
import json
import types
from typing import Any

from pydantic import BaseModel


def _module_name(schema: Any) -> str:
    import hashlib

    return "m_" + hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]


def models_for(schemas: list[Any]) -> dict[str, type[BaseModel] | None]:
    """Model class per schema (keyed by canonical JSON), generated in one batch.

    None when the generator cannot express the schema (e.g. boolean root schemas).
    """
    from codegen.render.models import generate_model_sources, model_input

    cache = _cache()
    wanted: dict[str, Any] = {}
    for schema in schemas:
        if isinstance(schema, dict):
            wanted[_module_name(schema)] = model_input(schema, "Model")
    try:
        sources = generate_model_sources(wanted, cache=cache) if wanted else {}
    except Exception:  # fall back to one at a time so one odd schema costs only itself
        sources = {}
        for name, schema in wanted.items():
            try:
                sources.update(generate_model_sources({name: schema}, cache=cache))
            except Exception:
                continue
    cache.flush()  # the generator is slow: the next run reuses these sources
    out: dict[str, type[BaseModel] | None] = {}
    for schema in schemas:
        key = json.dumps(schema, sort_keys=True)
        source = sources.get(_module_name(schema)) if isinstance(schema, dict) else None
        out[key] = _load(source) if source else None
    return out


@functools.cache
def _cache() -> Any:
    from pathlib import Path

    from codegen.cache import Cache

    return Cache.for_root(Path(__file__).resolve().parents[2])


@functools.cache
def _load(source: str) -> type[BaseModel] | None:
    import hashlib
    import sys

    name = "compat_fixture_" + hashlib.sha256(source.encode()).hexdigest()[:16]
    module = types.ModuleType(name)
    sys.modules[name] = module  # pydantic resolves generic RootModels through sys.modules
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    except Exception:
        return None
    model = module.__dict__.get("Model")
    if isinstance(model, type) and issubclass(model, BaseModel):
        model.model_rebuild(_types_namespace=module.__dict__)
        return model
    return None

"""The singular of a class name, as datamodel-code-generator names array item models.

The generator names the model of an array's items by `inflect`'s `singular_noun` ("Lines"
-> "Line"), or the name plus "Item" when inflect has no singular. Importing the generator
to ask it costs about 0.2 s, and importing inflect the usual way about 3 s (its
`@typechecked` decorators instrument every function at import). So, like the generator
itself (`datamodel_code_generator.reference._load_private_inflect`), this loads inflect's
code under a private name with a no-op `typechecked`, which only removes run-time argument
checks: the answers are inflect's own. tests/codegen/test_direct_models.py compares them
with the generator's `get_singular_name`.
"""

from __future__ import annotations

import builtins
import copy
import importlib.util
import sys
import types
from functools import cache
from typing import Any

SUFFIX = "Item"
_PRIVATE = "codegen._inflect"


def _noop_typechecked(target: Any = None, **_: Any) -> Any:
    if target is None:
        return lambda wrapped: wrapped
    return target


@cache
def _engine() -> Any:
    module: Any = sys.modules.get(_PRIVATE)
    if module is None:
        spec = importlib.util.find_spec("inflect")
        get_code = getattr(spec.loader, "get_code", None) if spec is not None else None
        if spec is None or get_code is None:
            raise ImportError("inflect is not installed as Python code")
        code = get_code("inflect")
        private = copy.copy(spec)
        private.name = _PRIVATE
        module = importlib.util.module_from_spec(private)
        stub = types.ModuleType("typeguard")
        stub.__dict__["typechecked"] = _noop_typechecked
        real_import = builtins.__import__

        def import_(name: str, *args: Any, **kwargs: Any) -> Any:
            return stub if name == "typeguard" else real_import(name, *args, **kwargs)

        module.__dict__["__builtins__"] = {**vars(builtins), "__import__": import_}
        sys.modules[_PRIVATE] = module
        exec(code, module.__dict__)  # inflect's own compiled code, nothing from a schema
    return module.engine()


@cache
def singular_name(name: str) -> str:
    found = _engine().singular_noun(name)
    return f"{name}{SUFFIX}" if found is False else str(found)

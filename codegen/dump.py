"""`codegen dump-ir`: the IR as sorted, indented JSON (for debugging and golden tests)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from codegen.ir import Project


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            if f.name in ("raw", "bundled", "source"):
                continue
            out[f.name] = _plain(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def dump_ir(project: Project) -> str:
    return json.dumps(_plain(project), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

"""``json.dumps(value, indent=2, ensure_ascii=False)``, the same text, several times faster.

With ``indent`` set, the json module leaves its C encoder for a generator-based one in
pure Python; the AsyncAPI document of a large tree then takes most of a render. Here
only the layout is Python: every key and scalar still goes through the C encoder's own
functions. tests/codegen/test_indented.py compares the two over random JSON values.
"""

from __future__ import annotations

import json
from typing import Any

_STRING = json.encoder.encode_basestring  # the C function when available
_SCALAR = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any, indent: int = 2) -> str:
    out: list[str] = []
    _write(value, out, "\n", " " * indent)
    return "".join(out)


def _write(value: Any, out: list[str], newline: str, step: str) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        sep = "{" + inner
        for key, item in value.items():
            out.append(sep)
            out.append(_key(key))
            out.append(": ")
            _write(item, out, inner, step)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _write(item, out, inner, step)
            sep = "," + inner
        out.append(newline + "]")
    elif isinstance(value, str):
        out.append(_STRING(value))
    else:
        out.append(_SCALAR(value))


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _STRING(key)
    # what the json module makes of other keys: true/false/null and numbers, as text
    text = _SCALAR(key)
    return _STRING(text)

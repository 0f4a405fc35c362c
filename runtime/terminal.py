"""Text for terminals: values from the broker are printed with control characters escaped.

Stream entries, group names and error messages come from whoever wrote to Redis; printed
raw, an escape sequence in them could rewrite the operator's terminal (move the cursor,
hide lines, change the title). Every C0/C1 control character, DEL, and the Unicode
characters that reorder or hide text are shown as `\\xNN` / `\\uNNNN` instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

_REORDERING = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_REORDERING}]")
#: In JSON text, C0 characters only occur as layout (orjson escapes them in strings).
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_REORDERING}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control and reordering characters escaped, on one line."""
    return _UNSAFE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(value: Any, *, indent: bool = False, sort_keys: bool = False) -> str:
    """JSON whose string contents cannot reach the terminal as control characters (orjson
    escapes C0 only; DEL, C1 and reordering characters are escaped here, which keeps the
    same JSON value)."""
    option = (orjson.OPT_INDENT_2 if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    text = orjson.dumps(value, option=option).decode()
    return _UNSAFE_IN_JSON.sub(_json_escape, text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(headers)] + [["" if c is None else printable(str(c)) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

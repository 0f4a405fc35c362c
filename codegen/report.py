"""Formatting findings for people (text), programs (json) and GitHub Actions (github)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from codegen.errors import Finding


def format_findings(findings: Sequence[Finding], fmt: str) -> list[str]:
    if fmt == "json":
        return [
            json.dumps(
                [
                    {"path": f.path, "line": f.line, "rule": f.rule, "message": f.message}
                    for f in findings
                ],
                indent=2,
                ensure_ascii=False,
            )
        ]
    if fmt == "github":
        return [_github(f) for f in findings]
    return [f.render() for f in findings]


def _github(f: Finding) -> str:
    # Workflow commands: properties and message need %-escaping of %, CR, LF (and , : in props).
    def prop(s: str) -> str:
        return (
            s.replace("%", "%25")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
            .replace(":", "%3A")
            .replace(",", "%2C")
        )

    def msg(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    line = f",line={f.line}" if f.line else ""
    return f"::error file={prop(f.path)}{line},title={prop(f.rule)}::{msg(f.message)}"

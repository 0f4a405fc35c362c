"""Findings and user errors: everything the CLI prints instead of a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One located problem: rendered as `path:line: message (RULE_ID)`."""

    path: str
    line: int
    message: str
    rule: str

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message} ({self.rule})"


class BadInput(Exception):
    """Input that cannot be read at all (invalid JSON/YAML, missing files): exit code 2."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("\n".join(f.render() for f in findings))
        self.findings = sorted(set(findings))


class LintFailed(Exception):
    """Readable input that breaks a rule: exit code 1."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("\n".join(f.render() for f in findings))
        self.findings = sorted(set(findings))

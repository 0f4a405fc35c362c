"""`codegen compat OLD.json NEW.json` and `codegen rules`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from codegen.errors import BadInput, Finding
from codegen.load import Bundle, Bundler


def _schemas_root(path: Path) -> Path:
    """Refs may reach anywhere inside the nearest enclosing `schemas/` folder."""
    for parent in path.resolve().parents:
        if parent.name == "schemas":
            return parent
    return path.resolve().parent


def load_schema(path: Path) -> Bundle:
    from codegen.lint import lint_metaschema

    root = _schemas_root(path)
    bundler = Bundler(Path.cwd(), root)
    jf = bundler.file(path)
    problems = lint_metaschema(jf)
    if problems:
        raise BadInput(problems)
    bundle = bundler.bundle(jf)
    if bundle.findings:
        raise BadInput(bundle.findings)
    return bundle


def run_compat(old_path: Path, new_path: Path, *, mode: str, semantics: str, fmt: str) -> int:
    from codegen.compat import compare, report_to_json
    from codegen.compat.modes import pair_verdict
    from codegen.gate import needs, witness_text

    old = load_schema(old_path)
    new = load_schema(new_path)
    report = compare(old.schema, new.schema, semantics=semantics)  # type: ignore[arg-type]
    compatible = pair_verdict(mode, report)  # type: ignore[arg-type]
    if fmt == "json":
        out = report_to_json(report, mode=mode, semantics=semantics)  # type: ignore[arg-type]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0 if compatible else 1
    wanted = needs(mode)
    lines: list[Finding] = []
    for f in report.findings:
        if f.direction not in wanted:
            continue
        rel, line = new.locate(f.new_pointer)  # "" is the root of the new schema
        message = f"{f.direction}: {f.message}"
        if f.has_witness:
            message += f" Example that breaks: {witness_text(f.witness)}"
        lines.append(Finding(rel, line, message, f.rule))
    for finding in sorted(set(lines)):
        print(finding.render())
    verdict = "compatible" if compatible else "NOT compatible"
    yes = {True: "yes", False: "no"}
    print(
        f"codegen compat: {verdict} under {mode} ({semantics} semantics; "
        f"backward={yes[report.backward]}, forward={yes[report.forward]})",
        file=sys.stderr,
    )
    return 0 if compatible else 1


def print_rules() -> int:
    from codegen.compat import RULES

    width = max(len(r.id) for r in RULES)
    for rule in sorted(RULES, key=lambda r: r.id):
        directions = "/".join(rule.directions)
        print(f"{rule.id:<{width}}  {directions:<17}  {rule.purpose}")
    return 0

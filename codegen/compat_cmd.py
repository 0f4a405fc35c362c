"""`codegen compat OLD.json NEW.json` and `codegen rules`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from codegen.errors import BadInput, Finding
from codegen.load import Bundle, Bundler, JsonFile, MappedLines


def _schemas_root(path: Path) -> Path:
    """Refs may reach anywhere inside the nearest enclosing `schemas/` folder."""
    for parent in path.resolve().parents:
        if parent.name == "schemas":
            return parent
    return path.resolve().parent


class Loaded:
    """A bundled 2020-12 schema and the pointer map back to the file as written."""

    def __init__(self, bundle: Bundle, original: dict[str, JsonFile]) -> None:
        self.bundle = bundle
        self._original = original

    def pointer(self, ptr: str) -> str:
        """A pointer into the bundled document, as a pointer into the root file."""
        root = self.bundle.root
        lines = root.lines if root is not None else None
        if isinstance(lines, MappedLines):
            return lines.original(ptr)
        return ptr


def load_schema(path: Path, *, dialect: str = "2020-12") -> Loaded:
    """Read, check against its dialect's metaschema, translate to 2020-12 and bundle.

    ``dialect`` applies to documents without ``$schema``; a ``$schema`` always wins."""
    from codegen.dialects import UnknownDialect, dialect_of, translate
    from codegen.lint import lint_metaschema

    originals: dict[str, JsonFile] = {}

    def prepare(jf: JsonFile) -> JsonFile:
        try:
            found = dialect_of(jf.doc, dialect)
        except UnknownDialect as exc:
            raise BadInput(
                [Finding(jf.rel, jf.line_of("/$schema"), f"{exc}.", "SCHEMA_DIALECT")]
            ) from None
        problems = lint_metaschema(jf, found)
        if problems:
            raise BadInput(problems)
        if found == "2020-12":
            return jf
        originals[jf.rel] = jf
        translation = translate(jf.doc, found)
        return replace(jf, doc=translation.doc, lines=MappedLines(jf.lines, translation.original))

    root = _schemas_root(path)
    bundler = Bundler(Path.cwd(), root, prepare=prepare)
    jf = bundler.file(path)
    bundle = bundler.bundle(jf)
    if bundle.findings:
        raise BadInput(bundle.findings)
    return Loaded(bundle, originals)


def run_compat(
    old_path: Path,
    new_path: Path,
    *,
    mode: str,
    semantics: str,
    fmt: str,
    dialect: str = "2020-12",
) -> int:
    from codegen.compat import compare, report_to_json
    from codegen.compat.modes import pair_verdict
    from codegen.gate import needs, witness_text

    old = load_schema(old_path, dialect=dialect)
    new = load_schema(new_path, dialect=dialect)
    report = compare(old.bundle.schema, new.bundle.schema, semantics=semantics)  # type: ignore[arg-type]
    compatible = pair_verdict(mode, report)  # type: ignore[arg-type]
    if fmt == "json":
        out = report_to_json(report, mode=mode, semantics=semantics)  # type: ignore[arg-type]
        for finding in out["findings"]:  # pointers into the files as written
            finding["old_pointer"] = old.pointer(finding["old_pointer"])
            finding["new_pointer"] = new.pointer(finding["new_pointer"])
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0 if compatible else 1
    wanted = needs(mode)
    lines: list[Finding] = []
    for f in report.findings:
        if f.direction not in wanted:
            continue
        rel, line = new.bundle.locate(f.new_pointer)  # "" is the root of the new schema
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

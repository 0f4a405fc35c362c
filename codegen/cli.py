"""`codegen` command line. User mistakes print located one-line findings, never tracebacks.

Exit codes: 0 ok, 1 findings (or drift), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from codegen.cache import Cache
from codegen.errors import BadInput, Finding, LintFailed


def _print_findings(findings: Sequence[Finding], fmt: str = "text") -> None:
    from codegen.report import format_findings

    for line in format_findings(sorted(set(findings)), fmt):
        print(line)


def cmd_gen(args: argparse.Namespace) -> int:
    from codegen.pipeline import plan
    from codegen.write import SERVICES, diff_tree, write_files, write_stubs, write_tree

    root = Path(args.root)
    result = plan(root, cache=args.cache)
    if result.upcaster_stub is not None and not args.check:
        from codegen.upcasters import UPCASTERS_REL

        write_files(root, {UPCASTERS_REL: result.upcaster_stub}, SERVICES)
        print(f"codegen: added upcaster stubs to {UPCASTERS_REL}", file=sys.stderr)
    if result.findings:
        _print_findings(result.findings)
        print(f"codegen: {len(result.findings)} finding(s); nothing was written.", file=sys.stderr)
        return 1
    if args.check:
        diff = diff_tree(root, result.files, read_back=result.read_back)
        if diff:
            sys.stdout.writelines(diff)
            print(
                "codegen: generated/ or schemas/schemas.lock is out of date; run `make gen` "
                "and commit the result.",
                file=sys.stderr,
            )
            return 1
        return 0
    changed = write_tree(root, result.files, read_back=result.read_back)
    stubs = write_stubs(root, result.stubs())
    for rel in stubs:
        print(f"codegen: wrote stub {rel} (yours to implement)", file=sys.stderr)
    print(f"codegen: generated/ is up to date ({len(changed)} file(s) changed).", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def cmd_check(args: argparse.Namespace) -> int:
    from codegen.check import run_check

    return run_check(
        Path(args.root),
        cache=args.cache,
        against=args.against,
        fmt=args.format,
        deployed=args.deployed,
        samples=args.samples,
        sample_count=args.sample_count,
        show_payloads=args.show_payloads,
    )


def cmd_rollout(args: argparse.Namespace) -> int:
    import json

    from codegen.pipeline import plan
    from codegen.rollout import run_rollout

    if (args.deployed is None) == (args.against is None):
        print(
            "codegen: rollout needs one baseline: --deployed URL|FILE (what runs now) or "
            "--against GIT_REF (the contracts deployed from that ref).",
            file=sys.stderr,
        )
        return 2
    root = Path(args.root)
    result = plan(root, cache=args.cache)
    if not result.built:
        _print_findings(result.findings)
        print("codegen: fix the findings above first.", file=sys.stderr)
        return 1
    rollout = run_rollout(
        root, result.project, deployed=args.deployed, against=args.against, cache=args.cache
    )
    if args.format == "json":
        print(json.dumps(rollout.to_json(), indent=2, ensure_ascii=False))
    elif args.format == "github":
        level = "notice" if rollout.safe else "error"
        for line in rollout.lines():
            print(f"::{level} title=rollout::{line.strip()}")
    else:
        for line in rollout.lines():
            print(line)
    return 0 if rollout.safe else 1


def cmd_compat(args: argparse.Namespace) -> int:
    from codegen.compat_cmd import run_compat

    return run_compat(
        Path(args.old),
        Path(args.new),
        mode=args.mode,
        semantics=args.semantics,
        fmt=args.format,
        dialect=args.dialect,
    )


def cmd_rules(args: argparse.Namespace) -> int:
    from codegen.compat_cmd import print_rules

    return print_rules()


def cmd_new(args: argparse.Namespace) -> int:
    from codegen.scaffold import new_type

    return new_type(Path(args.root), args.type)


def cmd_bump(args: argparse.Namespace) -> int:
    from codegen.scaffold import bump_type

    return bump_type(Path(args.root), args.type)


def cmd_repartition(args: argparse.Namespace) -> int:
    from codegen.scaffold import repartition

    return repartition(Path(args.root), args.stream)


def cmd_unlock(args: argparse.Namespace) -> int:
    from codegen.scaffold import unlock

    return unlock(Path(args.root), args.ref)


def cmd_docs(args: argparse.Namespace) -> int:
    """Write only the documentation (also part of `gen`) to --out."""
    from codegen.pipeline import plan
    from codegen.render.docs import render_docs
    from codegen.write import INSIDE, write_files

    result = plan(Path(args.root), cache=args.cache)
    if result.findings:
        _print_findings(result.findings)
        return 1
    out = Path(args.out)
    docs = render_docs(result.project)
    write_files(
        out, {rel.removeprefix("generated/docs/"): text for rel, text in docs.items()}, INSIDE
    )
    print(f"codegen: wrote AsyncAPI 3.0 and the event catalog to {out}/", file=sys.stderr)
    return 0


def cmd_dump_ir(args: argparse.Namespace) -> int:
    from codegen.build import build_project
    from codegen.dump import dump_ir

    project, findings = build_project(Path(args.root), args.cache)
    if findings:
        _print_findings(findings)
        return 1
    sys.stdout.write(dump_ir(project))
    return 0


MODES = [
    "NONE",
    "BACKWARD",
    "FORWARD",
    "FULL",
    "BACKWARD_TRANSITIVE",
    "FORWARD_TRANSITIVE",
    "FULL_TRANSITIVE",
]


def build_parser() -> argparse.ArgumentParser:
    """The command line (DESIGN.md, "Command line").

    Long: a flat list of subcommand declarations, read top to bottom like the README's
    command table; splitting it would only scatter the table."""
    parser = argparse.ArgumentParser(
        prog="codegen", description="schemabus: JSON Schema event contracts -> typed Python."
    )
    parser.add_argument("--root", default=".", help="repository root (default: .)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("gen", help="lint, lock, gate, then rewrite generated/")
    p.add_argument("--check", action="store_true", help="fail (with a diff) if generated/ is stale")
    p.set_defaults(func=cmd_gen)

    p = sub.add_parser("check", help="the CI gate: lint + lock + compatibility + drift")
    p.add_argument(
        "--against", metavar="GIT_REF", help="also compare with the contracts at a git ref"
    )
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    p.add_argument(
        "--deployed",
        metavar="URL|FILE",
        help="also judge the change against the running services: a Redis URL or a "
        "`schemabus deployed --json` snapshot",
    )
    p.add_argument(
        "--samples",
        metavar="URL|FILE",
        action="append",
        help="also decode real entries with every reader: a Redis URL (the last entries of "
        "every durable stream) or a `schemabus sample` JSONL file; repeatable",
    )
    p.add_argument(
        "--sample-count",
        type=_positive,
        default=1000,
        metavar="K",
        help="entries read per stream from a URL (default 1000)",
    )
    p.add_argument(
        "--show-payloads",
        action="store_true",
        help="put the payloads of failing entries in the findings (they may hold personal data)",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "rollout", help="the safe order to deploy consumers and producers of a change"
    )
    p.add_argument("--deployed", metavar="URL|FILE", help="baseline: what runs now")
    p.add_argument("--against", metavar="GIT_REF", help="baseline: the contracts at a git ref")
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    p.set_defaults(func=cmd_rollout)

    p = sub.add_parser("compat", help="compare two schema files")
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("--mode", choices=MODES, default="FULL", type=str.upper)
    p.add_argument("--semantics", choices=["strict", "runtime"], default="runtime")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--dialect",
        choices=["2020-12", "2019-09", "draft-07"],
        default="2020-12",
        help="dialect of documents without $schema (default: 2020-12; $schema always wins)",
    )
    p.set_defaults(func=cmd_compat)

    p = sub.add_parser("rules", help="list the compatibility rules")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("new", help="scaffold schemas/events/<type>/v1.json and register it")
    p.add_argument("type")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("bump", help="copy the latest version of <type> to v(N+1)")
    p.add_argument("type")
    p.set_defaults(func=cmd_bump)

    p = sub.add_parser("unlock", help="forget the fingerprint of a version that was never released")
    p.add_argument("ref", metavar="TYPE@N")
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser(
        "repartition", help="record a stream's new partition count (after draining it)"
    )
    p.add_argument("stream")
    p.set_defaults(func=cmd_repartition)

    p = sub.add_parser("docs", help="write asyncapi.json and the Markdown event catalog")
    p.add_argument("--out", default="generated/docs", help="folder (default: generated/docs)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("dump-ir", help="print the intermediate representation as JSON")
    p.set_defaults(func=cmd_dump_ir)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # One cache per command, passed explicitly; what the command computed for it is
    # written once it is done (plan() itself never writes).
    cache = args.cache = Cache.for_root(Path(args.root))
    try:
        code = int(args.func(args))
    except BadInput as exc:
        _print_findings(exc.findings)
        print("codegen: the input cannot be read; fix the error(s) above.", file=sys.stderr)
        return 2
    except LintFailed as exc:
        _print_findings(exc.findings)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        cache.flush()
    return code


def entry() -> NoReturn:
    """The `codegen` command: `main()`, then exit without tearing the heap down.

    A `check` of a large tree holds many thousands of small objects (schemas, documents
    shared by the judgements, verdicts); freeing them one by one at interpreter exit took
    0.15-0.3 s of a 1-1.5 s command. Everything that must outlive the process is written
    by then (the cache is flushed in `main`); exit handlers still run (temporary folders,
    logging) and the standard streams are flushed, as a normal exit would."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # reader gone, or closed
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()

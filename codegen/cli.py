"""`codegen` command line (placeholder until the pipeline lands)."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("codegen: not implemented yet", file=sys.stderr)
    return 2

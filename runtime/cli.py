"""`schemabus` command line (placeholder until the runtime lands)."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("schemabus: not implemented yet", file=sys.stderr)
    return 2

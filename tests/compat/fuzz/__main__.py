"""``make fuzz``: a long differential fuzz of the gate.

    python -m tests.compat.fuzz [--count N] [--seed S] [--semantics strict,runtime]

Every failure (an instance that disproves a "compatible" verdict, or an engine crash) is
minimized and added to ``tests/compat/fuzz/regressions.json``, which ``make test``
replays. Prints the unsafe and false-alarm rates; exits 1 when anything failed.
"""

from __future__ import annotations

import argparse
import sys
import time

from .run import load_regressions, minimize, model_lookup, run, save_regressions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.compat.fuzz")
    parser.add_argument("--count", type=int, default=5000, help="pairs per semantics")
    parser.add_argument("--seed", type=int, default=20260512)
    parser.add_argument("--semantics", default="strict,runtime")
    args = parser.parse_args(argv)
    failed = 0
    entries = load_regressions()
    for semantics in args.semantics.split(","):
        start = time.perf_counter()
        count = args.count if semantics == "strict" else max(args.count // 5, 1)
        stats = run(count, args.seed, semantics, log=lambda line: print(line, flush=True))
        elapsed = time.perf_counter() - start
        rate = stats.false_alarms / max(stats.equivalent_directions, 1)
        print(
            f"{semantics}: {stats.pairs} pairs, {stats.compatible} compatible directions, "
            f"{stats.instances} instances, {len(stats.failures)} unsafe/crash, "
            f"false alarms {stats.false_alarms}/{stats.equivalent_directions} "
            f"({rate:.1%}) on equivalent pairs, {elapsed:.0f} s",
            flush=True,
        )
        for failure in stats.failures:
            models = model_lookup([failure.old, failure.new]) if semantics == "runtime" else None
            small = minimize(failure, models)
            entries.append({**small.to_json(), "found": f"seed {args.seed}"})
            failed += 1
    if failed:
        save_regressions(entries)
        print(f"{failed} failure(s) minimized into tests/compat/fuzz/regressions.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Codegen workloads: wall time of whole commands, interpreter start-up included."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Workload
from bench.synthetic import write_tree


def _time(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr[-500:]}")
    return elapsed


def _compile_codegen() -> None:
    """Byte-compile codegen/ once, as Python does on a user's first run. With
    PYTHONDONTWRITEBYTECODE set (some CI images and sandboxes) every command would
    otherwise recompile all of codegen's modules, about 0.2 s that no user pays twice."""
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "codegen"), quiet=1, workers=1)


def run(
    rounds: int,
    *,
    types: int = 100,
    versions: int = 2,
    pair_types: int = 20,
    pair_versions: int = 11,
) -> list[Workload]:
    """Defaults are the issue's sizes; the smoke test passes tiny trees."""
    codegen = [sys.executable, "-m", "codegen.cli"]
    size = types * versions
    pairs = pair_types * pair_versions * (pair_versions - 1) // 2
    gen_cold = Workload(
        f"codegen gen, {size} versions (cold cache)", "s", False, target="< 2 s", limit=2.0
    )
    gen_warm = Workload(
        f"codegen gen, {size} versions (warm cache)", "s", False, target="< 2 s", limit=2.0
    )
    check_noop = Workload("codegen gen --check, no-op", "s", False, target="< 1 s")
    gate = Workload(f"codegen check, {pairs} version pairs", "s", False, target="< 1 s", limit=1.0)
    gate_fresh = Workload(
        f"codegen check, {pairs} version pairs, no cached verdicts",
        "s",
        False,
        target="< 1 s",
        limit=1.0,
    )
    compat = Workload("codegen compat, one call", "s", False, target="< 0.5 s")
    _compile_codegen()
    with tempfile.TemporaryDirectory(prefix="schemabus-bench-") as tmp:
        root = Path(tmp) / "tree200"
        write_tree(root, types=types, versions=versions)
        # Over 1000 pairs for the gate: FULL_TRANSITIVE over 20 types x 11 versions is
        # 20 * (11 * 10 / 2) = 1100 pairs.
        pairs_root = Path(tmp) / "pairs"
        write_tree(pairs_root, types=pair_types, versions=pair_versions)
        for r in range(rounds):
            cache = Path(tmp) / f"cache{r}"
            env = {**os.environ, "SCHEMABUS_CACHE_DIR": str(cache)}
            gen_cold.framework.append(_time([*codegen, "--root", str(root), "gen"], env))
            gen_warm.framework.append(_time([*codegen, "--root", str(root), "gen"], env))
            check_noop.framework.append(
                _time([*codegen, "--root", str(root), "gen", "--check"], env)
            )
            _time([*codegen, "--root", str(pairs_root), "gen"], env)
            gate.framework.append(_time([*codegen, "--root", str(pairs_root), "check"], env))
            # every pair judged from scratch: the verdict cache (only) is emptied first
            shutil.rmtree(cache / "compat", ignore_errors=True)
            gate_fresh.framework.append(_time([*codegen, "--root", str(pairs_root), "check"], env))
            old = root / "schemas/events/bench.entity000.changed/v1.json"
            new = root / "schemas/events/bench.entity000.changed/v2.json"
            compat.framework.append(_time([*codegen, "compat", str(old), str(new)], env))
    gate.note = (
        f"{pair_types} types x {pair_versions} versions, FULL_TRANSITIVE: {pairs} pairs, "
        "each judged both ways; wall time of the command including interpreter start-up"
    )
    gate_fresh.note = gate.note.replace("wall time", "verdict cache emptied; wall time")
    return [gen_cold, gen_warm, check_noop, gate, gate_fresh, compat]

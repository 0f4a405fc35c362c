"""`python -m bench --profile NAME`: one framework run of a suite under cProfile.

How the findings in the benchmark notes were produced: the framework side runs once to
warm up, then once under the profiler; the functions with the most own time are printed.
cProfile inflates code made of many tiny calls (OpenTelemetry's context managers, say)
more than C extensions, so confirm a suspect with a micro-benchmark before fixing it.
"""

from __future__ import annotations

import cProfile
import io
import pstats

from bench.suite import Env, Suite


async def profile(suite: Suite, env: Env, *, top: int = 35, sort: str = "tottime") -> str:
    await suite.framework(env)
    profiler = cProfile.Profile()
    profiler.enable()
    result = await suite.framework(env)
    profiler.disable()
    out = io.StringIO()
    out.write(f"{suite.name} (framework): {result}\n")
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()

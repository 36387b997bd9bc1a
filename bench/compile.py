"""Compile-time benchmark: how `compile_pipeline` scales with the number of tasks and the shape of the DAG.

Run from the repository root:

    .venv/bin/python bench/compile.py            # 100, 1,000 and 10,000 tasks (about a minute)
    .venv/bin/python bench/compile.py --quick    # 100 and 1,000 only (a few seconds)
    .venv/bin/python bench/compile.py --profile lattice:10000   # cProfile hot spots of one compile

For every size and shape (see bench/generate.py) it reports the median compile time, the definition size
(compact JSON), the number of gated dependencies, the worst-case history events, whether the budget check
passes, and the peak memory of one compile (tracemalloc, in a separate untimed run). Target: < 1 s for
10,000 tasks.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import platform
import pstats
import re
import resource
import statistics
import sys
import time
import traceback
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from generate import ALL_SHAPES, SHAPES  # noqa: E402

from sluice.compile import BudgetError, compile_pipeline  # noqa: E402

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
TARGET_TASKS = 10_000
TARGET_SECONDS = 1.0
ROW_TIME_BUDGET = 20.0  # seconds of timed runs per row; later runs are skipped once it is spent


def runs_for(n: int) -> int:
    return 7 if n <= 1_000 else 3


@dataclass
class Row:
    shape: str
    tasks: int
    deps: int
    gen_s: float
    times: list[float]
    def_bytes: int | None = None
    gated: int | None = None
    history: int | None = None
    budget: str = ""
    peak_bytes: int | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


_QUOTA = re.compile(r"([A-Za-z][A-Za-z ()-]*?) ([\d,]+) is over the Step Functions quota of ([\d,]+)")
_SHORT = {"worst-case execution history events": "history", "definition size (bytes)": "size",
          "largest dispatch payload (bytes)": "payload"}


def shorten_budget_error(message: str, width: int = 70) -> str:
    """'history 110,018>25,000, size 16,712,925>1,048,576' from a BudgetError message."""
    parts = [f"{_SHORT.get(what, what)} {value}>{limit}" for what, value, limit in _QUOTA.findall(message)]
    text = ", ".join(parts) if parts else message
    return text if len(text) <= width else text[: width - 3] + "..."


def _error(exc: BaseException) -> str:
    """'RecursionError in sluice/compile/structure.py:build (497 frames): maximum recursion ...'"""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sluice/" in f.filename.replace("\\", "/")]
    where = ""
    if frames:
        counts = Counter(f"sluice/{f.filename.replace(chr(92), '/').rsplit('/sluice/', 1)[1]}:{f.name}" for f in frames)
        top, n = counts.most_common(1)[0]
        where = f" in {top}" + (f" ({n} frames)" if n > 1 else "")
    text = f"{type(exc).__name__}{where}: {exc}"
    return text if len(text) <= 110 else text[:107] + "..."


def measure(shape: str, n: int, runs: int) -> Row:
    t0 = time.perf_counter()
    pipeline = ALL_SHAPES[shape](n)
    gen_s = time.perf_counter() - t0
    row = Row(shape, len(pipeline.tasks), sum(len(t.depends_on) for t in pipeline.tasks.values()), gen_s, [])
    try:
        # Timed runs: the default path (check_budget=True), exactly what `sluice compile` does.
        spent = 0.0
        for _ in range(runs):
            gc.collect()
            start = time.perf_counter()
            try:
                compile_pipeline(pipeline, check_budget=True)
                verdict = "ok"
            except BudgetError as exc:
                verdict = "FAIL " + shorten_budget_error(str(exc))
            elapsed = time.perf_counter() - start
            row.times.append(elapsed)
            spent += elapsed
            if spent > ROW_TIME_BUDGET:
                break
        # One untimed run for the figures, another under tracemalloc for the peak memory of compiling.
        compiled = compile_pipeline(pipeline, check_budget=False)
        row.def_bytes = len(compiled.to_json(indent=None).encode())
        row.gated = len(compiled.structure.gated_edges)
        row.history = compiled.budget.history_events
        if verdict == "ok" and compiled.warnings:
            verdict = "ok, near quota: " + ", ".join(
                short for long, short in _SHORT.items() if any(long in w for w in compiled.warnings))
        row.budget = verdict
        del compiled
        gc.collect()
        tracemalloc.start()
        try:
            compile_pipeline(pipeline, check_budget=False)
            row.peak_bytes = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    except Exception as exc:  # RecursionError & co: report it in the table, keep going
        row.error = _error(exc)
    return row


def _fmt(value: object, spec: str = ",") -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    header = ["shape", "tasks", "deps", "gen s", "compile s (median)", "runs", "def bytes", "gated", "history ev",
              "peak MiB", "budget check"]
    lines = []
    for r in rows:
        median = r.median
        compile_s = "-" if median is None else f"{median:.3f}"
        if median is not None and r.tasks == TARGET_TASKS:
            compile_s += " (<1 s: " + ("ok" if median < TARGET_SECONDS else "MISS") + ")"
        peak = None if r.peak_bytes is None else f"{r.peak_bytes / 2**20:.1f}"
        lines.append([r.shape, _fmt(r.tasks), _fmt(r.deps), f"{r.gen_s:.3f}", compile_s, str(len(r.times)),
                      _fmt(r.def_bytes), _fmt(r.gated), _fmt(r.history), peak or "-",
                      r.budget if r.error is None else f"CRASH {r.error}"])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    left = {0, len(header) - 1}

    def render(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in pairs)

    print(render(header).rstrip())
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print(render(line).rstrip())


def profile(spec: str, top: int) -> None:
    shape, _, size = spec.partition(":")
    pipeline = ALL_SHAPES[shape](int(size or TARGET_TASKS))
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        compile_pipeline(pipeline, check_budget=False)
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 100 and 1,000 tasks")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], help="e.g. 100,5000")
    parser.add_argument("--shapes", type=lambda s: s.split(","), default=list(SHAPES),
                        help=f"default {','.join(SHAPES)}; known: {','.join(ALL_SHAPES)}")
    parser.add_argument("--profile", metavar="SHAPE:N", help="print cProfile hot spots of one compile and exit")
    parser.add_argument("--top", type=int, default=20, help="rows of --profile output")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile, args.top)
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    unknown = set(args.shapes) - set(ALL_SHAPES)
    if unknown:
        parser.error(f"unknown shape(s) {sorted(unknown)}; known: {', '.join(ALL_SHAPES)}")

    print(f"sluice compile benchmark - Python {platform.python_version()}, {platform.machine()}, "
          f"sizes {', '.join(f'{n:,}' for n in sizes)}")
    began = time.perf_counter()
    rows = []
    for n in sizes:
        for shape in args.shapes:
            rows.append(measure(shape, n, runs_for(n)))
            r = rows[-1]
            status = r.error or (f"{r.median:.3f} s" if r.median is not None else "-")
            print(f"  {shape:8} {n:>7,}: {status}", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    print()
    target_rows = [r for r in rows if r.tasks == TARGET_TASKS]
    for r in target_rows:
        got = "crashed" if r.median is None else f"{r.median:.3f} s"
        ok = r.median is not None and r.median < TARGET_SECONDS
        print(f"target: compile {TARGET_TASKS:,} tasks in < {TARGET_SECONDS:g} s  {r.shape:8} {got:>10}  "
              f"{'ok' if ok else 'MISS'}")
    crashed = [r for r in rows if r.error]
    # ru_maxrss is in KiB on Linux (bytes on macOS): the whole process, pipelines and tracemalloc runs included.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    print(f"process peak RSS {rss:.0f} MiB; wall time {time.perf_counter() - began:.1f} s"
          + (f"; {len(crashed)} row(s) crashed" if crashed else ""))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

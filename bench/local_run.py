"""Whole `sluice run --local` processes on generated pipelines of no-op tasks: wall time, run time, ms per task.

Shapes (200 tasks by default):
* ``chain``    t0 -> t1 -> ... -> t199
* ``layers``   10 layers of 20; each task depends on 2 tasks of the layer before (i and i+1, wrapping), the
               lattice of the issue and of the Dagster/Prefect comparison in ../shared/FACTS.md.

Each run is a fresh `sluice run NAME --local --json` process (imports, moto, the compiled definition, the real
functions in-process). Figures are medians of --repeat runs; peak memory is the process's maximum RSS. The runs
share a parsed-definition cache (sluice/local/moto_speed.py) that starts empty: the first run of each shape parses
its definition, the others read it, as a user's second run of an unchanged pipeline does. "first s" is that first
run's process time.

    .venv/bin/python bench/local_run.py                 # both shapes, 200 tasks, 3 runs each
    .venv/bin/python bench/local_run.py --tasks 100 --repeat 1 --shapes layers
    .venv/bin/python bench/local_run.py --against ../wt-before    # alternating with an older checkout
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SLUICE = ROOT / ".venv" / "bin" / "sluice"


def chain(n: int) -> dict[str, list[str]]:
    return {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(n)}


def layers(n: int, width: int = 20) -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for i in range(n):
        layer, slot = divmod(i, width)
        above = [] if layer == 0 else sorted({f"t{(layer - 1) * width + slot}",
                                              f"t{(layer - 1) * width + (slot + 1) % width}"})
        deps[f"t{i}"] = above
    return deps


SHAPES = {"chain": chain, "layers": layers}


def pipeline_file(directory: Path, shape: str, n: int) -> str:
    name = f"bench-{shape}-{n}"
    tasks = {task: {"depends_on": deps, "lambda": {"function": "noop"}} for task, deps in SHAPES[shape](n).items()}
    (directory / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, "tasks": tasks}, sort_keys=False))
    return name


def one_run(directory: Path, name: str, work: Path, cache: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    env = {**os.environ, "COLUMNS": "120"} | ({"SLUICE_CACHE_DIR": str(cache)} if cache else {})
    done = subprocess.run([str(SLUICE), "run", name, "--local", "--json", "--dir", str(directory)],
                          capture_output=True, text=True, cwd=work, env=env)
    wall = time.perf_counter() - started
    result = json.loads(done.stdout) if done.stdout.startswith("{") else {}
    if done.returncode != 0:
        raise SystemExit(f"{name}: sluice run exited {done.returncode}: {result.get('error')}: "
                         f"{str(result.get('cause'))[:1000]}\n{done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "run": result["duration_s"], "status": result["status"],
            "transitions": result["billing"]["state_transitions"], "peak_mb": max(peak, before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="200", help="task counts, comma-separated (e.g. 100,200,400)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", default="chain,layers")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="another checkout of Sluice (e.g. a git worktree of an older commit): its runs "
                             "alternate with this one's, run by run (PYTHONPATH), and both are printed")
    args = parser.parse_args()
    trees = {"this": str(ROOT)} | ({"against": str(args.against.resolve())} if args.against else {})
    print(f"sluice run --local, no-op lambda tasks, median of {args.repeat} fresh processes")
    print(f"{'shape':<8} {'tasks':>6} {'code':<8} {'first s':>8} {'process s':>10} {'run s':>8} {'ms/task':>8} "
          f"{'transitions':>12} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        directory, work = Path(tmp) / "pipelines", Path(tmp) / "work"
        directory.mkdir()
        work.mkdir()
        for shape in args.shapes.split(","):
            for tasks in (int(n) for n in args.tasks.split(",")):
                name = pipeline_file(directory, shape, tasks)
                runs: dict[str, list[dict[str, Any]]] = {code: [] for code in trees}
                for _ in range(args.repeat):
                    for code, tree in trees.items():
                        os.environ["PYTHONPATH"] = tree
                        runs[code].append(one_run(directory, name, work, Path(tmp) / f"cache-{code}"))
                for code, done in runs.items():
                    wall = statistics.median(r["wall"] for r in done)
                    run = statistics.median(r["run"] for r in done)
                    print(f"{shape:<8} {tasks:>6} {code:<8} {done[0]['wall']:>8.2f} {wall:>10.2f} {run:>8.2f} "
                          f"{run * 1000 / tasks:>8.1f} {done[0]['transitions']:>12} "
                          f"{max(r['peak_mb'] for r in done):>8.0f}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()

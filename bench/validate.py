"""Validation time of enormous, deep, aliased and odd pipeline files, side by side with PyYAML alone.

The tests (tests/unit/test_valid_pipelines_fuzz.py, tests/unit/test_validation.py) check that each of these files
gets located problems and never a traceback; how long that takes is measured here, not asserted there (a shared,
noisy machine makes a timed assertion a flake). Run from the repository root:

    .venv/bin/python bench/validate.py            # every odd file, median of 3 runs each
    .venv/bin/python bench/validate.py --runs 7

Columns, per file (tests/support/odd_files.py, plus tests/data/bad/alias_bomb.yaml and a 1.2 MB file):

* **sluice s**: `sluice.spec.load_text(text)` (parse, node-limited build, model validation, graph checks), median.
* **pyyaml s**: the peer, `yaml.compose_all(text, Loader=yaml.SafeLoader)`: PyYAML's own parse of the same text,
  the floor any YAML-based validator pays (it does not expand aliases, so the bomb is cheap for it too; it has
  no size limit, so the 1.2 MB file is parsed). `-` when PyYAML raises (too deep for its recursion).
* **x peer**: sluice s / pyyaml s.
* **answer**: the first problem sluice reports, or `valid`.

Target: every file answered in under 2 s on 2 cores, or in under twice PyYAML's own parse of it when that alone
takes longer (a loaded machine slows both; the ratio is the figure that is ours). The bench exits 1 when a file
misses it, or when validation raises.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sluice.spec import load_text  # noqa: E402
from tests.support.odd_files import HUGE  # noqa: E402

TARGET_SECONDS = 2.0


def files() -> dict[str, str]:
    found = dict(HUGE)
    found["fixture alias_bomb.yaml"] = (ROOT / "tests/data/bad/alias_bomb.yaml").read_text()
    found["1.2 MB of payload keys"] = ("name: demo\ntasks:\n  a:\n    lambda:\n      function: f\n      payload:\n"
                                       + "        k: v\n" * 100_000)
    return found


def median_seconds(work: Callable[[], object], runs: int) -> float | None:
    times = []
    for _ in range(runs):
        gc.collect()
        began = time.perf_counter()
        try:
            work()
        except (yaml.YAMLError, RecursionError):
            return None
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1_000))
    print(f"{'file':<32} {'bytes':>10} {'sluice s':>9} {'pyyaml s':>9} {'x peer':>7}  answer")
    failed = False
    for name, text in files().items():
        answer = "valid"
        try:
            _, problems = load_text(text, "odd.yaml")
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                answer = errors[0].message[:60]
        except Exception as exc:  # a traceback is the failure the tests guard against
            print(f"{name:<32} CRASH {type(exc).__name__}: {exc}")
            failed = True
            continue
        ours = median_seconds(lambda t=text: load_text(t, "odd.yaml"), args.runs)
        peer = median_seconds(lambda t=text: list(yaml.compose_all(t, Loader=yaml.SafeLoader)), args.runs)
        assert ours is not None
        ratio = f"{ours / peer:6.1f}" if peer else "      -"
        target = max(TARGET_SECONDS, 2 * (peer or 0.0))
        flag = "" if ours < target else f"  OVER {target:.1f} s"
        failed |= bool(flag)
        peer_s = f"{peer:9.3f}" if peer is not None else f"{'-':>9}"
        print(f"{name:<32} {len(text.encode()):>10,} {ours:9.3f} {peer_s} {ratio}  {answer}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

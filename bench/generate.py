"""Synthetic pipelines for benchmarks: validated `sluice.spec.Pipeline` objects of N simple lambda tasks.

Shapes (N is always the exact number of tasks):

* ``chain``   t0 -> t1 -> ... -> t(N-1)
* ``fanout``  one source, N-2 parallel tasks that each depend on it, one sink that joins them all
* ``lattice`` a grid of ceil(sqrt(N)) columns filled row by row (the last row may be short); every node
              depends on its left and its upper neighbour. Not series-parallel, so the compiler has to gate
              some dependencies.
* ``ladder``  (extra, not in the default benchmark) the same grid with 2 columns, N/2 rows: the tall, thin
              case of ``lattice``, which makes the structure builder nest one level per row.
* ``random_dag(n, edge_prob, seed)``: each pair i < j gets the edge t_i -> t_j with probability `edge_prob`.

The pipelines are built with `Pipeline.model_validate(dict)`: no YAML, no files. Run this module to print
a summary of each shape (`python bench/generate.py 100`).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sluice.spec import Pipeline  # noqa: E402

LAMBDA_JOB = {"function": "f"}


def pipeline_from_deps(name: str, deps: Mapping[str, Sequence[str]]) -> Pipeline:
    """A validated pipeline whose tasks are `deps`' keys (in that order), each a lambda task."""
    tasks: dict[str, Any] = {}
    for task, upstream in deps.items():
        body: dict[str, Any] = {"lambda": dict(LAMBDA_JOB)}
        if upstream:
            body["depends_on"] = list(upstream)
        tasks[task] = body
    return Pipeline.model_validate({"name": name, "tasks": tasks})


def chain_deps(n: int) -> dict[str, list[str]]:
    _check(n, 1)
    return {f"t{i}": ([f"t{i - 1}"] if i else []) for i in range(n)}


def fanout_deps(n: int) -> dict[str, list[str]]:
    _check(n, 3)
    middle = [f"t{i}" for i in range(1, n - 1)]
    deps: dict[str, list[str]] = {"t0": []}
    deps.update({t: ["t0"] for t in middle})
    deps[f"t{n - 1}"] = middle
    return deps


def lattice_side(n: int) -> int:
    """Number of columns of the lattice of `n` tasks."""
    return math.isqrt(n - 1) + 1 if n > 1 else 1  # ceil(sqrt(n))


def lattice_deps(n: int) -> dict[str, list[str]]:
    _check(n, 1)
    return grid_deps(n, lattice_side(n))


def grid_deps(n: int, cols: int) -> dict[str, list[str]]:
    """`n` nodes r{row}c{col} filled row by row, `cols` per row; each depends on its left and upper neighbour."""
    deps: dict[str, list[str]] = {}
    for i in range(n):
        r, c = divmod(i, cols)
        up = [f"r{r - 1}c{c}"] if r else []
        left = [f"r{r}c{c - 1}"] if c else []
        deps[f"r{r}c{c}"] = left + up
    return deps


def ladder_deps(n: int) -> dict[str, list[str]]:
    _check(n, 2)
    return grid_deps(n, 2)


def random_deps(n: int, edge_prob: float, seed: int) -> dict[str, list[str]]:
    """Each pair i < j independently gets t_i -> t_j with probability `edge_prob` (O(n^2) draws)."""
    _check(n, 1)
    if not 0.0 <= edge_prob <= 1.0:
        raise ValueError(f"edge_prob must be in [0, 1], got {edge_prob}")
    rng = random.Random(seed)
    return {f"t{j}": [f"t{i}" for i in range(j) if rng.random() < edge_prob] for j in range(n)}


def chain(n: int) -> Pipeline:
    return pipeline_from_deps(f"bench-chain-{n}", chain_deps(n))


def fanout(n: int) -> Pipeline:
    return pipeline_from_deps(f"bench-fanout-{n}", fanout_deps(n))


def lattice(n: int) -> Pipeline:
    return pipeline_from_deps(f"bench-lattice-{n}", lattice_deps(n))


def ladder(n: int) -> Pipeline:
    return pipeline_from_deps(f"bench-ladder-{n}", ladder_deps(n))


def random_dag(n: int, edge_prob: float, seed: int = 0) -> Pipeline:
    return pipeline_from_deps(f"bench-random-{n}-{seed}", random_deps(n, edge_prob, seed))


SHAPES: dict[str, Callable[[int], Pipeline]] = {"chain": chain, "fanout": fanout, "lattice": lattice}
# Selectable with `bench/compile.py --shapes`, not run by default. random: about 4 dependencies per task.
EXTRA_SHAPES: dict[str, Callable[[int], Pipeline]] = {
    "ladder": ladder, "random": lambda n: random_dag(n, min(1.0, 8 / max(n - 1, 1)), 0)}
ALL_SHAPES = {**SHAPES, **EXTRA_SHAPES}


def _check(n: int, minimum: int) -> None:
    if n < minimum:
        raise ValueError(f"need at least {minimum} tasks, got {n}")


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for shape, make in ALL_SHAPES.items():
        p = make(size)
        edges = sum(len(t.depends_on) for t in p.tasks.values())
        print(f"{shape:8} {p.name:24} tasks={len(p.tasks):,} edges={edges:,}")

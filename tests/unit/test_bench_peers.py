"""bench/peers.py writes a Dagster job with the dependency edges of Sluice's pipeline of the same shape (the
benchmark itself, which needs a Dagster venv, is not part of the tests)."""

from __future__ import annotations

import ast

import pytest

from bench.local_run import SHAPES
from bench.peers import job_source


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_dagster_job_compiles_and_has_the_pipelines_edges(shape: str) -> None:
    source = job_source(shape, 200)
    tree = ast.parse(source)
    compile(tree, f"dagster_{shape}.py", "exec")
    (deps,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
               and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["DEPS"]]
    edges = ast.literal_eval(deps)
    assert edges == SHAPES[shape](200)
    assert list(edges) == [f"t{i}" for i in range(200)]  # every op after the ones it depends on
    assert all(int(d[1:]) < int(task[1:]) for task, ds in edges.items() for d in ds)
    assert f"def bench_{shape}()" in source and "execute_in_process(" in source

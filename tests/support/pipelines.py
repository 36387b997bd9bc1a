"""Building pipelines in tests without YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sluice.spec import Pipeline, load_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "pipelines"


def examples() -> dict[str, Pipeline]:
    loaded = load_paths([EXAMPLES])
    assert not loaded.errors, loaded.errors
    return loaded.pipelines


def pipeline_from_deps(deps: dict[str, list[str]], **extra: Any) -> Pipeline:
    """A pipeline of Lambda tasks with the given dependencies."""
    tasks = {name: {"depends_on": ds, "lambda": {"function": f"fn-{name}"}} for name, ds in deps.items()}
    return Pipeline.model_validate({"name": "generated", "tasks": tasks, **extra})


def fast_retries(pipeline: Pipeline) -> Pipeline:
    """The same pipeline with 1-second retry waits: moto's interpreter waits in real time."""
    quick = {"interval": 1, "backoff": 1.0, "max_delay": None}
    defaults = pipeline.defaults.model_copy(update={"retry": pipeline.defaults.retry.model_copy(update=quick)})
    tasks = {name: task.model_copy(update={"retry": task.retry.model_copy(update=quick) if task.retry else None})
             for name, task in pipeline.tasks.items()}
    return pipeline.model_copy(update={"defaults": defaults, "tasks": tasks})

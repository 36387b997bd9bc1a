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

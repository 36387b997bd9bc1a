"""Pipeline -> Amazon States Language. Pure: no boto3, no CDK, no I/O; deterministic output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..graph import Dag
from ..spec import Pipeline
from .asl import Emitter
from .budget import Budget, measure
from .structure import Structure, build


class BudgetError(ValueError):
    """The compiled pipeline is over a Step Functions quota; the message says what to change."""


@dataclass
class Compiled:
    pipeline: Pipeline
    definition: dict[str, Any]
    structure: Structure
    budget: Budget
    warnings: list[str] = field(default_factory=list)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Deterministic JSON: the same pipeline gives byte-identical text."""
        if indent is None:
            return json.dumps(self.definition, separators=(",", ":"), ensure_ascii=False)
        return json.dumps(self.definition, indent=indent, ensure_ascii=False) + "\n"


def compile_pipeline(pipeline: Pipeline, *, check_budget: bool = True) -> Compiled:
    """Compile a validated pipeline. Raises BudgetError when a quota would be exceeded."""
    structure = build(Dag.of(pipeline))
    definition = Emitter(pipeline, structure).definition()
    map_items = {name: t.foreach.max_items for name, t in pipeline.tasks.items() if t.foreach}
    param_bytes = len(json.dumps(pipeline.param_defaults(), default=str).encode())
    budget = measure(definition, map_items, param_bytes)
    findings = budget.findings(pipeline.name)
    errors = [message for severity, message in findings if severity == "error"]
    if errors and check_budget:
        raise BudgetError("; ".join(errors))
    return Compiled(pipeline, definition, structure, budget, [m for s, m in findings if s == "warning"] + (
        errors if not check_budget else []))


__all__ = ["BudgetError", "Compiled", "compile_pipeline"]

"""The CDK app entry point (cdk.json: `python -m infra.app`).

Today it validates and compiles every pipeline, so `cdk synth` fails early with the same report as
`sluice validate`. The stacks (RunStore, Runtime, PipelineStateMachine, Schedules, Triggers, Monitoring) are
built by the infra issue on top of `load_definitions()`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sluice.compile import BudgetError, compile_pipeline
from sluice.spec import SpecError, load_project

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


def load_definitions(directory: Path = PIPELINES) -> dict[str, dict[str, Any]]:
    """Every pipeline's compiled ASL, by pipeline name. Raises SpecError / BudgetError on bad pipelines."""
    return {name: compile_pipeline(p).definition for name, p in sorted(load_project([directory]).items())}


def main() -> int:
    try:
        definitions = load_definitions()
    except SpecError as exc:
        print(f"pipelines/ has errors; nothing synthesized:\n{exc}", file=sys.stderr)
        return 2
    except BudgetError as exc:
        print(f"a pipeline is over a Step Functions quota: {exc}", file=sys.stderr)
        return 2
    try:
        import aws_cdk  # noqa: F401
    except ImportError:
        print(f"validated and compiled {len(definitions)} pipeline(s); the CDK stacks are not built yet "
              "(they need aws-cdk-lib, added with the infra work)", file=sys.stderr)
        return 1
    print("CDK stacks are not implemented yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

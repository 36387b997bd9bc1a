"""The CDK app (cdk.json: `python -m infra.app`): the platform stack and the pipeline stacks for `pipelines/`.

`cdk synth` validates and compiles every pipeline first and fails with the same report as `sluice validate`;
cdk-nag's AwsSolutions checks run on every synth, and an unacknowledged error fails it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from sluice.compile import BudgetError, compile_pipeline
from sluice.spec import Pipeline, SpecError, load_project

from . import lambda_asset, sharding
from .checks import check
from .config import DEFAULT_ENV, ConfigError, EnvConfig, load_env
from .constructs.runtime import Assets
from .stacks.pipelines import PipelineStack
from .stacks.platform import PlatformStack

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "pipelines"


@dataclass
class Built:
    app: cdk.App
    platform: PlatformStack
    pipeline_stacks: list[PipelineStack]
    placement: dict[str, int]


def load_definitions(directory: Path = PIPELINES) -> dict[str, dict[str, Any]]:
    """Every pipeline's compiled ASL, by pipeline name. Raises SpecError / BudgetError on bad pipelines."""
    return {name: compile_pipeline(p).definition for name, p in sorted(load_project([directory]).items())}


def build_app(pipelines: dict[str, Pipeline], config: EnvConfig, *, assets: Assets,
              placement: dict[str, int] | None = None, definitions: dict[str, dict[str, Any]] | None = None,
              outdir: str | None = None, nag: bool = True, app: cdk.App | None = None) -> Built:
    """The whole deployment for these pipelines in one environment (definitions: compiled, if already)."""
    # The same feature flags as `cdk synth` reads from cdk.json, so tests and benchmarks build what deploys.
    app = app or cdk.App(outdir=outdir, context=json.loads((ROOT / "cdk.json").read_text()).get("context", {}))
    env = cdk.Environment(account=config.account or os.environ.get("CDK_DEFAULT_ACCOUNT"),
                          region=config.region or os.environ.get("CDK_DEFAULT_REGION"))
    if definitions is None:
        definitions = {name: compile_pipeline(p).definition for name, p in pipelines.items()}
    placement = sharding.assign(pipelines, definitions, placement)
    platform = PlatformStack(app, f"{config.prefix}platform", config=config, assets=assets, env=env)
    stacks = []
    owners = _destination_owners(pipelines, placement)
    for shard in sorted(set(placement.values())):
        members = [pipelines[name] for name, s in placement.items() if s == shard]
        stack = PipelineStack(app, f"{config.prefix}pipelines-{shard}", config=config, shard=f"pipelines-{shard}",
                              pipelines=members, definitions=definitions, env=env,
                              destinations_for=[f for f, s in owners.items() if s == shard])
        stack.add_stack_dependency(platform, "functions, roles and the alarm topic are named, not exported")
        stacks.append(stack)
    for key, value in config.tags.items():
        cdk.Tags.of(app).add(key, value)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    return Built(app, platform, stacks, placement)


def _destination_owners(pipelines: dict[str, Pipeline], placement: dict[str, int]) -> dict[str, int]:
    """Literal Lambda function names -> the one stack that sets their async-invoke destinations."""
    owners: dict[str, int] = {}
    for name in sorted(pipelines, key=lambda n: (placement[n], n)):
        for task in pipelines[name].tasks.values():
            function = getattr(task.job, "function", None)
            if task.kind == "lambda" and function and "{{" not in function and not function.startswith("arn:"):
                owners.setdefault(function, placement[name])
    return owners


def default_assets(architecture: str) -> Assets:
    return Assets(code=lambda_asset.build_code().path,
                  layer=lambda_asset.build_layer(architecture=architecture).path)


def main() -> int:
    app = cdk.App()
    env_name = app.node.try_get_context("env") or DEFAULT_ENV
    try:
        config = load_env(env_name)
        pipelines = load_project([PIPELINES])
        definitions = {name: compile_pipeline(p).definition for name, p in pipelines.items()}
        placement = sharding.assign(pipelines, definitions, sharding.read())
        findings = check(pipelines, config)
    except ConfigError as exc:
        print(f"cannot synthesize: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"pipelines/ has errors; nothing synthesized:\n{exc}", file=sys.stderr)
        return 2
    except (BudgetError, sharding.ShardError) as exc:
        print(f"cannot synthesize: {exc}", file=sys.stderr)
        return 2
    for warning in findings.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if findings.errors:
        print("cannot deploy these pipelines as configured:\n" + "\n".join(f"  - {e}" for e in findings.errors),
              file=sys.stderr)
        return 2
    try:
        assets = default_assets(config.architecture)
    except RuntimeError as exc:
        print(f"cannot synthesize: {exc}", file=sys.stderr)
        return 2
    built = build_app(pipelines, config, assets=assets, placement=placement, definitions=definitions, app=app)
    if sharding.write(built.placement):
        print(f"{sharding.SHARDS_FILE.relative_to(ROOT)} updated: commit it (it keeps pipelines in their stacks)",
              file=sys.stderr)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

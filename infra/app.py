"""The CDK app (cdk.json: `python -m infra.app`): the platform stack and the pipeline stacks for `pipelines/`, or
for the directory given as `-c pipelines=DIR` or in SLUICE_PIPELINES (the context wins).

`cdk synth` validates and compiles every pipeline first and fails with the same report as `sluice validate`;
cdk-nag's AwsSolutions checks run on every synth, and an unacknowledged error fails it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from sluice.catalog import CatalogError
from sluice.compile import BudgetError, compile_pipeline
from sluice.spec import Pipeline, SpecError, load_project

from . import lambda_asset, sharding
from .checks import check
from .config import DEFAULT_ENV, ConfigError, EnvConfig, load_env
from .constructs.runtime import Assets
from .stacks.overview import OverviewStack
from .stacks.pipelines import PipelineStack
from .stacks.platform import PlatformStack

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "pipelines"
PIPELINES_CONTEXT = "pipelines"  # cdk synth -c pipelines=DIR
PIPELINES_ENV = "SLUICE_PIPELINES"


@dataclass
class Built:
    app: cdk.App
    platform: PlatformStack
    pipeline_stacks: list[PipelineStack]
    overview: OverviewStack
    placement: sharding.Placement


def load_definitions(directory: Path = PIPELINES) -> dict[str, dict[str, Any]]:
    """Every pipeline's compiled ASL, by pipeline name. Raises SpecError / BudgetError on bad pipelines."""
    return {name: compile_pipeline(p).definition for name, p in sorted(load_project([directory]).items())}


def pipelines_dir(context: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The directory to synthesize: the CDK context's, else SLUICE_PIPELINES, else pipelines/ (relative paths from
    the working directory, where `cdk` runs the app). ConfigError when it is not a directory."""
    given = context or environ.get(PIPELINES_ENV)
    if not given:
        return PIPELINES
    where = f"-c {PIPELINES_CONTEXT}={given}" if context else f"{PIPELINES_ENV}={given}"
    directory = Path(given).expanduser()
    if not directory.is_dir():
        raise ConfigError(f"{where}: no such directory; give a directory of pipeline files (*.yaml, *.yml)")
    return directory.resolve()


def shards_file(directory: Path) -> Path:
    """Where a directory's placement is kept: infra/shards.json for pipelines/, the directory's own otherwise (so
    synthesizing another directory never rewrites the placement of the one that deploys)."""
    return sharding.SHARDS_FILE if directory.resolve() == PIPELINES.resolve() else directory / sharding.SHARDS_FILE.name


def build_app(pipelines: dict[str, Pipeline], config: EnvConfig, *, assets: Assets,
              placement: sharding.Placement | None = None, definitions: dict[str, dict[str, Any]] | None = None,
              outdir: str | None = None, nag: bool = True, app: cdk.App | None = None,
              now: dt.datetime | None = None) -> Built:
    """The whole deployment for these pipelines in one environment (definitions: compiled, if already; now: the
    time schedules' start and end dates are compared with, the current time unless given)."""
    # The same feature flags as `cdk synth` reads from cdk.json, so tests and benchmarks build what deploys.
    app = app or cdk.App(outdir=outdir, context=json.loads((ROOT / "cdk.json").read_text()).get("context", {}))
    env = cdk.Environment(account=config.account or os.environ.get("CDK_DEFAULT_ACCOUNT"),
                          region=config.region or os.environ.get("CDK_DEFAULT_REGION"))
    if definitions is None:
        definitions = {name: compile_pipeline(p).definition for name, p in pipelines.items()}
    placement = sharding.assign(pipelines, definitions, placement)
    platform = PlatformStack(app, f"{config.prefix}platform", config=config, assets=assets, env=env)
    stacks = []
    for shard in range(1, placement.stacks + 1):
        stack = PipelineStack(app, f"{config.prefix}pipelines-{shard}", config=config, shard=f"pipelines-{shard}",
                              pipelines=[pipelines[name] for name in placement.members(shard)],
                              definitions=definitions, env=env, now=now or dt.datetime.now(dt.UTC),
                              destinations_for=[f for f, s in placement.destinations.items()
                                                if s == shard and config.lambda_destinations])
        stack.add_stack_dependency(platform, "functions, roles and the alarm topic are named, not exported")
        stacks.append(stack)
    alarm_names = [name for stack in stacks for monitoring in stack.monitoring.values()
                   for name in monitoring.alarm_names]
    overview = OverviewStack(app, f"{config.prefix}overview", config=config, alarm_names=alarm_names, env=env)
    for stack in stacks:
        overview.add_stack_dependency(stack, "its alarm widget names the pipelines' alarms")
    for key, value in config.tags.items():
        cdk.Tags.of(app).add(key, value)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    return Built(app, platform, stacks, overview, placement)


def default_assets(architecture: str) -> Assets:
    return Assets(code=lambda_asset.build_code().path,
                  layer=lambda_asset.build_layer(architecture=architecture).path)


def main() -> int:
    app = cdk.App()
    env_name = app.node.try_get_context("env") or DEFAULT_ENV
    directory = PIPELINES
    try:
        config = load_env(env_name)
        directory = pipelines_dir(app.node.try_get_context(PIPELINES_CONTEXT))
        pipelines = load_project([directory])
        definitions = {name: compile_pipeline(p).definition for name, p in pipelines.items()}
        placement = sharding.assign(pipelines, definitions, sharding.read(shards_file(directory)))
        findings = check(pipelines, config)
    except ConfigError as exc:
        print(f"cannot synthesize: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"{_shown(directory)}/ has errors; nothing synthesized:\n{exc}", file=sys.stderr)
        return 2
    except (BudgetError, sharding.ShardError, CatalogError) as exc:  # CatalogError: from sharding's estimate
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
    app.synth()
    shards = shards_file(directory)
    if sharding.write(built.placement, shards):  # only after a synth that passed cdk-nag
        print(f"{_shown(shards)} updated: commit it (it keeps pipelines in their stacks)", file=sys.stderr)
    return 0


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())

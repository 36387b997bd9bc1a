"""Synthesized apps, built once per session: the examples in dev and prod (cdk-nag on, as in every synth)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from infra.app import Built, build_app, default_assets
from infra.config import load_env
from tests.support.pipelines import examples

pytestmark = pytest.mark.synth
# Schedules compare their start and end dates with the time of synth: a fixed one keeps the templates fixed.
NOW = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)


@dataclass
class Synth:
    built: Built
    outdir: Path

    def template(self, stack: str) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack}.template.json").read_text())

    def assertions(self, stack: str) -> assertions.Template:
        return assertions.Template.from_json(self.template(stack))

    def stacks(self) -> list[str]:
        return sorted(p.name.removesuffix(".template.json") for p in self.outdir.glob("*.template.json"))

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template(stack)["Resources"].items() if r["Type"] == kind}


def _synth(env: str, outdir: Path) -> Synth:
    config = load_env(env)
    built = build_app(examples(), config, assets=default_assets(config.architecture), outdir=str(outdir), now=NOW)
    built.app.synth()  # cdk-nag runs here: an unacknowledged finding raises
    return Synth(built, outdir)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synth("prod", tmp_path_factory.mktemp("cdk-prod"))

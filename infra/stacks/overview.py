"""The overview dashboard of every pipeline: its own stack, so neither the platform nor a pipeline stack changes
for it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from ..config import EnvConfig
from ..constructs.monitoring import Overview


class OverviewStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, alarm_names: list[str], **kwargs: Any) -> None:
        super().__init__(scope, id, description=f"Sluice overview dashboard ({config.name})", **kwargs)
        self.overview = Overview(self, "Overview", alarm_names=alarm_names, config=config)

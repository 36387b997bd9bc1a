"""The pipelines the run API knows: their specs from SSM parameters (one per pipeline, written by each pipeline
stack; sluice/catalog.py), or given directly (local mode, tests)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sluice.catalog import CatalogError, decode
from sluice.spec import Pipeline

from ..observability import logger
from .problems import NotFound

REFRESH_SECONDS = 60.0  # a deploy shows up within a minute; a warm function does not re-read SSM per request


class Catalog:
    def __init__(self, client: Any = None, path: str = "", *, pipelines: Mapping[str, Pipeline] | None = None,
                 clock: Any = time.monotonic) -> None:
        self.client, self.path, self.clock = client, path, clock
        self._pipelines: dict[str, Pipeline] = dict(pipelines or {})
        self._read_at: float | None = None if pipelines is None else float("inf")

    def all(self) -> dict[str, Pipeline]:
        if self._read_at is None or self.clock() - self._read_at > REFRESH_SECONDS:
            self._pipelines, self._read_at = self._read(), self.clock()
        return self._pipelines

    def get(self, name: str) -> Pipeline:
        found = self.all().get(name)
        if found is None:
            known = ", ".join(sorted(self._pipelines)) or "none"
            raise NotFound(f"no pipeline named '{name}' (known: {known})")
        return found

    def _read(self) -> dict[str, Pipeline]:
        found: dict[str, Pipeline] = {}
        for page in self.client.get_paginator("get_parameters_by_path").paginate(Path=self.path, Recursive=False):
            for parameter in page["Parameters"]:
                try:
                    pipeline = decode(parameter["Value"], parameter["Name"])
                except CatalogError as exc:  # one bad entry must not hide every other pipeline
                    logger.error("unreadable catalog entry", parameter=parameter["Name"], reason=str(exc))
                    continue
                found[pipeline.name] = pipeline
        return found

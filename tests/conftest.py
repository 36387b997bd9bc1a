"""Test distribution over processes (pytest-xdist, `make test` runs `-n auto --dist loadgroup`).

Each test module runs whole in one worker (its module fixtures are built once), and all of tests/infra in one worker,
because its session fixtures synthesize the example apps (cdk-nag on): seconds each, once, not once per worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

INFRA = Path(__file__).parent / "infra"
# Parsed Step Functions programs (sluice/local/moto_speed.py) are kept in the clone, shared by the workers and
# kept between runs, not in the user's cache.
os.environ.setdefault("SLUICE_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "build" / "cache"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        group = "infra" if INFRA in path.parents else str(path.relative_to(Path(__file__).parent))
        item.add_marker(pytest.mark.xdist_group(group))

"""Test distribution over processes (pytest-xdist, `make test` runs `-n auto --dist loadgroup`).

Each test module runs whole in one worker (its module fixtures are built once), and all of tests/infra in one worker,
because its session fixtures synthesize the example apps (cdk-nag on): seconds each, once, not once per worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

INFRA = Path(__file__).parent / "infra"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        group = "infra" if INFRA in path.parents else str(path.relative_to(Path(__file__).parent))
        item.add_marker(pytest.mark.xdist_group(group))

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    """Fake credentials and a fixed region: nothing here may reach real AWS."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    # moto's interpreter logs every failed state as an exception; failures are what some tests are about.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)


@pytest.fixture
def cloud():
    """The run API's handler on moto with the example pipelines (tests/support/api.py), for the run API tests."""
    from tests.support.api import api_cloud  # moto and the API's modules only for the tests that use it

    with api_cloud() as found:
        yield found

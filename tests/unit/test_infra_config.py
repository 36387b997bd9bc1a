"""Deployment environments (infra/environments.yaml, `cdk deploy -c env=NAME`)."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, load_env


def test_committed_environments_load():
    dev, prod = load_env("dev"), load_env("prod")
    assert dev.prefix == "sluice-dev-" and dev.removal_policy == "destroy" and dev.account is None
    assert prod.account == "123456789012" and prod.region == "eu-central-1" and prod.removal_policy == "retain"
    assert prod.alarm_email and prod.log_retention_days == 365


def test_unknown_environment_names_the_file_and_the_choices():
    with pytest.raises(ConfigError, match=r"environments.yaml: no environment 'qa' \(-c env=qa\); defined: dev, prod"):
        load_env("qa")


@pytest.mark.parametrize(("body", "message"), [
    ("dev: {log_retention_days: 10}", "environment 'dev': log_retention_days: Value error, 10 is not a retention"),
    ("dev: {removal_policy: keep}", "environment 'dev': removal_policy: Input should be 'destroy' or 'retain'"),
    ("dev: {acount: '1'}", "environment 'dev': acount: Extra inputs are not permitted"),
    ("dev: [1]", "'dev' must be a mapping"),
    ("dev: {account: '12'}", "environment 'dev': account: String should match pattern"),
])
def test_bad_settings_say_where_and_why(tmp_path, body, message):
    path = tmp_path / "environments.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as raised:
        load_env("dev", path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_environment_names_fit_physical_names(tmp_path):
    path = tmp_path / "environments.yaml"
    path.write_text("production-eu: {}")
    with pytest.raises(ConfigError, match=r"environment 'production-eu': name: String should match pattern"):
        load_env("production-eu", path)


def test_heartbeats_must_outlast_the_sweeper_and_unreachable_destinations_are_named():
    from infra.checks import check
    from sluice.spec import Pipeline

    pipeline = Pipeline.model_validate({"name": "pp", "defaults": {"heartbeat": "10m"}, "tasks": {
        "a": {"glue": {"job": "j"}},
        "b": {"heartbeat": "1h", "lambda": {"function": "fn-{{ params.x }}"}}}})
    findings = check({"pp": pipeline}, load_env("dev"))
    # GIVEN a 10-minute heartbeat and a sweep after 900 s every 5 min THEN task a is refused, task b is fine
    assert findings.errors == [
        "pipeline 'pp', task 'a': heartbeat 600s must be longer than 1200s in environment 'dev' (sweep_after_seconds "
        "900 + one sweep every 5 min), since the sweeper sends heartbeats; raise it or lower those settings in "
        "infra/environments.yaml"]
    assert len(findings.warnings) == 1 and "'fn-{{ params.x }}'" in findings.warnings[0]


def test_without_managed_destinations_every_lambda_task_is_named():
    from infra.checks import check
    from sluice.spec import Pipeline

    pipeline = Pipeline.model_validate({"name": "pp", "tasks": {"a": {"lambda": {"function": "sales-notify"}}}})
    config = load_env("dev").model_copy(update={"lambda_destinations": False})
    (warning,) = check({"pp": pipeline}, config).warnings
    assert warning.startswith("pipeline 'pp', task 'a': lambda_destinations is off in environment 'dev'; give "
                              "'sales-notify' destinations")

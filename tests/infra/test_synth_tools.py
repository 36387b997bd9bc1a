"""The tools every synth must satisfy: cdk-nag (AwsSolutions), cfn-lint, the CDK CLI, and 50 pipelines at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_sqs as sqs

from bench.fleet import fleet
from infra import app as infra_app
from infra import sharding
from infra.app import build_app, default_assets
from infra.config import load_env
from sluice import catalog
from tests.support.pipelines import ROOT, examples

pytestmark = pytest.mark.synth
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _report(synth) -> dict:
    (plugin,) = json.loads((synth.outdir / "validation-report.json").read_text())["pluginReports"]
    return plugin


def test_cdk_nag_passes_and_every_acknowledgement_says_why(dev, prod):
    for synth in (dev, prod):
        report = _report(synth)
        assert report["pluginName"] == "AwsSolutions" and report["conclusion"] == "success"
        assert report["violations"] == []
        rules = {s["ruleName"].split("[")[0] for s in report["suppressedViolations"]}
        # only wildcard resources AWS offers nothing narrower for, dead-letter queues that need none, and the run
        # API's (infra/constructs/run_api.py): request validation is the Lambda's (APIG2), no WAF in front of an
        # IAM-only API (APIG3), IAM rather than Cognito auth (COG4), AWS's managed policy for API Gateway's
        # account-level CloudWatch role (IAM4)
        assert rules == {"AwsSolutions-IAM5", "AwsSolutions-SQS3", "AwsSolutions-APIG2", "AwsSolutions-APIG3",
                         "AwsSolutions-COG4", "AwsSolutions-IAM4"}
        for suppressed in report["suppressedViolations"]:
            assert len(suppressed["reason"]) >= 40, suppressed
        iam5 = [s["acknowledgedId"] for s in report["suppressedViolations"]
                if s["ruleName"].startswith("AwsSolutions-IAM5")]
        assert all("[Resource::" in i for i in iam5)  # each names the exact resource it allows
        iam4 = {s["acknowledgedId"] for s in report["suppressedViolations"]
                if s["ruleName"].startswith("AwsSolutions-IAM4")}
        assert iam4 == {"AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs]"}  # that policy only, nowhere else


def test_cdk_nag_fails_the_synth_on_a_new_finding(tmp_path):
    # GIVEN the examples plus a queue without TLS enforcement WHEN synthesized THEN cdk-nag stops the synth
    config = load_env("dev")
    built = build_app(examples(), config, assets=default_assets(config.architecture), outdir=str(tmp_path))
    sqs.Queue(built.platform, "Careless")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        built.app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"][0]
    assert {v["ruleName"] for v in report["violations"]} == {"AwsSolutions-SQS3", "AwsSolutions-SQS4"}


def test_cfn_lint_finds_no_error_in_any_template(dev, prod):
    templates = [str(p) for synth in (dev, prod) for p in sorted(synth.outdir.glob("*.template.json"))]
    lint = subprocess.run([str(CFN_LINT), "--format", "json", *templates], capture_output=True, text=True)
    findings = json.loads(lint.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=1)[:3000]


def test_fifty_pipelines_synthesize_in_stacks_under_cloudformation_limits(tmp_path):
    # GIVEN 50 realistic pipelines WHEN synthesized (cdk-nag on) THEN every stack stays well under 500 resources
    # and 1 MB, and each pipeline's job role stays under IAM's inline policy limit
    config = load_env("dev")
    built = build_app(fleet(50), config, assets=default_assets(config.architecture), outdir=str(tmp_path))
    built.app.synth()
    templates = sorted(tmp_path.glob("*pipelines-*.template.json"))
    assert len(templates) == built.placement.stacks > 1
    for path in templates:
        template = json.loads(path.read_text())
        assert len(template["Resources"]) <= sharding.MAX_RESOURCES, path.name
        assert path.stat().st_size <= 800_000, path.name
        for key, resource in template["Resources"].items():
            if resource["Type"] == "AWS::SQS::QueuePolicy":  # SQS: 20 statements; one allows every Sluice rule
                assert len(resource["Properties"]["PolicyDocument"]["Statement"]) == 2, key
            if resource["Type"] == "AWS::IAM::Policy" and "JobsRole" in key:
                document = json.dumps(resource["Properties"]["PolicyDocument"], separators=(",", ":"))
                assert len(document) < sharding.MAX_ROLE_POLICY_CHARS, key


def test_main_refuses_bad_pipelines_before_synthesizing(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.yaml").write_text("name: broken\ntasks: {a: {glue: {job: x}, depends_on: [nope]}}\n")
    # GIVEN SLUICE_PIPELINES naming another directory WHEN synthesized THEN that directory is read
    monkeypatch.setenv(infra_app.PIPELINES_ENV, str(tmp_path))
    assert infra_app.main() == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}/ has errors; nothing synthesized" in err and "broken.yaml" in err and "nope" in err


def test_main_refuses_a_pipeline_the_catalog_cannot_hold(monkeypatch, capsys):
    # GIVEN catalog parameters too small for the examples' specs WHEN synthesized THEN nothing is, and the
    # pipeline is named (each pipeline stack writes its pipelines' specs for the run API)
    monkeypatch.setattr(catalog, "STANDARD_LIMIT", 100)
    monkeypatch.setattr(catalog, "ADVANCED_LIMIT", 100)
    assert infra_app.main() == 2
    err = capsys.readouterr().err
    assert "cannot synthesize: pipeline '" in err and "split it into a parent and child pipelines" in err


@pytest.mark.node
def test_cdk_cli_lists_and_synthesizes_offline_without_credentials(tmp_path):
    # GIVEN no AWS credentials at all WHEN `npx cdk ls` and `npx cdk synth` run THEN both succeed offline
    npx = shutil.which("npx")
    assert npx, "npx is needed (Node 20 + npm)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_EC2_METADATA_DISABLED": "true", "CDK_DISABLE_CLI_TELEMETRY": "true"}
    listed = subprocess.run([npx, "cdk", "ls", "--output", str(tmp_path / "ls")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["sluice-dev-platform", "sluice-dev-pipelines-1", "sluice-dev-overview"]
    synth = subprocess.run([npx, "cdk", "synth", "-q", "-c", "env=prod", "--output", str(tmp_path / "out")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert synth.returncode == 0, synth.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.template.json")) == [
        "sluice-prod-overview.template.json", "sluice-prod-pipelines-1.template.json",
        "sluice-prod-platform.template.json"]
    bad = subprocess.run([npx, "cdk", "ls", "-c", "env=qa", "--output", str(tmp_path / "bad")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "no environment 'qa'" in bad.stderr


def test_cdk_json_runs_the_app_from_the_projects_venv():
    settings = json.loads((ROOT / "cdk.json").read_text())
    assert settings["app"] == ".venv/bin/python -m infra.app"
    assert settings["notices"] is False and settings["context"]["cli-telemetry"] is False

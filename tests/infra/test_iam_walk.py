"""Every IAM grant of a wildcard resource, in every synthesized stack, is acknowledged with a reason.

The walk reads the synthesized output, not the CDK code: every Allow statement of every AWS::IAM::Policy,
AWS::IAM::ManagedPolicy and role inline policy whose Resource is "*" or an ARN pattern with a "*" must match a
cdk-nag AwsSolutions-IAM5 acknowledgement (infra/nag.py `acknowledge`, read back from validation-report.json) on
that very resource of that very construct (`<stack>.metadata.json` maps logical ids to construct paths), naming
the resource (not a blanket acknowledgement of the rule) and saying why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.synth
POLICY_KINDS = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
IAM5 = "AwsSolutions::AwsSolutions-IAM5"  # the acknowledgement id of the rule; of one resource: IAM5[Resource::...]


@dataclass(frozen=True)
class Grant:
    stack: str
    logical_id: str
    path: str  # the construct path cdk-nag reports the finding on
    resource: str  # as cdk-nag prints it: pseudo parameters as <AWS::...>, references as <LogicalId[.Attr]>
    statement: str


def render(value: Any) -> str:
    """A Resource value as cdk-nag prints it in an IAM5 finding."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg if isinstance(arg, str) else '.'.join(arg)}>"
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(render(p) for p in parts)
    raise AssertionError(f"a Resource this walk cannot render (teach it, as cdk-nag prints it): {value!r}")


def _documents(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::IAM::Role":
        yield from (p["PolicyDocument"] for p in props.get("Policies", []))
    else:
        yield props["PolicyDocument"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _paths(outdir: Path, stack: str) -> dict[str, str]:
    """logical id -> construct path, from the cloud assembly's metadata of the stack."""
    metadata = json.loads((outdir / f"{stack}.metadata.json").read_text())
    return {entry["data"]: path.removeprefix("/") for path, entries in metadata.items() for entry in entries
            if entry["type"] == "aws:cdk:logicalId"}


def stacks(outdir: Path) -> list[str]:
    return sorted(p.name.removesuffix(".template.json") for p in outdir.glob("*.template.json"))


def wildcard_grants(outdir: Path) -> list[Grant]:
    """Every Allow of a resource with a "*" in an IAM policy of any stack of the assembly."""
    grants = []
    for stack in stacks(outdir):
        paths = _paths(outdir, stack)
        for logical_id, resource in json.loads((outdir / f"{stack}.template.json").read_text())["Resources"].items():
            if resource["Type"] not in POLICY_KINDS:
                continue
            for document in _documents(resource):
                for statement in _as_list(document["Statement"]):
                    if statement["Effect"] != "Allow":
                        continue  # a Deny of "*" narrows, it grants nothing
                    assert "NotResource" not in statement and "NotAction" not in statement, (stack, statement)
                    for r in _as_list(statement["Resource"]):
                        if "*" in (rendered := render(r)):
                            grants.append(Grant(stack, logical_id, paths[logical_id], rendered,
                                                statement.get("Sid", json.dumps(statement["Action"]))))
    return grants


def iam5_acknowledgements(outdir: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(construct path, resource) -> the acknowledged IAM5 findings on it, from cdk-nag's validation report."""
    (plugin,) = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for suppressed in plugin["suppressedViolations"]:
        rule, _, resource = suppressed["ruleName"].partition("[Resource::")
        if rule != "AwsSolutions-IAM5":
            continue
        for construct in suppressed["violatingConstructs"]:
            found.setdefault((construct["constructPath"], resource.removesuffix("]")), []).append(suppressed)
    return found


def unjustified(outdir: Path) -> list[str]:
    """The wildcard grants no IAM5 acknowledgement justifies: none on that resource of that construct, a blanket
    one (not naming the resource), or one without a reason."""
    acknowledged = iam5_acknowledgements(outdir)
    problems = []
    for grant in wildcard_grants(outdir):
        where = f"{grant.stack} {grant.logical_id} ({grant.statement}) grants {grant.resource}"
        acks = acknowledged.get((grant.path, grant.resource), [])
        named = [a for a in acks if a["acknowledgedId"] == f"{IAM5}[Resource::{grant.resource}]"]
        if not acks:
            problems.append(f"{where}: no cdk-nag acknowledgement")
        elif not named:
            problems.append(f"{where}: acknowledged only by {sorted({a['acknowledgedId'] for a in acks})}")
        elif not all(a.get("reason", "").strip() for a in named):
            problems.append(f"{where}: acknowledged without a reason")
    return problems


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_wildcard_resource_is_acknowledged_with_a_reason(env, request):
    synth = request.getfixturevalue(env)
    grants = wildcard_grants(synth.outdir)
    # the walk sees the wildcards there are (X-Ray's "*", every stack's job roles), in more than one stack
    assert any(g.resource == "*" for g in grants) and len({g.stack for g in grants}) >= 2
    assert unjustified(synth.outdir) == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_walk_and_cdk_nag_see_the_same_wildcards(env, request):
    # Both ways: every IAM5 acknowledgement is of a grant the walk found, so the walk renders resources as cdk-nag
    # does and misses no kind of policy cdk-nag looks at (nor does the report hold acknowledgements of nothing).
    synth = request.getfixturevalue(env)
    walked = {(g.path, g.resource) for g in wildcard_grants(synth.outdir)}
    assert set(iam5_acknowledgements(synth.outdir)) == walked


def _assembly(tmp_path: Path, statements: list[dict[str, Any]], suppressed: list[dict[str, Any]]) -> Path:
    template = {"Resources": {
        "RolePolicy1A2B3C": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": statements}}},
        "Role9F8E7D": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, "Policies": [
            {"PolicyName": "inline", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}]}}]}}}}
    (tmp_path / "s.template.json").write_text(json.dumps(template))
    (tmp_path / "s.metadata.json").write_text(json.dumps({
        "/s/Role/DefaultPolicy/Resource": [{"type": "aws:cdk:logicalId", "data": "RolePolicy1A2B3C"}],
        "/s/Role/Resource": [{"type": "aws:cdk:logicalId", "data": "Role9F8E7D"}]}))
    (tmp_path / "validation-report.json").write_text(json.dumps({"pluginReports": [{
        "pluginName": "AwsSolutions", "suppressedViolations": suppressed}]}))
    return tmp_path


def _ack(path: str, resource: str, reason: str, *, blanket: bool = False) -> dict[str, Any]:
    rule = f"AwsSolutions-IAM5[Resource::{resource}]"
    return {"ruleName": rule, "acknowledgedId": IAM5 if blanket else f"AwsSolutions::{rule}",
            "reason": reason, "violatingConstructs": [{"constructPath": path}]}


def test_the_walk_flags_each_way_a_wildcard_goes_unjustified(tmp_path):
    jobs = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ecs:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, ":task/", {"Ref": "Cluster"}, "/*"]]}
    bucket = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]}
    statements = [
        {"Sid": "Jobs", "Effect": "Allow", "Action": "ecs:StopTask", "Resource": jobs},
        {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": [bucket]},
        {"Sid": "Tables", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:*:1:table/t"},
        {"Sid": "Narrow", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:1:q"},
        {"Sid": "Fence", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    ]
    policy, role = "s/Role/DefaultPolicy/Resource", "s/Role/Resource"
    outdir = _assembly(tmp_path, statements, [
        _ack(policy, "arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<Cluster>/*", "task ids are ECS's"),
        _ack(policy, "<Bucket.Arn>/*", "", ),
        _ack(policy, "arn:aws:dynamodb:*:1:table/t", "any region", blanket=True),
    ])
    assert sorted(unjustified(outdir)) == [
        "s Role9F8E7D (\"xray:PutTraceSegments\") grants *: no cdk-nag acknowledgement",
        "s RolePolicy1A2B3C (Objects) grants <Bucket.Arn>/*: acknowledged without a reason",
        "s RolePolicy1A2B3C (Tables) grants arn:aws:dynamodb:*:1:table/t: acknowledged only by "
        "['AwsSolutions::AwsSolutions-IAM5']",
    ]
    # acknowledging the role's inline grant on the role itself justifies it
    outdir = _assembly(tmp_path, statements[:1], [
        _ack(policy, "arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<Cluster>/*", "task ids are ECS's"),
        _ack(role, "*", "X-Ray's trace calls support no resource type")])
    assert unjustified(outdir) == []

"""Only AWS can end a Lambda task: its result goes from Lambda straight to `complete` (the function's destination),
never through an event bus, where anyone allowed events:PutEvents can send an event with source "lambda"."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.synth
PLATFORM = "sluice-dev-platform"


def _complete_arn_tail(value: Any) -> str:
    """The last literal part of a built ARN (CloudFormation's Fn::Join), or the string itself."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return str(value["Fn::Join"][1][-1])
    return str(value)


def test_no_rule_on_any_bus_routes_a_lambda_result_to_complete(dev, prod):
    # GIVEN every rule of every stack
    for synth in (dev, prod):
        for stack in synth.stacks():
            for rule in synth.resources(stack, "AWS::Events::Rule").values():
                props = rule["Properties"]
                sources = (props.get("EventPattern") or {}).get("source", [])
                # THEN none matches the source Lambda destinations use on a bus ...
                assert "lambda" not in sources, (stack, props.get("Name"))
                # ... and whatever reaches `complete` from a bus has a source only AWS can send (aws.*)
                if any(_complete_arn_tail(t["Arn"]).endswith(":function:sluice-dev-complete")
                       or _complete_arn_tail(t["Arn"]).endswith(":function:sluice-prod-complete")
                       for t in props.get("Targets", [])):
                    assert sources and all(s.startswith("aws.") for s in sources), (stack, props.get("Name"))


def test_lambda_task_functions_deliver_their_results_to_complete_itself(dev):
    # GIVEN the asynchronous-invoke configurations Sluice sets on Lambda tasks' functions
    configs = [c["Properties"] for stack in dev.stacks() if stack != PLATFORM  # not Sluice's own functions'
               for c in dev.resources(stack, "AWS::Lambda::EventInvokeConfig").values()]
    assert configs
    for props in configs:
        # THEN success and failure both go to the completion function, nowhere else
        destinations = props["DestinationConfig"]
        for end in ("OnSuccess", "OnFailure"):
            tail = _complete_arn_tail(destinations[end]["Destination"])
            assert tail == ":function:sluice-dev-complete", (props["FunctionName"], end, destinations[end])


def test_only_aws_services_may_invoke_complete(dev):
    # GIVEN the completion function's resource policy
    functions = dev.resources(PLATFORM, "AWS::Lambda::Function")
    (complete,) = [k for k, f in functions.items() if f["Properties"].get("FunctionName") == "sluice-dev-complete"]
    permissions = [p["Properties"] for p in dev.resources(PLATFORM, "AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [complete, "Arn"]}]
    rules = dev.resources(PLATFORM, "AWS::Events::Rule")
    assert permissions
    for permission in permissions:
        # THEN every statement names an AWS service, and only for Sluice's own rules (no account, role or user)
        assert permission["Principal"] == "events.amazonaws.com", permission
        source = permission["SourceArn"]
        if isinstance(source, dict) and "Fn::GetAtt" in source:
            assert source["Fn::GetAtt"][0] in rules, permission
        else:
            assert _complete_arn_tail(source).startswith(":rule/sluice-dev-"), permission

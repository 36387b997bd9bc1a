"""cdk-nag acknowledgements: each names the rule, the exact finding where it has one, and why it is right here."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import Construct

_PSEUDO = {"partition": "<AWS::Partition>", "region": "<AWS::Region>", "account": "<AWS::AccountId>"}


def acknowledge(scope: Construct, rule: str, reason: str, *, resources: Iterable[str] = (),
                policies: Iterable[str] = ()) -> None:
    """Acknowledge AwsSolutions-<rule> on scope and its children, for exactly these resources (IAM5) or managed
    policies (IAM4) when given."""
    ids = [f"AwsSolutions::AwsSolutions-{rule}[Resource::{r}]" for r in resources] + [
        f"AwsSolutions::AwsSolutions-{rule}[Policy::{p}]" for p in policies] or [f"AwsSolutions::AwsSolutions-{rule}"]
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=reason) for i in ids))


def as_finding(scope: Construct, template: str) -> str:
    """An ARN template from infra/grants.py as cdk-nag prints it: pseudo parameters as <AWS::...>."""
    stack = cdk.Stack.of(scope)
    values = {"partition": stack.partition, "region": stack.region, "account": stack.account}
    return template.format(**{k: _PSEUDO[k] if cdk.Token.is_unresolved(v) else v for k, v in values.items()})

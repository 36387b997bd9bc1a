"""One pipeline's state machine: the compiled definition as is, the dispatcher's ARN substituted in."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sluice.compile.states import DISPATCH_ARN
from sluice.spec import Pipeline

from ..config import EnvConfig
from ..nag import acknowledge
from ..naming import machine_name, removal, retention

SUBSTITUTION = DISPATCH_ARN.removeprefix("${").removesuffix("}")  # DispatchFunctionArn


class PipelineStateMachine(Construct):
    def __init__(self, scope: Construct, id: str, *, pipeline: Pipeline, definition: dict[str, Any],
                 config: EnvConfig, dispatcher_arn: str) -> None:
        super().__init__(scope, id)
        name = machine_name(config, pipeline.name)
        # The only thing the state machine calls: every Task state invokes the dispatcher (child pipelines are
        # started by the dispatcher, so the state machine needs no states:StartExecution).
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                             description=f"Sluice pipeline {pipeline.name} ({config.name})")
        self.role.add_to_policy(iam.PolicyStatement(sid="Dispatch", actions=["lambda:InvokeFunction"],
                                                    resources=[dispatcher_arn]))
        logging = None
        if config.execution_logs != "OFF":
            log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/vendedlogs/states/{name}",
                                      retention=retention(config),
                                      removal_policy=removal(config))
            # Execution data stays out of the logs: parameters and task outputs may be sensitive, and the run
            # store records them under the table's access control.
            logging = sfn.LogOptions(destination=log_group, level=sfn.LogLevel[config.execution_logs],
                                     include_execution_data=False)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(definition, separators=(",", ":"))),
            definition_substitutions={SUBSTITUTION: dispatcher_arn}, role=self.role, logs=logging,
            tracing_enabled=config.tracing)
        wildcards = ["X-Ray tracing (PutTraceSegments, GetSamplingRules, ...)"] if config.tracing else []
        if logging is not None:
            wildcards.append("CloudWatch Logs delivery (CreateLogDelivery, DescribeLogGroups, ...)")
        if wildcards:
            acknowledge(self.role, "IAM5", f"{' and '.join(wildcards)} support no resource type; Step Functions "
                        "documents these statements for the state machine's role", resources=["*"])

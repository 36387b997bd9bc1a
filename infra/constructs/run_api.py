"""The run API (issue 6): a regional REST API, IAM (SigV4) auth on every method, proxying every request to the api
function (functions/api/handler.py, a Powertools REST resolver), which routes and validates them itself."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..config import EnvConfig
from ..nag import acknowledge
from ..naming import removal, retention

STAGE = "v1"
# AWS's policy for API Gateway's account-level CloudWatch role (cloud_watch_role=True), as cdk-nag names it.
PUSH_TO_LOGS = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class RunApi(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, function: lambda_.IFunction) -> None:
        super().__init__(scope, id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", log_group_name=f"/aws/apigateway/{config.prefix}api",
                                         retention=retention(config), removal_policy=removal(config))
        self.api = apigateway.LambdaRestApi(
            self, "Api", handler=function, proxy=True, rest_api_name=f"{config.prefix}api",
            description=f"Sluice run API ({config.name}): start, list, inspect and cancel runs",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # the permission for the stage's methods only; the console's test calls need none
            integration_options=apigateway.LambdaIntegrationOptions(allow_test_invoke=False),
            default_method_options=apigateway.MethodOptions(authorization_type=apigateway.AuthorizationType.IAM),
            cloud_watch_role=config.api_cloudwatch_role,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE, description=f"Sluice run API ({config.name})",
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True, resource_path=True,
                    response_length=True, status=True, user=True),
                # execution logs of errors only, without request or response bodies (run parameters may be
                # sensitive; the run store keeps them under its own access control)
                logging_level=apigateway.MethodLoggingLevel.ERROR, data_trace_enabled=False, metrics_enabled=True,
                throttling_rate_limit=config.api_rate_limit, throttling_burst_limit=config.api_burst_limit,
                tracing_enabled=config.tracing))
        # The platform stack outputs the URL as RunApiUrl (the CLI's key); RestApi's own output would repeat it
        # under a generated key.
        self.api.node.try_remove_child("Endpoint")
        # API Gateway creates the execution log group on the first error, without retention: make it first.
        execution_logs = logs.LogGroup(
            self, "ExecutionLogs", log_group_name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE}",
            retention=retention(config), removal_policy=removal(config))
        self.api.deployment_stage.node.add_dependency(execution_logs)
        acknowledge(self.api, "APIG2", "every request goes to one Lambda proxy integration, which validates the "
                    "path, query and body with Powertools and pydantic and answers 400 with problem details; "
                    "API Gateway has no models to check a proxy request against")
        acknowledge(self.api, "APIG3", "every method requires IAM (SigV4) authentication, so API Gateway refuses "
                    "anonymous and unsigned traffic before it reaches the function, and the stage is throttled; a "
                    "WAF web ACL would have nothing left to filter")
        acknowledge(self.api, "COG4", "callers are AWS principals (the sluice CLI, CI roles, other services) "
                    "authenticated with IAM SigV4 and authorized by IAM policies on execute-api:Invoke; there are "
                    "no Cognito users")
        if config.api_cloudwatch_role:
            acknowledge(self.api, "IAM4", "API Gateway's account-level CloudWatch role: AWS's managed policy is the "
                        "documented one for it and changes with what API Gateway needs to log",
                        policies=[PUSH_TO_LOGS])

    @property
    def url(self) -> str:
        return self.api.url

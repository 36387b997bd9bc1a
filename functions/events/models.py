"""Powertools Parser models of the EventBridge events Sluice consumes, and of the invocation record Lambda delivers
to `complete` as a Lambda task's destination.

Each model requires only the fields Sluice reads and ignores the rest: AWS adds fields to these events over time.
Field names are AWS's own (camelCase), so a validation error names the field as it appears in the event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

GLUE_JOB = "Glue Job State Change"
EMR_STEP = "EMR Step Status Change"
EMR_SERVERLESS_JOB = "EMR Serverless Job Run State Change"
ECS_TASK = "ECS Task State Change"
# What a Lambda destination puts on an event bus, with source "lambda": Sluice refuses these (docs/guarantees.md).
LAMBDA_RESULTS = ("Lambda Function Invocation Result - Success", "Lambda Function Invocation Result - Failure")
SFN_EXECUTION = "Step Functions Execution Status Change"


class Detail(BaseModel):
    """An event's `detail`: unknown fields are ignored, never refused."""

    model_config = ConfigDict(extra="ignore")


class GlueJobDetail(Detail):
    jobName: str | None = None
    jobRunId: str
    state: str  # SUCCEEDED, FAILED, TIMEOUT, STOPPED (Glue sends this event for ends only)
    severity: str | None = None
    message: str | None = None


class EmrStepDetail(Detail):
    clusterId: str | None = None
    stepId: str
    name: str | None = None
    state: str  # PENDING, RUNNING, CANCEL_PENDING, COMPLETED, CANCELLED, FAILED, INTERRUPTED
    severity: str | None = None
    message: str | None = None
    # Not in AWS's example event; read when present because DescribeStep reports a failure's cause there.
    failureDetails: dict[str, Any] | None = None


class EmrServerlessJobDetail(Detail):
    applicationId: str | None = None
    jobRunId: str
    state: str  # SUBMITTED, QUEUED, PENDING, SCHEDULED, RUNNING, SUCCESS, FAILED, CANCELLING, CANCELLED
    previousState: str | None = None
    stateDetails: str | None = None


class EcsContainer(Detail):
    name: str | None = None
    lastStatus: str | None = None
    exitCode: int | None = None
    reason: str | None = None


class EcsTaskDetail(Detail):
    taskArn: str
    clusterArn: str | None = None
    lastStatus: str  # PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED
    desiredStatus: str | None = None
    containers: list[EcsContainer] = Field(default_factory=list)
    stopCode: str | None = None
    stoppedReason: str | None = None
    # What the task's compute cost is figured from (functions/events/usage.py).
    cpu: str | None = None
    memory: str | None = None
    launchType: str | None = None
    capacityProviderName: str | None = None
    pullStartedAt: str | None = None
    startedAt: str | None = None
    stoppedAt: str | None = None


class LambdaRequestContext(Detail):
    requestId: str
    functionArn: str | None = None
    condition: str | None = None  # Success, RetriesExhausted, EventAgeExceeded
    approximateInvokeCount: int | None = None


class LambdaResponseContext(Detail):
    statusCode: int | None = None
    executedVersion: str | None = None
    functionError: str | None = None  # Handled or Unhandled


class LambdaInvocationRecord(Detail):
    """An asynchronous invocation's record, as Lambda delivers it to a function destination (the event itself)."""

    version: str
    timestamp: dt.datetime
    requestContext: LambdaRequestContext
    requestPayload: Any = None
    responseContext: LambdaResponseContext | None = None
    responsePayload: Any = None


class SfnExecutionDetail(Detail):
    """The execution as DescribeExecution reports it; dates are epoch milliseconds, input/output JSON strings."""

    executionArn: str
    stateMachineArn: str
    name: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    startDate: int | None = None
    stopDate: int | None = None
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None


class GlueJobStateChange(EventBridgeModel):
    source: Literal["aws.glue"]
    detail_type: Literal["Glue Job State Change"] = Field(alias="detail-type")
    detail: GlueJobDetail


class EmrStepStatusChange(EventBridgeModel):
    source: Literal["aws.emr"]
    detail_type: Literal["EMR Step Status Change"] = Field(alias="detail-type")
    detail: EmrStepDetail


class EmrServerlessJobRunStateChange(EventBridgeModel):
    source: Literal["aws.emr-serverless"]
    detail_type: Literal["EMR Serverless Job Run State Change"] = Field(alias="detail-type")
    detail: EmrServerlessJobDetail


class EcsTaskStateChange(EventBridgeModel):
    source: Literal["aws.ecs"]
    detail_type: Literal["ECS Task State Change"] = Field(alias="detail-type")
    detail: EcsTaskDetail


class SfnExecutionStatusChange(EventBridgeModel):
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: SfnExecutionDetail

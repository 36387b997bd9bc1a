"""What a run costs at AWS list prices: one table of prices with its date, and the arithmetic.

Two parts. Orchestration: what Sluice itself adds to a run (Step Functions state transitions, its own Lambda
invocations and GB-seconds, DynamoDB requests on the run store). Compute: what the jobs used, where the service
reports it (Glue DPU-seconds, EMR Serverless vCPU/memory/storage hours, Fargate vCPU and memory seconds). Whatever a
figure leaves out is named in `not_counted`, never priced as zero silently.

Pure: local mode (sluice.local.billing) and the record function (functions/record/cost.py) price with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple


class Price(NamedTuple):
    item: str
    unit: str
    usd: float  # per unit


# List prices, US East (N. Virginia), on-demand, x86, without free tier, as published on the AWS pricing pages:
# https://aws.amazon.com/step-functions/pricing/, https://aws.amazon.com/lambda/pricing/,
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand prices as cut on 2024-11-01),
# https://aws.amazon.com/glue/pricing/ (Spark and Python shell jobs, standard execution class),
# https://aws.amazon.com/emr/pricing/ (EMR Serverless), https://aws.amazon.com/fargate/pricing/ (Linux/x86).
# Last checked against those pages: 2025-06. Update the date with the figures.
PRICES_AS_OF = "2025-06"
PRICE_REGION = "us-east-1"
ORCHESTRATION: dict[str, Price] = {
    "state_transitions": Price("Step Functions Standard state transitions", "transition", 0.025 / 1_000),
    "lambda_invocations": Price("Lambda requests (Sluice's functions)", "request", 0.20 / 1_000_000),
    "lambda_gb_seconds": Price("Lambda compute (Sluice's functions)", "GB-second", 0.0000166667),
    "dynamodb_write_units": Price("DynamoDB on-demand write request units", "WRU", 0.625 / 1_000_000),
    "dynamodb_read_units": Price("DynamoDB on-demand read request units", "RRU", 0.125 / 1_000_000),
}
COMPUTE: dict[str, Price] = {
    "glue_dpu_seconds": Price("Glue job DPU time", "DPU-second", 0.44 / 3600),
    "emr_serverless_vcpu_hours": Price("EMR Serverless vCPU time", "vCPU-hour", 0.052624),
    "emr_serverless_memory_gb_hours": Price("EMR Serverless memory", "GB-hour", 0.0057785),
    "emr_serverless_storage_gb_hours": Price("EMR Serverless storage (billed beyond 20 GB per worker)", "GB-hour",
                                             0.000111),
    "fargate_vcpu_seconds": Price("Fargate task vCPU time", "vCPU-second", 0.04048 / 3600),
    "fargate_memory_gb_seconds": Price("Fargate task memory", "GB-second", 0.004445 / 3600),
}
PRICES: dict[str, Price] = {**ORCHESTRATION, **COMPUTE}

# The jobs whose compute no service reports per job: named in `not_counted` when a run has them.
UNREPORTED_COMPUTE = {
    "lambda": "Lambda task functions' own compute (their duration is not in the destination event)",
    "emr": "EMR steps (they share their cluster's instances)",
    "ecs_ec2": "ECS tasks on EC2 capacity (the instances are yours, not billed per task)",
    "pipeline": "child runs (each child run's record carries its own cost)",
}


def price(quantities: Mapping[str, float], *, basis: Mapping[str, str] | None = None,
          not_counted: Iterable[str] = ()) -> dict[str, Any]:
    """Price the quantities (keys of PRICES; others are ignored): one line each, orchestration and compute totals.

    `basis` says how a quantity was obtained when it was not simply counted (e.g. an assumed duration)."""
    lines: list[dict[str, Any]] = []
    for key, (item, unit, usd) in PRICES.items():
        if key not in quantities:
            continue
        line = {"key": key, "item": item, "quantity": quantities[key], "unit": unit, "unit_price_usd": usd,
                "usd": quantities[key] * usd}
        if basis and key in basis:
            line["basis"] = basis[key]
        lines.append(line)
    orchestration = float(sum(line["usd"] for line in lines if line["key"] in ORCHESTRATION))
    compute = float(sum(line["usd"] for line in lines if line["key"] in COMPUTE))
    return {"prices_as_of": PRICES_AS_OF, "region": PRICE_REGION, "lines": lines,
            "orchestration_usd": orchestration, "compute_usd": compute, "total_usd": orchestration + compute,
            "includes": [line["item"] for line in lines], "not_counted": sorted(set(not_counted))}


def total_text(cost: Mapping[str, Any]) -> str:
    """What a cost's total includes and leaves out, in words (every place that shows a total says it)."""
    includes = cost.get("includes")
    if not isinstance(includes, list):  # a cost recorded before totals said what they include
        includes = [line.get("item") or line.get("key") for line in cost.get("lines") or []]
    left_out = cost.get("not_counted") or []
    return (f"includes {', '.join(map(str, includes)) or 'nothing'}"
            + (f"; not counted: {', '.join(map(str, left_out))}" if left_out else ""))


def add_usage(total: dict[str, float], usage: Mapping[str, Any] | None) -> None:
    """Sum one job's reported usage into a run's (only the priced keys; anything else is ignored)."""
    for key, value in (usage or {}).items():
        if key in COMPUTE and isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            total[key] = total.get(key, 0.0) + value


def state_transitions(history: list[dict[str, Any]]) -> int:
    """Billed transitions of one execution: every state entered, and every retry of a state (AWS bills both)."""
    entered = sum(1 for event in history if event["type"].endswith("StateEntered"))
    scheduled = sum(1 for event in history if event["type"] in {"TaskScheduled", "LambdaFunctionScheduled"})
    task_states = sum(1 for event in history if event["type"] == "TaskStateEntered")
    return entered + max(0, scheduled - task_states)


def lambda_invokes(history: list[dict[str, Any]]) -> int:
    """How many times the execution invoked a Lambda function (in a Sluice definition: the dispatcher)."""
    def invokes(event: dict[str, Any]) -> bool:
        details = event.get("taskScheduledEventDetails") or {}
        return event["type"] == "LambdaFunctionScheduled" or (
            event["type"] == "TaskScheduled" and details.get("resourceType") == "lambda")

    return sum(1 for event in history if invokes(event))

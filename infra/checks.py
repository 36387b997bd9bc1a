"""What a pipeline needs of its deployment that its own validation cannot see: checked before synth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sluice.spec import Pipeline

from .config import EnvConfig
from .grants import destinations_settable


@dataclass(frozen=True)
class Findings:
    errors: list[str]
    warnings: list[str]


def check(pipelines: Mapping[str, Pipeline], config: EnvConfig) -> Findings:
    errors: list[str] = []
    warnings: list[str] = []
    # The sweeper sends the heartbeats of running jobs: a heartbeat shorter than the time before it looks at an
    # attempt, plus one sweep interval, would time out healthy jobs.
    floor = config.sweep_after_seconds + config.sweep_every_minutes * 60
    for name, pipeline in sorted(pipelines.items()):
        for task_name, task in pipeline.tasks.items():
            heartbeat = pipeline.heartbeat_of(task_name)
            if heartbeat is not None and heartbeat <= floor:
                errors.append(f"pipeline '{name}', task '{task_name}': heartbeat {heartbeat}s must be longer than "
                              f"{floor}s in environment '{config.name}' (sweep_after_seconds "
                              f"{config.sweep_after_seconds} + one sweep every {config.sweep_every_minutes} min), "
                              "since the sweeper sends heartbeats; raise it or lower those settings in "
                              "infra/environments.yaml")
            if task.kind == "ecs" and not getattr(task.job, "roles", None):
                warnings.append(f"pipeline '{name}', task '{task_name}': no 'roles' listed, so Sluice may pass none "
                                "to ECS; a task definition with a task or execution role (every Fargate task that "
                                "pulls from ECR or logs to CloudWatch has one) is then refused with AccessDenied")
            function = str(getattr(task.job, "function", ""))
            if task.kind == "lambda" and not (config.lambda_destinations and destinations_settable(function)):
                why = (f"lambda_destinations is off in environment '{config.name}'" if not config.lambda_destinations
                       else "Sluice sets asynchronous-invoke destinations only on functions named literally")
                warnings.append(f"pipeline '{name}', task '{task_name}': {why}; give '{function}' destinations "
                                f"(success and failure) to the function {config.prefix}complete yourself (its role "
                                "needs lambda:InvokeFunction on it), or its end is never heard (the sweeper cannot ask "
                                "Lambda about an invocation; a result on an event bus is refused)")
    return Findings(errors, warnings)

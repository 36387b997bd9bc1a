"""Pipeline -> Amazon States Language. Pure: the same pipeline always gives byte-identical JSON."""

from __future__ import annotations

from typing import Any

from .. import condition, template
from ..contract import RETRYABLE_ERRORS, DispatchRequest, config_hash, definition_comment
from ..spec import Pipeline, Retry, Task
from .states import catch_all, dispatch, run_context, run_identity, then
from .structure import Fork, Leaf, Node, Series, Structure

START = "Start run"
DEFAULTS = "Apply defaults"
CONTEXT = "Set run context"
FINALIZE = "Finalize run"
OUTCOME = "Run outcome"
FAILED = "Run failed"
SUCCEEDED = "Run succeeded"


class Emitter:
    """Builds the states of one pipeline; `emit` compiles a structure node in front of a continuation."""

    def __init__(self, pipeline: Pipeline, structure: Structure) -> None:
        self.p = pipeline
        self.structure = structure
        # Without gated dependencies no request is ever parked: the dispatcher need not look for any.
        ungated = {} if structure.gated_edges else {"gated": False}
        self.base = run_context(pipeline.name) | ungated
        self.identity = run_identity(pipeline.name) | ungated
        self.param_types = {name: param.type for name, param in pipeline.params.items()}
        self.forks = 0

    def definition(self) -> dict[str, Any]:
        states: dict[str, Any] = {}
        states.update(self._prologue())
        first = self.emit(self.structure.tree, FINALIZE, states)
        states[CONTEXT]["Next"] = first
        states.update(self._epilogue())
        out: dict[str, Any] = {
            "Comment": definition_comment(self.p.name, config_hash(self.p)),
            "StartAt": START,
            "States": states,
        }
        if self.p.timeout:
            out["TimeoutSeconds"] = self.p.timeout
        return out

    def emit(self, node: Node, next_state: str | None, states: dict[str, Any]) -> str:
        """Add the states for `node` that lead to `next_state` (None: end of branch); return the first."""
        if isinstance(node, Leaf):
            return self._task(node.task, next_state, states)
        if isinstance(node, Series):
            for part in reversed(node.parts):
                next_state = self.emit(part, next_state, states)
            assert next_state is not None
            return next_state
        return self._fork(node, next_state, states)

    def _fork(self, node: Fork, next_state: str | None, states: dict[str, Any]) -> str:
        self.forks += 1
        name = f"Parallel {self.forks}"
        branches = []
        for branch in node.branches:
            inner: dict[str, Any] = {}
            start = self.emit(branch, None, inner)
            branches.append({"StartAt": start, "States": inner})
        # ResultPath null: the run context passes through unchanged; outcomes live in the run store.
        states[name] = then({"Type": "Parallel", "Branches": branches, "ResultPath": None}, next_state)
        return name

    def _task(self, name: str, next_state: str | None, states: dict[str, Any]) -> str:
        task = self.p.tasks[name]
        entry = self._foreach(name, task, next_state, states) if task.foreach else self._run(name, task,
                                                                                            next_state, states)
        if task.when is None:
            return entry
        skip = f"{name}.skip"
        # A skipped task must not count as ended before its gated dependencies have: downstream tasks depend
        # on them through it. So the skip is a token call the dispatcher holds at the same gate.
        states[skip] = dispatch(_without_defaults({**self.identity, "action": "skip", "task": name,
                                                   "wait_for": self.structure.gated.get(name, [])}),
                                token=True, next_state=next_state)
        rule = condition.to_choice_rule(condition.parse(task.when, self.param_types), self.param_types)
        states[f"{name}.when"] = {"Type": "Choice", "Choices": [{**rule, "Next": entry}], "Default": skip,
                                  "Comment": f"when: {task.when}"}
        return f"{name}.when"

    def _task_payload(self, name: str, task: Task, action: str) -> dict[str, Any]:
        config = task.job.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.p.secrets:  # references only: a secret's value is read by the job, never by Sluice
            config = template.substitute(config, "secrets", {n: s.reference for n, s in self.p.secrets.items()})
        if task.kind == "glue":  # Glue only passes arguments named --key to the job
            config["arguments"] = {(k if k.startswith("--") else f"--{k}"): v for k, v in config["arguments"].items()}
        payload = {**self.base, "action": action, "task": name, "kind": task.kind, "config": config,
                   "timeout": self.p.timeout_of(name), "heartbeat": self.p.heartbeat_of(name),
                   "depends_on": list(task.depends_on),
                   "trigger_rule": task.trigger_rule, "wait_for": self.structure.gated.get(name, [])}
        return _without_defaults(payload)

    def _run(self, name: str, task: Task, next_state: str | None, states: dict[str, Any]) -> str:
        failed = f"{name}.failed"
        states[name] = dispatch(self._task_payload(name, task, "run"), token=True, next_state=next_state,
                                **self._limits(name), Retry=self._retry(self.p.retry_of(name)),
                                Catch=catch_all(failed))
        states[failed] = self._fail_recorder(name, next_state)
        return name

    def _foreach(self, name: str, task: Task, next_state: str | None, states: dict[str, Any]) -> str:
        assert task.foreach is not None
        prepare, finish, failed = f"{name}.prepare", f"{name}.finish", f"{name}.failed"
        item, item_failed = f"{name}.item", f"{name}.item.failed"
        prep_payload = {**self._task_payload(name, task, "prepare"), "items": task.foreach.items,
                        "max_items": task.foreach.max_items}
        prep_payload.pop("config", None)
        states[prepare] = dispatch(prep_payload, token=True, next_state=name, ResultPath="$.foreach",
                                   Catch=catch_all(failed))
        # Items need no gate or trigger rule: prepare decided for the whole task before the Map started.
        decided = {"depends_on", "trigger_rule", "wait_for"}
        item_payload = {**{k: v for k, v in self._task_payload(name, task, "run").items() if k not in decided},
                        "item.$": "$.item", "item_index.$": "$.index"}
        iterator = {
            item: dispatch(item_payload, token=True, next_state=None, **self._limits(name),
                           Retry=self._retry(self.p.retry_of(name)), Catch=catch_all(item_failed)),
            item_failed: self._fail_recorder(name, None, item=True),
        }
        selector = {"params.$": "$.params", "logical_date.$": "$.logical_date", "event.$": "$.event",
                    "resume_of.$": "$.resume_of",
                    "item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
        states[name] = {"Type": "Map", "ItemsPath": "$.foreach.items", "ItemSelector": selector,
                        "MaxConcurrency": task.foreach.max_concurrency,
                        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": item, "States": iterator},
                        "ResultPath": None, "Next": finish, "Catch": catch_all(failed)}
        states[finish] = dispatch({**self.identity, "action": "finish", "task": name}, token=False,
                                  next_state=next_state)
        states[failed] = self._fail_recorder(name, next_state)
        return prepare

    def _fail_recorder(self, name: str, next_state: str | None, item: bool = False) -> dict[str, Any]:
        # The limits go along so the recorder can say which one ran out: Step Functions' States.Timeout has no cause.
        payload = {**self.identity, "action": "fail", "task": name, "error.$": "$.error",
                   **_without_defaults({"timeout": self.p.timeout_of(name), "heartbeat": self.p.heartbeat_of(name)})}
        if item:
            payload.update({"item.$": "$.item", "item_index.$": "$.index"})
        return dispatch(payload, token=False, next_state=next_state)

    def _limits(self, name: str) -> dict[str, Any]:
        limits = {"TimeoutSeconds": self.p.timeout_of(name)}
        heartbeat = self.p.heartbeat_of(name)
        if heartbeat:
            limits["HeartbeatSeconds"] = heartbeat
        return limits

    @staticmethod
    def _retry(retry: Retry) -> list[dict[str, Any]]:
        if retry.max_attempts <= 1:
            return []
        rule: dict[str, Any] = {"ErrorEquals": RETRYABLE_ERRORS, "IntervalSeconds": retry.interval,
                                "MaxAttempts": retry.max_attempts - 1, "BackoffRate": retry.backoff}
        if retry.max_delay:
            rule["MaxDelaySeconds"] = retry.max_delay
        rule["JitterStrategy"] = "FULL" if retry.jitter else "NONE"
        return [rule]

    def _prologue(self) -> dict[str, Any]:
        # Three Pass states make any start (console, schedule, API) a complete run context:
        # missing keys get defaults, then declared parameter defaults fill what the input did not give.
        return {
            START: {"Type": "Pass", "Next": DEFAULTS, "Parameters": {
                "base": {"params": {}, "logical_date.$": "$$.Execution.StartTime", "event": None,
                         "trigger": {"type": "manual"}, "resume_of": None},
                "param_defaults": self.p.param_defaults(), "given.$": "$"}},
            DEFAULTS: {"Type": "Pass", "Next": CONTEXT, "Parameters": {
                "run.$": "States.JsonMerge($.base, $.given, false)", "param_defaults.$": "$.param_defaults"}},
            CONTEXT: {"Type": "Pass", "Parameters": {
                "params.$": "States.JsonMerge($.param_defaults, $.run.params, false)",
                "logical_date.$": "$.run.logical_date", "event.$": "$.run.event", "trigger.$": "$.run.trigger",
                "resume_of.$": "$.run.resume_of"}},
        }

    def _epilogue(self) -> dict[str, Any]:
        return {
            FINALIZE: dispatch({**self.identity, "action": "finalize"}, token=False, next_state=OUTCOME,
                               ResultSelector={"status.$": "$.Payload.status", "error.$": "$.Payload.error",
                                               "cause.$": "$.Payload.cause"}, ResultPath="$.outcome"),
            # The Choice narrows the output to the outcome (rules see the whole input): a Succeed state's own
            # OutputPath is valid ASL, but CloudFormation's schema (cfn-lint E3601) rejects it.
            OUTCOME: {"Type": "Choice", "Default": SUCCEEDED, "OutputPath": "$.outcome",
                      "Choices": [{"Variable": "$.outcome.status", "StringEquals": "FAILED", "Next": FAILED}]},
            FAILED: {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "$.cause"},
            SUCCEEDED: {"Type": "Succeed"},
        }


# Taken from the contract itself, so what is left out is exactly what the dispatcher fills in again.
_PAYLOAD_DEFAULTS: dict[str, Any] = {
    name: DispatchRequest.model_fields[name].get_default(call_default_factory=True)
    for name in ("heartbeat", "depends_on", "trigger_rule", "wait_for")
}


def _without_defaults(payload: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields equal to DispatchRequest's defaults: every byte counts against the 1 MB definition."""
    return {k: v for k, v in payload.items() if k not in _PAYLOAD_DEFAULTS or v != _PAYLOAD_DEFAULTS[k]}

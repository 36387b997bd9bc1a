"""The moto work-arounds local mode and the tests run under (sluice/local/moto_quirks.py), each held to what AWS does.

Each test fails without its patch: a heartbeat sent during the invoke is InvalidToken (the dispatcher would cancel a
live wait), and Lambda code that waits for another thread's AWS call deadlocks on the call lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sluice.local.moto_quirks import _CallLock, interpreter_fixes, one_call_at_a_time, route_lambda

REGION = "eu-west-1"
CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=CONFIG), interpreter_fixes():
        yield


def _machine(heartbeat: int | None) -> tuple[Any, str]:
    """A state machine of one callback task on a Lambda function (its token in the payload)."""
    iam, lam, sfn = (boto3.client(s, region_name=REGION) for s in ("iam", "lambda", "stepfunctions"))
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = lam.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="h.h",
                             Code={"ZipFile": b"x"})["FunctionArn"]
    task: dict[str, Any] = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "Parameters": {"FunctionName": fn, "Payload": {"token.$": "$$.Task.Token"}},
                            "End": True}
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    definition = {"StartAt": "t", "States": {"t": task}}
    arn = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    return sfn, arn


def _ended(sfn: Any, execution: str) -> dict[str, Any]:
    for _ in range(2_000):  # a bound on polls, not on time: the execution ends within a few
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError("the execution is still RUNNING")


@pytest.mark.parametrize("heartbeat", [60, None])
def test_a_heartbeat_sent_during_the_invoke_is_received_as_on_aws(aws: None, heartbeat: int | None) -> None:
    # GIVEN a callback task (with HeartbeatSeconds, or without) whose Lambda heartbeats its token while it is
    # still being invoked, as the dispatcher does when it parks a request, then answers it
    answers: list[str] = []

    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        token = json.loads(body)["token"]
        client = boto3.client("stepfunctions", region_name=REGION)
        try:
            client.send_task_heartbeat(taskToken=token)
            answers.append("received")
        except client.exceptions.ClientError as error:
            answers.append(error.response["Error"]["Code"])
        client.send_task_success(taskToken=token, output='{"ok": true}')
        return b"{}"

    sfn, machine = _machine(heartbeat)
    with route_lambda(invoke):
        execution = sfn.start_execution(stateMachineArn=machine, name="e", input="{}")["executionArn"]
        described = _ended(sfn, execution)
    # THEN the heartbeat is received (moto alone answers InvalidToken: no heartbeat endpoint yet) and the run ends
    assert answers == ["received"]
    assert described["status"] == "SUCCEEDED", described


def test_lambda_code_runs_outside_the_call_lock(aws: None) -> None:
    # GIVEN a Lambda whose code waits for an AWS call made by another thread (a second invocation, a sweeper)
    other: dict[str, Any] = {}

    def call_from_another_thread() -> None:
        other["tables"] = boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"]

    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        thread = threading.Thread(target=call_from_another_thread, daemon=True)
        thread.start()
        thread.join(timeout=60)  # held inside moto's call lock, this would never return before the timeout
        other["finished"] = not thread.is_alive()
        boto3.client("stepfunctions", region_name=REGION).send_task_success(
            taskToken=json.loads(body)["token"], output="{}")
        return b"{}"

    sfn, machine = _machine(None)
    with route_lambda(invoke):
        execution = sfn.start_execution(stateMachineArn=machine, name="e", input="{}")["executionArn"]
        described = _ended(sfn, execution)
    # THEN the other thread's call went through while the Lambda ran, and the run ended
    assert other == {"tables": [], "finished": True}
    assert described["status"] == "SUCCEEDED"


def test_the_call_lock_is_reentrant_and_its_holder_can_step_out() -> None:
    lock, order = _CallLock(), []
    with lock, lock:  # GIVEN a thread holding the lock twice over
        def contender() -> None:
            with lock:
                order.append("other")

        thread = threading.Thread(target=contender, daemon=True)
        thread.start()
        # WHEN it steps out THEN another thread gets the lock, and the holder gets it back, as deep as it was
        with lock.released():
            thread.join(timeout=60)
            order.append("released")
        assert not thread.is_alive()
    assert order == ["other", "released"]
    # AND it is free again afterwards
    assert lock._lock.acquire(blocking=False)
    lock._lock.release()
    # AND stepping out of a lock one does not hold is a no-op
    with lock.released():
        order.append("not held")
    assert order[-1] == "not held"


def test_the_call_lock_wraps_moto_once_however_often_it_is_entered() -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    bare = BotocoreStubber.process_request
    # GIVEN the lock entered through interpreter_fixes and again through route_lambda, as local mode does
    with one_call_at_a_time():
        wrapped = BotocoreStubber.process_request
        with interpreter_fixes(), route_lambda(lambda name, body, headers: b""):
            # THEN moto's request handling is wrapped once, not once per entry
            assert BotocoreStubber.process_request is wrapped is not bare
    # AND it is moto's own again afterwards
    assert BotocoreStubber.process_request is bare


def test_an_execution_just_started_can_be_asked_about_tokens_and_stopped(aws: None) -> None:
    # GIVEN an execution whose interpreter thread is slow to set the program up (0.3 s)
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint

    def entrypoint(self: Any) -> Any:
        time.sleep(0.3)
        return original(self)

    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        boto3.client("stepfunctions", region_name=REGION).send_task_success(taskToken=json.loads(body)["token"],
                                                                            output="{}")
        return b"{}"

    sfn, machine = _machine(None)
    with route_lambda(invoke), pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)
        execution = sfn.start_execution(stateMachineArn=machine, name="e", input="{}")["executionArn"]
        # WHEN, as soon as StartExecution has answered, a token is failed and the execution stopped
        with pytest.raises(sfn.exceptions.ClientError) as gone:
            sfn.send_task_failure(taskToken="no-such-token", error="E", cause="c")
        sfn.stop_execution(executionArn=execution, error="Sluice.LocalStop", cause="stopping")
        described = _ended(sfn, execution)
    # THEN the token is answered as AWS answers it (moto alone: AttributeError 'callback_pool_manager'), and the stop
    # takes effect (moto alone: AttributeError 'set_stop', or the stop dropped)
    assert gone.value.response["Error"]["Code"] == "InvalidToken"
    # (the task's answer is sent at once, so a dropped stop ends SUCCEEDED; moto ends a stopped execution ABORTED, or
    # FAILED when its waiting task ends first, failed by the stop: docs/local.md, "Where local differs from AWS")
    assert described["status"] in {"ABORTED", "FAILED"}, described

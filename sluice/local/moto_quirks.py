"""Work-arounds for moto's Step Functions interpreter, applied only while local mode (or a test) runs executions.

- One token per attempt: moto makes one task token per waitForTaskToken state and keeps it, with its first
  answer, across the state's retries: every retry then reads that stale answer at once, so a failed task could
  never recover. The patch gives each attempt of a callback task a fresh token (and callback endpoint).
- Answers before the heartbeat wait: for a Task with HeartbeatSeconds, moto sets up the heartbeat endpoint after
  invoking the resource. A token answered during the invoke (a skipped task, a `when` that is false) only wakes
  the callback endpoint, and moto then waits a whole HeartbeatSeconds before reading it. The patch wakes the new
  heartbeat endpoint when the answer is already there, as Step Functions would.
- Heartbeats before the heartbeat wait: for the same reason, a heartbeat sent during the invoke (the dispatcher
  heartbeats a request it parks) finds no heartbeat endpoint and moto answers InvalidToken, which says the task
  is gone: the dispatcher would cancel a live wait. On AWS the token is live from the state's entry; the patch
  takes such a heartbeat as received (the heartbeat clock starts when the endpoint is set up, just after).
- Running when started: moto sets up an execution's environment and program state in the execution's own
  thread, after StartExecution has returned. Until that thread ran, a SendTaskFailure (moto asks every
  execution, running or not), SendTaskSuccess or SendTaskHeartbeat in another thread raised `AttributeError:
  'NoneType' object has no attribute 'callback_pool_manager'` (seen when a server stopped with runs starting),
  and a StopExecution raised too, or was dropped. The patch returns from StartExecution once the program runs,
  as an execution on AWS is running from StartExecution on.
- One parse per execution (local runs only): moto parses a definition at creation and again per execution.
- Retry waits: moto sleeps each Retry interval in real time; a local run may cap the sleep, and a sleep ends
  when the session does.
- One AWS call at a time: moto's interpreter runs every execution in threads of its own, and moto's backends
  are not thread-safe (a DynamoDB query deep-copies an item while another thread's UpdateItem changes it:
  "dictionary changed size during iteration", the execution's thread dies, the run hangs RUNNING). Each call
  into moto holds one lock, as each call on AWS is atomic; Lambda code that a call runs (`route_lambda`) runs
  outside it, as on AWS, so its own calls and everyone else's proceed.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

STARTING_TIMEOUT = 10.0  # seconds StartExecution waits at most for moto's execution thread to run the program


class _CallLock:
    """A re-entrant lock whose holder can step out of it for a while (`released`), however deep it holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._owner != me:
            self._lock.acquire()
            self._owner = me
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        if self._owner != threading.get_ident():
            yield
            return
        depth, self._depth, self._owner = self._depth, 0, None
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner, self._depth = threading.get_ident(), depth


_calls = _CallLock()


def call_lock() -> _CallLock:
    """The lock every moto request holds: local code that changes a moto backend directly (a job's end) holds it
    too, so no request sees the backend half changed."""
    return _calls


@contextmanager
def one_call_at_a_time() -> Iterator[None]:
    """Every request moto handles holds `_calls` (see the module docstring). Entered again while it holds (local
    mode and the test harnesses enter it through both `interpreter_fixes` and `route_lambda`), it changes nothing:
    each request is wrapped once."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    if getattr(original, "holds_the_call_lock", False):
        yield
        return

    def process_request(self: Any, request: Any) -> Any:
        with _calls:
            return original(self, request)

    process_request.holds_the_call_lock = True  # type: ignore[attr-defined]
    with mock.patch.object(BotocoreStubber, "process_request", process_request):
        yield


Route = Callable[[str, Any, dict[str, Any]], bytes]


@contextmanager
def route_lambda(route: Route) -> Iterator[None]:
    """moto runs no Lambda code without Docker: each invocation goes to `route(function_name, body,
    response_headers)`, run outside the call lock (its own AWS calls take it one at a time)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
               response_headers: dict[str, Any]) -> bytes:
        with _calls.released():
            return route(function_name, body, response_headers)

    with mock.patch.object(LambdaSimpleBackend, "invoke", invoke), one_call_at_a_time():
        yield


@contextmanager
def token_per_attempt() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    original = StateTaskServiceCallback._eval_execution

    def _eval_execution(self: Any, env: Any) -> None:
        if self._is_integration_pattern() and self.resource.condition == ResourceCondition.WaitForTaskToken:
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original(self, env)

    with mock.patch.object(StateTaskServiceCallback, "_eval_execution", _eval_execution):
        yield


@contextmanager
def running_when_started() -> Iterator[None]:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker.start

    def start(self: Any) -> None:
        original(self)  # type: ignore[no-untyped-call]
        # Until the thread has set the program running, a stop would be dropped (moto's set_stop only stops a
        # running program) and a token call would find no environment. The thread makes no AWS call before then.
        deadline = time.monotonic() + STARTING_TIMEOUT
        while getattr(self.env, "_program_state", None) is None and time.monotonic() < deadline:
            time.sleep(0.001)

    with mock.patch.object(ExecutionWorker, "start", start):
        yield


@contextmanager
def answers_before_heartbeat_wait() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original = CallbackEndpoint.setup_heartbeat_endpoint

    def setup_heartbeat_endpoint(self: Any, heartbeat_seconds: int) -> Any:
        endpoint = original(self, heartbeat_seconds)
        if self.get_outcome() is not None:
            endpoint.notify()  # type: ignore[no-untyped-call]
        return endpoint

    with mock.patch.object(CallbackEndpoint, "setup_heartbeat_endpoint", setup_heartbeat_endpoint):
        yield


@contextmanager
def heartbeats_before_the_heartbeat_wait() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original = CallbackEndpoint.notify_heartbeat

    def notify_heartbeat(self: Any) -> bool:
        if self._heartbeat_endpoint is None:
            return True
        return bool(original(self))

    with mock.patch.object(CallbackEndpoint, "notify_heartbeat", notify_heartbeat):
        yield


@contextmanager
def definitions_parsed_once() -> Iterator[None]:
    """moto parses a definition when the state machine is created and again for every execution; ANTLR takes
    seconds for a few hundred states. The creation's parse is skipped: the execution's reports the same errors
    (and the compiled definitions pass asl-validator in the tests)."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    with mock.patch.object(StepFunctionsParserBackend, "_validate_definition", staticmethod(lambda definition: None)):
        yield


_wake = threading.Event()


def end_retry_waits() -> None:
    """Wake every retry wait now (a stopped execution then ends instead of sleeping out its interval)."""
    _wake.set()


@contextmanager
def retry_waits(cap: float | None) -> Iterator[None]:
    """Retry intervals sleep at most `cap` seconds (None: in full), and end when the session does: a stopped
    execution's retry must not keep the process alive (the definition, history and attempt count are unchanged)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    global _wake
    ended = _wake = threading.Event()

    def sleep(interval: float) -> None:
        ended.wait(float(interval) if cap is None else min(float(interval), cap))

    # The module's own `time` import is replaced: only its retry sleeps change.
    with mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=sleep)):
        try:
            yield
        finally:
            ended.set()


@contextmanager
def interpreter_fixes(retry_wait_cap: float | None = None) -> Iterator[None]:
    """Every fix above; retry waits capped only when a cap is given."""
    with ExitStack() as stack:
        stack.enter_context(one_call_at_a_time())
        stack.enter_context(token_per_attempt())
        stack.enter_context(running_when_started())
        stack.enter_context(answers_before_heartbeat_wait())
        stack.enter_context(heartbeats_before_the_heartbeat_wait())
        stack.enter_context(retry_waits(retry_wait_cap))
        yield

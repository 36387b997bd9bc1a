"""One local run: the compiled pipeline on moto's Step Functions, with the real functions in-process.

    moto (in-process)                                   this process
    Step Functions interpreter --lambda:invoke-------->  dispatch handler --> job adapters --> moto Glue/EMR/ECS...
    run store table (DynamoDB)  <-----------------------  dispatch / complete / record handlers
                                                         event pump --end events--> complete handler
                                                                    --execution events--> record handler

Nothing leaves the process: boto3 gets fake credentials and every call is answered by moto.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from functions.adapters.clock import utc_now
from functions.adapters.jobs.base import JobStart
from functions.record.cost import LOCAL_JOBS_ENV
from sluice.compile import compile_pipeline
from sluice.spec import Pipeline

from ..cost import state_transitions
from .alarms import alarms, read_emf, totals
from .billing import Meter, cost
from .moto_quirks import definitions_parsed_once, end_retry_waits, interpreter_fixes, route_lambda
from .moto_speed import faster
from .pump import Observed, Pump
from .scenario import Scenario, Script
from .services import ACCOUNT, provision

REGION = "eu-west-1"
TABLE = "sluice-runs"
DISPATCH_FUNCTION = "sluice-dispatch"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
ENVIRONMENT = {
    # Fake credentials and a fixed region: nothing may reach AWS, and moto answers every call anyway.
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",  # nosec B105  # moto's fake credentials, so nothing reaches AWS
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "sluice", "POWERTOOLS_DEV": "false",
    LOCAL_JOBS_ENV: "true",  # the record function's cost says the jobs' usage is local, not a real job's
}
IDLE_SLEEP = 0.002
STOPPED_ERROR = "Sluice.LocalStop"  # --timeout or Ctrl-C
STOP_GRACE = 30.0  # seconds a stopped run may take to wind down in moto before the result is read anyway
PROGRESS_EVERY = 0.2  # seconds between progress callbacks


@dataclass
class LocalRunRequest:
    pipeline: Pipeline
    pipelines: dict[str, Pipeline]  # every pipeline a child task may name
    params: dict[str, Any] = field(default_factory=dict)
    logical_date: str | None = None
    scenario: Scenario = field(default_factory=Scenario.empty)
    retry_wait_cap: float | None = 1.0  # None: wait each retry interval in full
    timeout: float = 1800.0  # seconds of wall time before the run is stopped
    work_dir: Path = Path("build/local")


@dataclass
class Progress:
    """What the live view shows: the run store's view of the run so far."""

    elapsed: float
    status: str
    tasks: dict[str, dict[str, Any]]


def reachable(pipeline: Pipeline, pipelines: dict[str, Pipeline]) -> list[Pipeline]:
    """The pipeline and every child pipeline it can start, transitively (each once)."""
    found: dict[str, Pipeline] = {}
    pending = [pipeline]
    while pending:
        current = pending.pop()
        if current.name in found:
            continue
        found[current.name] = current
        for task in current.tasks.values():
            if task.pipeline is not None:
                child = pipelines.get(task.pipeline.name)
                if child is None:
                    raise ValueError(f"task '{current.name}.{task.pipeline.name}': no pipeline named "
                                     f"'{task.pipeline.name}' to run as a child")
                pending.append(child)
    return list(found.values())


def run_local(request: LocalRunRequest, on_progress: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Run the pipeline to its end on moto and return the result (`sluice run --local --json` prints it)."""
    pipelines = reachable(request.pipeline, request.pipelines)
    request.scenario.check(request.pipeline, {p.name: p for p in pipelines})
    run_id = f"local-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    run_dir = request.work_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    by_name = {p.name: p for p in pipelines}
    root = request.pipeline.name

    def script_for(start: JobStart) -> Script:
        return request.scenario.script(root, by_name[start.pipeline], start.task)

    with local_aws(run_dir, request.retry_wait_cap):
        session = Session(pipelines, run_dir, script_for)
        result = _SingleRun(session, request).run(run_id, on_progress)
    # The log is complete once closed: what the run emitted, and which alarms it would have set off.
    data = read_emf(run_dir / "functions.log")
    result["metrics"] = totals(data, request.pipeline.name)
    result["alarms"] = [alarm for pipeline in pipelines for alarm in alarms(pipeline, data)]
    return result


@contextlib.contextmanager
def local_aws(run_dir: Path, retry_wait_cap: float | None, *, capture_stdout: bool = True) -> Iterator[None]:
    """moto in this process, with fake credentials, the interpreter's fixes, and the functions' output going to
    run_dir/functions.log. `capture_stdout` False (a long-lived server): only the functions' logs and metrics go
    there, and the process's own stdout stays where it was."""
    with _environment(), _captured_output(run_dir / "functions.log", stdout=capture_stdout):
        from moto import mock_aws

        with mock_aws(config=MOTO_CONFIG), interpreter_fixes(retry_wait_cap), definitions_parsed_once(), faster():
            yield


class Session:
    """moto with the pipelines deployed (state machines, job services, the run store table) and the real functions
    wired to it: what one local run uses (`_SingleRun`) and what `sluice local serve` keeps running (serve.py).

    Handler calls are serialized (`invocation`), as in one Lambda container. Inside `active()`, the runtime is
    installed and moto's Lambda invocations reach the real dispatch handler."""

    def __init__(self, pipelines: list[Pipeline], run_dir: Path, script_for: Callable[[JobStart], Script]) -> None:
        import boto3

        from functions.adapters.run_store import RunStore
        from functions.runtime.wiring import Runtime
        from functions.settings import Settings
        from sluice.run_store_schema import create_table_request

        self.pipelines, self.run_dir = {p.name: p for p in pipelines}, run_dir
        self.stopped_because: str | None = None  # every execution stopped (a single run's --timeout, Ctrl-C)
        self.stopped: dict[str, str] = {}  # execution ARN -> why, for executions stopped one by one
        session = boto3.session.Session(region_name=REGION)
        cache: dict[str, Any] = {}

        def clients(name: str) -> Any:
            if name not in cache:
                cache[name] = session.client(name)
            return cache[name]

        self.clients, self.meter = clients, Meter()
        # Reads for the live view and the result, on a client of their own: not counted as the run's.
        self.observing = RunStore(session.client("dynamodb"), TABLE)
        clients("dynamodb").create_table(**create_table_request(TABLE))
        role = clients("iam").create_role(RoleName="sluice-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        dispatch_arn = clients("lambda").create_function(
            FunctionName=DISPATCH_FUNCTION, Runtime="python3.12", Role=role, Handler="functions.dispatch.handler",
            Code={"ZipFile": b"local"})["FunctionArn"]
        self.machines = {}
        for pipeline in pipelines:
            definition = json.dumps(compile_pipeline(pipeline).definition).replace("${DispatchFunctionArn}",
                                                                                  dispatch_arn)
            self.machines[pipeline.name] = clients("stepfunctions").create_state_machine(
                name=f"sluice-{pipeline.name}", roleArn=role, definition=definition)["stateMachineArn"]
        provision(clients, REGION, pipelines, role)
        prefix = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:sluice-"
        self.runtime = Runtime(Settings(table_name=TABLE, state_machine_arn_prefix=prefix), clients=clients)
        self.meter.watch_dynamodb(clients("dynamodb"))

        from functions.complete.handler import handler as complete
        from functions.record.handler import handler as record

        self.container = threading.RLock()
        self.pump = Pump(clients, REGION, script_for, complete=self.handled("complete", complete),
                         record=self.handled("record", record), log_dir=run_dir / "jobs")
        jobs = self.runtime.jobs
        for kind, adapter in list(jobs.items()):
            jobs[kind] = Observed(adapter, self.pump)

    def handled(self, name: str, handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any]], Any]:
        """A handler called as Lambda would call it, one call at a time."""
        context = LambdaContext()

        def call(event: dict[str, Any]) -> Any:
            with self.invocation(name):
                return handler(event, context)
        return call

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The runtime installed for the handlers, and moto's Lambda invocations routed to them."""
        from functions.runtime import wiring

        previous = wiring._current
        wiring.use(self.runtime)
        try:
            with self._lambda_routed():
                yield
        finally:
            wiring.use(previous)

    def start_execution(self, pipeline: str, name: str, run_input: dict[str, Any]) -> str:
        arn: str = self.clients("stepfunctions").start_execution(
            stateMachineArn=self.machines[pipeline], name=name, input=json.dumps(run_input))["executionArn"]
        self.pump.watch(arn)
        return arn

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """One handler call at a time, as in one Lambda container: Powertools keeps per-process state (the metric
        buffer, the logger's keys) that concurrent calls in one process would share. Waiting is not billed."""
        with self.container, self.meter.invocation(function):
            yield

    def refusal(self, execution_arn: str | None) -> str | None:
        """Why a dispatch of this execution is refused: it was stopped (None: it is not)."""
        if self.stopped_because is not None:
            return self.stopped_because
        return self.stopped.get(execution_arn or "")

    @contextlib.contextmanager
    def _lambda_routed(self) -> Iterator[None]:
        """moto runs no Lambda code without Docker: the dispatcher's invocations go to its real handler, and a
        `lambda` task's invocation is its job (the pump ends it)."""
        from functions.dispatch.handler import handler as dispatch

        context = LambdaContext()

        def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
            if function_name.rsplit(":", 1)[-1] != DISPATCH_FUNCTION:
                return b""
            event = json.loads(body or "{}")
            refused = self.refusal(event.get("execution_id") if isinstance(event, dict) else None)
            if refused is not None:
                # Step Functions runs no further state of a stopped execution; moto's interpreter would, until
                # its waiting tasks end. Refused here, it starts no job after the stop.
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": "ExecutionStopped", "errorMessage": refused}).encode()
            with self.invocation("dispatch"):
                try:
                    return json.dumps(dispatch(event, context)).encode()
                except Exception as exc:  # what Lambda answers for a function that raised
                    response_headers["x-amz-function-error"] = "Unhandled"
                    return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                                       "stackTrace": traceback.format_exception(exc)}).encode()

        with route_lambda(invoke):
            yield


class _SingleRun:
    """One run to its end (`sluice run --local`): started, pumped until it and its jobs are done, then read."""

    def __init__(self, session: Session, request: LocalRunRequest) -> None:
        self.session, self.request = session, request
        self.clients, self.pump, self.runtime = session.clients, session.pump, session.runtime
        self.observing, self.meter, self.run_dir = session.observing, session.meter, session.run_dir

    @property
    def stopped_because(self) -> str | None:
        return self.session.stopped_because

    def run(self, run_id: str, on_progress: Callable[[Progress], None] | None) -> dict[str, Any]:
        run_input: dict[str, Any] = {"params": self.request.params}
        if self.request.logical_date:
            run_input["logical_date"] = self.request.logical_date
        started = time.monotonic()
        with self.session.active():
            arn = self.session.start_execution(self.request.pipeline.name, run_id, run_input)
            self._until_done(arn, started, on_progress)
        return self._result(arn, time.monotonic() - started)

    def _until_done(self, arn: str, started: float, on_progress: Callable[[Progress], None] | None) -> None:
        root, last_progress, ended = self.pump.executions[arn], 0.0, False
        give_up: float | None = None  # once stopped: when to stop waiting for moto
        while True:
            try:
                moved = self.pump.tick()
                now = time.monotonic()
                if on_progress is not None and now - last_progress >= PROGRESS_EVERY:
                    on_progress(self.progress(arn, now - started, root.status or "RUNNING"))
                    last_progress = now
                if root.status not in (None, "RUNNING"):
                    if not ended:  # the run ended: stop what still runs (the sweeper's job in the cloud)
                        self._close_open(f"the run ended {root.status}", answer=False)
                        ended = True
                    if not self.pump.busy():
                        break
                elif now - started > self.request.timeout and self.stopped_because is None:
                    self._stop(arn, f"the local run took longer than --timeout {self.request.timeout:g} s")
                if self.stopped_because is not None:
                    give_up = give_up or now + STOP_GRACE
                    if now > give_up:
                        break
                if not moved:
                    time.sleep(IDLE_SLEEP)
            except KeyboardInterrupt:
                if self.stopped_because is not None:
                    raise  # a second Ctrl-C: leave at once
                self._stop(arn, "interrupted (Ctrl-C)")
        if on_progress is not None:
            on_progress(self.progress(arn, time.monotonic() - started, root.status or "RUNNING"))

    def _stop(self, arn: str, why: str) -> None:
        """Stop the run as StopExecution would, with its jobs and child runs (and no thread left sleeping)."""
        self.session.stopped_because = why
        for _ in range(100):  # moto cannot stop an execution whose worker has not set up yet
            try:
                self.clients("stepfunctions").stop_execution(executionArn=arn, error=STOPPED_ERROR, cause=why)
                break
            except AttributeError:
                time.sleep(0.02)
        end_retry_waits()  # moto ends a stopped execution only once its sleeping retry wakes ...
        self._close_open("the run was stopped", answer=True)  # ... and a waiting task once its token is answered

    def _close_open(self, reason: str, *, answer: bool) -> None:
        """What the sweeper does for an execution that is no longer running: every attempt still open is closed
        STOPPED and its job (or child run) stopped. `answer`: also fail the task token, which moto's interpreter
        keeps waiting on after StopExecution (Step Functions would not)."""
        from functions.adapters.tokens import TokenGoneError

        with self.session.container:
            for attempt in list(self.runtime.store.active("9999")):
                self.runtime.dispatcher.close(attempt, "STOPPED", reason)
                if answer:
                    with contextlib.suppress(TokenGoneError):
                        self.runtime.tokens.fail(attempt.token, STOPPED_ERROR, reason)
        self.pump.stop_all(reason)  # jobs the store has not recorded as started yet

    def progress(self, arn: str, elapsed: float, status: str) -> Progress:
        view = self.observing.load(arn)
        tasks: dict[str, dict[str, Any]] = {}
        now = utc_now()  # the stored times' own form
        for attempt in sorted(view.attempts, key=lambda a: a.started_at):
            entry = tasks.setdefault(attempt.task, {"status": "RUNNING", "attempts": 0, "started": attempt.started_at})
            entry["attempts"] += 1
            entry["ended"] = attempt.ended_at or now
        for name, record in view.ledger.tasks.items():
            tasks.setdefault(name, {"attempts": 0, "started": None})["status"] = record.status
        return Progress(elapsed, status, tasks)

    def _result(self, arn: str, wall: float) -> dict[str, Any]:
        from .result import build_result

        sfn = self.clients("stepfunctions")
        histories = {watched: _history(sfn, watched) for watched in self.pump.executions}
        transitions = sum(state_transitions(history) for history in histories.values())
        counts = self.meter.counts(transitions)
        items = self.observing.items(arn)
        execution = sfn.describe_execution(executionArn=arn)
        if self.stopped_because is not None:
            # AWS aborts a stopped execution at once; moto lets its waiting task end first (failed by the stop).
            execution |= {"status": "ABORTED", "error": STOPPED_ERROR, "cause": self.stopped_because}
        return build_result(self.request.pipeline, execution,
                            self.observing.view(arn, items), items, counts | {"events": sum(
                                self.pump.delivered.values())}, _recorded_cost(items) or cost(counts), wall,
                            self.run_dir)


def _recorded_cost(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cost the record function kept on the run: the figure `show` prints and RunCost carries, so the local
    summary and report give the same total (None when the record function could not price the run)."""
    raw = next((item.get("cost") for item in items if item.get("sk") == "RUN"), None)
    try:
        recorded = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return recorded if isinstance(recorded, dict) else None


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


@dataclass
class LambdaContext:
    """What Powertools reads from a Lambda context object (local runs and the tests call the handlers with it)."""

    function_name: str = DISPATCH_FUNCTION
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{DISPATCH_FUNCTION}"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _captured_output(path: Path, *, stdout: bool = True) -> Iterator[None]:
    """The functions' Powertools logs and metrics (EMF) go to a file, as they would go to CloudWatch Logs. With
    `stdout`, everything else printed does too; without, only the metrics' prints are sent there (a server's own
    output, and a caller's in the same process, stay where they were)."""
    from functions.observability import logger

    stream, moto_log = logger.registered_handler, logging.getLogger("moto")
    path.write_text("", encoding="utf-8")
    # Appending: what else writes to the log (a server's report of a failure) is never written over by this stream.
    with path.open("a", encoding="utf-8") as out, warnings.catch_warnings(), contextlib.ExitStack() as stack:
        # Handlers of one process share Powertools' metric buffer: a flush can find another's already sent.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        previous = stream.setStream(out)  # type: ignore[attr-defined]
        moto_handler, propagate = logging.StreamHandler(out), moto_log.propagate
        moto_log.addHandler(moto_handler)  # the interpreter logs every failed state: not for the terminal
        moto_log.propagate = False
        if stdout:
            stack.enter_context(contextlib.redirect_stdout(out))
        else:
            stack.enter_context(_metrics_printed_to(out))
        try:
            yield
        finally:
            moto_log.removeHandler(moto_handler)
            moto_log.propagate = propagate
            stream.setStream(previous if previous is not None else io.StringIO())  # type: ignore[attr-defined]


@contextlib.contextmanager
def _metrics_printed_to(out: Any) -> Iterator[None]:
    """Powertools prints EMF to whatever sys.stdout is at the time; a server in a process that has other output
    (a test's CLI runner) sends the metrics to its log instead, and leaves sys.stdout alone."""
    from aws_lambda_powertools.metrics import base
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch

    from functions import observability

    lock = threading.Lock()

    def printed(*args: Any, **kwargs: Any) -> None:
        with lock:
            print(*args, **kwargs, file=out, flush=True)

    with contextlib.ExitStack() as stack:
        for module in (base, cloudwatch, observability):  # observability.measure prints its own EMF lines
            stack.enter_context(mock.patch.object(module, "print", printed, create=True))
        yield

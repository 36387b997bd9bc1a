"""`sluice local serve`: the run API on one's own machine, over moto, running what it starts as local mode does.

    HTTP client (sluice trigger --local, curl)
      --> http_bridge (127.0.0.1) --proxy event--> run API handler --StartExecution--> moto Step Functions
                                                                                          |
    background thread: the event pump (job ends -> complete, execution status -> record)   | dispatch invokes
                       the sweeper (attempts of ended runs closed), new executions watched <-+-> dispatch handler

Every pipeline of the directory is deployed into one long-lived `Session` (runner.py). Runs started through the
API, by a backfill (the record function starts its next date) or as child runs are found by a hook on the
session's Step Functions client (and, as a safety net, by listing the running executions now and then), and are
pumped like a local run's: jobs end by the scenario's rules. A StopExecution (cancel) is noted by the same hook:
the run's waiting tasks are answered so moto's interpreter ends it, no further state is dispatched, and its end is
delivered ABORTED, as Step Functions reports it. A trigger or resume may name a scenario for its run alone
(run_scenarios.py). On close, the runs still running are stopped and their recorded ends waited for.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from functions.adapters.jobs.base import JobStart
from sluice.compile import BudgetError, compile_pipeline
from sluice.spec import Pipeline

from .http_bridge import BridgeServer, serve
from .run_scenarios import RunScenarios, header_of, refused
from .runner import Session, local_aws, reachable
from .scenario import Scenario, ScenarioError, Script

DEFAULT_PORT = 8377
PRINCIPAL = "arn:aws:iam::123456789012:user/local"  # who local requests are made by (no authentication locally)
IDLE_SLEEP = 0.005  # seconds the background thread rests when nothing moved
SWEEP_EVERY = 2.0  # seconds between sweeps
DISCOVER_EVERY = 1.0  # seconds between looks for executions the hook did not see start
SHUTDOWN_GRACE = 5.0  # seconds running executions get to wind down when the server stops


def servable(pipelines: dict[str, Pipeline]) -> tuple[dict[str, Pipeline], list[str]]:
    """The pipelines a local server can deploy, and why each other one is left out."""
    kept: dict[str, Pipeline] = {}
    left_out: list[str] = []
    for name, pipeline in sorted(pipelines.items()):
        try:
            reachable(pipeline, pipelines)
            compile_pipeline(pipeline)
        except (ValueError, BudgetError) as exc:
            left_out.append(f"{name}: left out: {exc}")
            continue
        kept[name] = pipeline
    return kept, left_out


@dataclass
class LocalServer:
    """The run API on 127.0.0.1 over a long-lived local session. Use it in a `with` (or `start()`/`close()`);
    `serve_forever()` blocks until Ctrl-C."""

    pipelines: dict[str, Pipeline]
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    scenario: Scenario = field(default_factory=Scenario.empty)
    work_dir: Path = Path("build/local")
    retry_wait_cap: float | None = 1.0
    sweep_every: float = SWEEP_EVERY
    scenarios_dir: Path = Path("scenarios")  # where the scenarios a trigger or resume names per run are
    on_error: Callable[[str], None] | None = None  # told of background failures (default: one line on stderr)

    def __post_init__(self) -> None:
        self.scenario.check(None, self.pipelines)
        self.run_scenarios = RunScenarios(self.scenarios_dir, self.scenario, self.pipelines)
        self.run_dir = self.work_dir / f"serve-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        self.session: Session | None = None
        self.bridge: BridgeServer | None = None
        self._stack = contextlib.ExitStack()
        self._halt = threading.Event()
        self._ticker: threading.Thread | None = None
        self._to_close: list[str] = []  # stopped executions whose waiting tasks are still to be answered
        self._pending = threading.Lock()
        self._next_sweep = self._next_discover = 0.0
        self.stopped_runs: dict[str, str | None] = {}  # run id -> its recorded status, of the runs stopped on close

    # ---- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.bridge is not None, "the server is not started"
        return self.bridge.url

    @property
    def log(self) -> Path:
        return self.run_dir / "functions.log"

    def start(self) -> LocalServer:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self) -> None:
        from functions.api import service
        from functions.api.catalog import Catalog
        from functions.api.handler import handler as api_handler

        stack = self._stack
        stack.enter_context(local_aws(self.run_dir, self.retry_wait_cap, capture_stdout=False))
        pipelines = list(self.pipelines.values())
        session = self.session = Session(pipelines, self.run_dir, self._script_for)
        session.runtime.sweeper.after_seconds = 0  # every round: the local runs are minutes long, not hours
        stack.enter_context(session.active())
        self._hook(session)
        service.use(service.Api(session.runtime, Catalog(pipelines=dict(self.pipelines))))
        stack.callback(service.use, None)

        def api(event: dict[str, Any], context: Any) -> Any:
            name, scenario = header_of(event), None
            if name is not None:
                try:
                    scenario = self.run_scenarios.named(name)
                except ScenarioError as exc:
                    return refused("; ".join(str(p) for p in exc.problems) or str(exc))
            with session.invocation("api"), self.run_scenarios.asking(scenario):
                return api_handler(event, context)

        self.bridge = serve(api, host=self.host, port=self.port, principal=PRINCIPAL)
        stack.callback(self.bridge.shutdown)
        stack.callback(self._wind_down)  # runs before the bridge stops: requests still in flight get answers
        self._ticker = threading.Thread(target=self._loop, name="sluice-local-pump", daemon=True)
        self._ticker.start()
        stack.callback(self._stop_ticker)
        self.bridge.start_in_thread()

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Block until Ctrl-C (or the background thread dies)."""
        while self._ticker is not None and self._ticker.is_alive():
            self._halt.wait(0.5)

    # ---- the background thread -----------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                moved = self.tick()
            except Exception as exc:  # one bad round must not stop every later run's events
                self._report(exc)
                moved = False
            if not moved:
                self._halt.wait(IDLE_SLEEP)

    def tick(self) -> bool:
        """One round of background work: stopped runs closed, events delivered, new executions watched, and a sweep
        when one is due. True when something moved."""
        session = self.session
        assert session is not None
        moved = self._close_stopped()
        moved |= session.pump.tick()
        now = time.monotonic()
        if now >= self._next_discover:
            self._next_discover = now + DISCOVER_EVERY
            moved |= self._discover()
        if now >= self._next_sweep:
            self._next_sweep = now + self.sweep_every
            with session.invocation("sweep"):
                report = session.runtime.sweeper.sweep()
            moved |= bool(report.stopped or report.completed or report.lost)
        return moved

    def _stop_ticker(self) -> None:
        self._halt.set()
        if self._ticker is not None:
            self._ticker.join(timeout=10)

    def _report(self, exc: BaseException) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            out.write("".join(traceback.format_exception(exc)))
        message = f"sluice local serve: background work failed: {type(exc).__name__}: {exc} (details: {self.log})"
        (self.on_error or (lambda text: print(text, file=sys.stderr, flush=True)))(message)

    # ---- what the hook and the loop do ---------------------------------------------------------------------------

    def _script_for(self, start: JobStart) -> Script:
        # Each run is its own root: "TASK" scripts that task in whichever pipeline runs, "PIPELINE.TASK" one. A run
        # started with a scenario of its own (or a child run of one) is scripted by that scenario alone.
        scenario = self.run_scenarios.of(start.execution_id)
        return scenario.script(start.pipeline, self.pipelines[start.pipeline], start.task)

    def _hook(self, session: Session) -> None:
        """Watch every execution the session's Step Functions client starts (API, backfill, child runs), and
        note every one it stops (cancel, a parent's cancel reaching its child run)."""
        events = session.clients("stepfunctions").meta.events

        def starting(params: dict[str, Any], **_: Any) -> None:
            self.run_scenarios.starting(params)

        def started(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
            if getattr(http_response, "status_code", 500) < 300 and parsed.get("executionArn"):
                session.pump.watch(parsed["executionArn"])

        def stopping(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["sluice_stop"] = (params.get("executionArn"), params.get("error") or "",
                                      params.get("cause") or "")

        def stopped(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            arn, error, cause = context.get("sluice_stop") or (None, "", "")
            if arn and getattr(http_response, "status_code", 500) < 300:
                self.note_stop(arn, error, cause)

        events.register("before-parameter-build.sfn.StartExecution", starting)
        events.register("after-call.sfn.StartExecution", started)
        events.register("before-parameter-build.sfn.StopExecution", stopping)
        events.register("after-call.sfn.StopExecution", stopped)

    def note_stop(self, arn: str, error: str, cause: str) -> None:
        """StopExecution succeeded: dispatch nothing more for it, and report its end ABORTED."""
        session = self.session
        assert session is not None
        session.stopped[arn] = cause or error or "the execution was stopped"
        session.pump.aborted[arn] = (error, cause)
        session.pump.watch(arn)
        with self._pending:
            self._to_close.append(arn)

    def _close_stopped(self) -> bool:
        """What Step Functions does at once for a stopped execution and moto's interpreter does not: end its open
        attempts and their jobs, and answer the tasks it waits on (moto ends the execution only then)."""
        from functions.adapters.tokens import TokenGoneError

        session = self.session
        assert session is not None
        with self._pending:
            arns, self._to_close = self._to_close, []
        for arn in arns:
            reason = session.stopped.get(arn, "the execution was stopped")
            error = session.pump.aborted.get(arn, ("Sluice.Stopped", ""))[0] or "Sluice.Stopped"
            with session.invocation("sweep"):
                for attempt in session.runtime.store.load(arn).attempts:
                    if not attempt.ended:
                        session.runtime.dispatcher.close(attempt, "STOPPED", reason)
                    with contextlib.suppress(TokenGoneError):
                        session.runtime.tokens.fail(attempt.token, error, reason)
            session.pump.stop_all(reason, arn)
        return bool(arns)

    def _discover(self) -> bool:
        session = self.session
        assert session is not None
        sfn, found = session.clients("stepfunctions"), False
        for machine in session.machines.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine,
                                                                      statusFilter="RUNNING"):
                for execution in page["executions"]:
                    found |= session.pump.watch(execution["executionArn"])
        return found

    def _wind_down(self) -> None:
        """Stop every execution still running (and its jobs), wait for their ends to be recorded, and for moto's
        execution threads to end, so none outlives moto. `stopped_runs` then says how each was recorded."""
        from moto.stepfunctions.parser.utils import TMP_THREADS

        from .moto_quirks import end_retry_waits

        session = self.session
        if session is None:
            return
        sfn = session.clients("stepfunctions")
        running = [w.arn for w in list(session.pump.executions.values()) if w.status in (None, "RUNNING")]
        for arn in running:
            with contextlib.suppress(Exception):
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=arn, error="Sluice.LocalStop", cause="the local server stopped")
        end_retry_waits()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while running and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                self.tick()
            if all(self._recorded(arn) not in (None, "RUNNING") for arn in running):
                break
            time.sleep(0.02)
        for thread in list(TMP_THREADS):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.stopped_runs = {_run_id(arn): self._recorded(arn) for arn in running}

    def _recorded(self, arn: str) -> str | None:
        """The run's status as the record function stored it (None: nothing recorded yet)."""
        session = self.session
        assert session is not None
        try:
            items = session.observing.items(arn)
        except Exception:  # the table went with moto: nothing to say
            return None
        return next((str(i.get("status")) for i in items if i.get("sk") == "RUN" and i.get("status")), None)


def _run_id(arn: str) -> str:
    """arn:...:execution:sluice-<pipeline>:<name> -> <pipeline>:<name>, as the run API names runs."""
    machine, name = arn.split(":")[-2:]
    return f"{machine.removeprefix('sluice-')}:{name}"

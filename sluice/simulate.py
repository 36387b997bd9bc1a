"""Discrete-event simulation of a compiled definition: when each task starts and ends, and what it costs.

It interprets the ASL the compiler emitted (not the pipeline spec), with the dispatcher's documented
behaviour (gates, trigger rules, foreach, fail/skip/finalize) over an in-memory Ledger. Lambda calls take no
time, so with every task succeeding the makespan is exactly what the state machine's shape allows.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import asl_eval
from .contract import DispatchRequest
from .ledger import Ledger

Proc = Generator[tuple[str, Any], Any, Any]


class StateError(Exception):
    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


@dataclass
class Behaviour:
    """How a task's job behaves: its duration and how many attempts fail before one succeeds."""

    duration: float = 1.0
    failures: int = 0
    message: str = "scripted failure"


@dataclass
class Result:
    status: str
    error: str | None
    cause: str | None
    makespan: float
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    transitions: int = 0
    dispatches: int = 0
    ledger: Ledger = field(default_factory=Ledger)


class Simulation:
    def __init__(self, definition: Mapping[str, Any], behaviours: Mapping[str, Behaviour] | None = None,
                 run_input: Mapping[str, Any] | None = None, default: Behaviour | None = None) -> None:
        self.definition = definition
        self.behaviours = dict(behaviours or {})
        self.default = default or Behaviour()
        self.input = dict(run_input or {})
        self.ledger = Ledger()
        self.now = 0.0
        self.result = Result("RUNNING", None, None, 0.0, ledger=self.ledger)
        self._queue: list[tuple[float, int, Proc, Any]] = []
        self._seq = itertools.count()
        self._waiting: list[tuple[list[str], Proc]] = []
        self._joins: dict[int, dict[str, Any]] = {}
        self._parent: dict[int, tuple[int, int]] = {}

    def run(self) -> Result:
        context = {"Execution": {"Id": "arn:sim:execution:run", "Name": "run", "StartTime": "2026-01-01T00:00:00Z"}}
        main = self._states(self.definition, dict(self.input), context)
        outcome: dict[str, Any] = {}
        self._spawn(self._root(main, outcome), None)
        while self._queue:
            self.now, _, proc, value = heapq.heappop(self._queue)
            self._step(proc, value)
        if not outcome:
            raise RuntimeError(f"simulation deadlocked: waiting on {[w for w, _ in self._waiting]}")
        self.result.makespan = max(self.result.ended.values(), default=0.0)
        return self.result

    def _root(self, main: Proc, outcome: dict[str, Any]) -> Proc:
        try:
            yield from main
            outcome.update(status="SUCCEEDED")
            self.result.status = "SUCCEEDED"
        except StateError as exc:
            outcome.update(status="FAILED")
            self.result.status, self.result.error, self.result.cause = "FAILED", exc.error, exc.cause

    # scheduler ----------------------------------------------------------------------------------------------
    def _spawn(self, proc: Proc, parent: tuple[int, int] | None) -> None:
        if parent:
            self._parent[id(proc)] = parent
        heapq.heappush(self._queue, (self.now, next(self._seq), proc, None))

    def _step(self, proc: Proc, value: Any) -> None:
        try:
            command, arg = proc.send(value) if not isinstance(value, _Raise) else proc.throw(value.exc)
        except StopIteration as stop:
            self._done(proc, stop.value, None)
        except StateError as exc:
            self._done(proc, None, exc)
        else:
            if command == "delay":
                heapq.heappush(self._queue, (self.now + arg, next(self._seq), proc, None))
            elif command == "gate":
                self._waiting.append((arg, proc))
            elif command == "join":
                self._joins[id(proc)] = {"proc": proc, "left": len(arg), "results": [None] * len(arg), "error": None}
                for i, child in enumerate(arg):
                    self._spawn(child, (id(proc), i))
                if not arg:
                    heapq.heappush(self._queue, (self.now, next(self._seq), proc, []))
        self._release()

    def _done(self, proc: Proc, value: Any, error: StateError | None) -> None:
        parent = self._parent.pop(id(proc), None)
        if parent is None:
            return
        join = self._joins[parent[0]]
        join["results"][parent[1]] = value
        join["error"] = join["error"] or error
        join["left"] -= 1
        if join["left"] == 0:
            del self._joins[parent[0]]
            resume = _Raise(join["error"]) if join["error"] else join["results"]
            heapq.heappush(self._queue, (self.now, next(self._seq), join["proc"], resume))

    def _release(self) -> None:
        still = []
        for names, proc in self._waiting:
            if all(self.ledger.ended(n) for n in names):
                heapq.heappush(self._queue, (self.now, next(self._seq), proc, None))
            else:
                still.append((names, proc))
        self._waiting = still

    # interpreter --------------------------------------------------------------------------------------------
    def _states(self, machine: Mapping[str, Any], data: Any, context: dict[str, Any]) -> Proc:
        name = machine["StartAt"]
        states = machine["States"]
        while True:
            state = states[name]
            self.result.transitions += 1
            kind = state["Type"]
            if kind == "Succeed":
                return asl_eval.get(state.get("OutputPath", "$"), data, context)
            if kind == "Fail":
                raise StateError(asl_eval.get(state["ErrorPath"], data, context),
                                 asl_eval.get(state["CausePath"], data, context))
            if kind == "Choice":
                name = next((c["Next"] for c in state["Choices"] if asl_eval.choice_matches(c, data, context)),
                            state.get("Default"))
                data = asl_eval.get(state.get("OutputPath", "$"), data, context)
                continue
            try:
                data = yield from self._run_state(state, data, context)
            except StateError as exc:
                catch = next((c for c in state.get("Catch", []) if _matches(c, exc.error)), None)
                if catch is None:
                    raise
                data = asl_eval.put(data, catch.get("ResultPath", "$"), {"Error": exc.error, "Cause": exc.cause})
                name = catch["Next"]
                continue
            if state.get("End"):
                return data
            name = state["Next"]

    def _run_state(self, state: Mapping[str, Any], data: Any, context: dict[str, Any]) -> Proc:
        kind = state["Type"]
        if kind == "Pass":
            result = asl_eval.evaluate(state["Parameters"], data, context) if "Parameters" in state else data
            return asl_eval.put(data, state.get("ResultPath", "$"), result)
        if kind == "Parallel":
            branches = [self._states(b, data, context) for b in state["Branches"]]
            results = yield ("join", branches)
            return asl_eval.put(data, state.get("ResultPath", "$"), results)
        if kind == "Map":
            return (yield from self._map(state, data, context))
        if kind == "Task":
            return (yield from self._task(state, data, context))
        raise ValueError(f"unsupported state type {kind}")

    def _map(self, state: Mapping[str, Any], data: Any, context: dict[str, Any]) -> Proc:
        items = asl_eval.get(state["ItemsPath"], data, context)
        todo = list(enumerate(items))
        results: list[Any] = [None] * len(items)

        def worker() -> Proc:
            while todo:
                index, item = todo.pop(0)
                ctx = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
                item_input = asl_eval.evaluate(state["ItemSelector"], data, ctx)
                results[index] = yield from self._states(state["ItemProcessor"], item_input, ctx)

        workers = [worker() for _ in range(min(state.get("MaxConcurrency") or len(items), len(items)))]
        yield ("join", workers)
        return asl_eval.put(data, state.get("ResultPath", "$"), results)

    def _task(self, state: Mapping[str, Any], data: Any, context: dict[str, Any]) -> Proc:
        retries: dict[int, int] = {}
        while True:
            ctx = {**context, "State": {"RetryCount": sum(retries.values()), "EnteredTime": f"t+{self.now:g}s"},
                   "Task": {"Token": "token"}}  # nosec B105  # the simulated task token placeholder, not a secret
            params = asl_eval.evaluate(state["Parameters"], data, ctx)
            try:
                result = yield from self._dispatch(params["Payload"], state.get("TimeoutSeconds"))
                break
            except StateError as exc:
                rule = next(((i, r) for i, r in enumerate(state.get("Retry", [])) if _matches(r, exc.error)), None)
                if rule is None or retries.get(rule[0], 0) >= rule[1].get("MaxAttempts", 3):
                    raise
                i, r = rule
                wait = r.get("IntervalSeconds", 1) * r.get("BackoffRate", 2.0) ** retries.get(i, 0)
                retries[i] = retries.get(i, 0) + 1
                self.result.transitions += 1
                yield ("delay", min(wait, r.get("MaxDelaySeconds", wait)))
        if not state["Resource"].endswith(".waitForTaskToken"):
            result = {"Payload": result}
        if "ResultSelector" in state:
            result = asl_eval.evaluate(state["ResultSelector"], result, ctx)
        return asl_eval.put(data, state.get("ResultPath", "$"), result)

    def _dispatch(self, payload: dict[str, Any], timeout: float | None) -> Proc:
        """The stand-in dispatcher: the behaviour DispatchRequest documents, over the in-memory ledger."""
        self.result.dispatches += 1
        req = DispatchRequest.model_validate(payload)
        if req.wait_for:
            yield ("gate", req.wait_for)
        settled = self.ledger.settle(req)
        if settled.error:
            raise StateError(*settled.error)
        if not settled.start_job:
            if req.task and req.item_index is None and req.action != "fail" and self.ledger.ended(req.task):
                # decided without running (skipped, upstream failed): it starts and ends now
                self.result.started.setdefault(req.task, self.now)
                self.result.ended.setdefault(req.task, self.now)
            return settled.output
        return (yield from self._job(req, timeout))

    def _job(self, req: DispatchRequest, timeout: float | None) -> Proc:
        task = req.task
        assert task is not None
        behaviour = self.behaviours.get(task, self.default)
        attempt = req.attempt + 1
        self.result.started.setdefault(task, self.now)
        if timeout is not None and behaviour.duration > timeout:
            yield ("delay", timeout)
            self.ledger.job_ended(req, succeeded=False)
            raise StateError("States.Timeout", f"attempt {attempt} took longer than {timeout}s")
        yield ("delay", behaviour.duration)
        succeeded = attempt > behaviour.failures
        self.ledger.job_ended(req, succeeded=succeeded)
        if not succeeded:
            raise StateError("Sluice.TaskFailed", f"{behaviour.message} (attempt {attempt})")
        self.result.ended[task] = max(self.result.ended.get(task, 0.0), self.now)
        return {"status": "SUCCEEDED"}


class _Raise:
    def __init__(self, exc: StateError) -> None:
        self.exc = exc


def _matches(rule: Mapping[str, Any], error: str) -> bool:
    return error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]


def simulate(definition: Mapping[str, Any], durations: Mapping[str, float] | None = None,
             failures: Mapping[str, int] | None = None, params: Mapping[str, Any] | None = None) -> Result:
    """Convenience: durations and failure counts per task name."""
    names = set(durations or {}) | set(failures or {})
    behaviours = {n: Behaviour((durations or {}).get(n, 1.0), (failures or {}).get(n, 0)) for n in names}
    return Simulation(definition, behaviours, {"params": dict(params or {})}).run()

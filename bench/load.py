"""Load on the runtime, in one process on moto (issue 8): concurrent run starts and bursts of completion events.

1. **Starts**: N ``POST /pipelines/<name>/runs`` through the run API's Lambda handler, from a thread pool, with a
   share of them repeating an earlier request's Idempotency-Key (same body), sent close behind it so that many are
   in flight together. Step Functions only records executions (moto's ``execute_state_machine: False``). Then each
   execution's RUNNING event goes to the record function. Checked: one execution and one run item per key, every
   answer a 201 (or a 409 "in progress" for a duplicate in flight, whose retry answers the same run), duplicates
   answer the first one's run id.
2. **Completions**: E/2 attempts created by the real dispatcher (fake job service), then E job end events delivered
   to the completion service from a thread pool, in bursts: the first end of every attempt, and as many duplicates
   (the same event again, the same end under another event id, and a conflicting status delivered after the
   first). Checked: every attempt ended once with its first delivered status, one token answer per attempt (the
   fake tokens refuse a second answer, as Step Functions does), nothing left active.

How the harness stands in for AWS (each point is about the harness, not about Sluice):

* moto is not thread-safe: two requests handled at once can both pass a DynamoDB condition. Each AWS API call is
  made atomic (one lock around moto's request processing), as every call is on AWS; the code under test (the
  handler, Powertools, botocore) runs concurrently.
* Lambda runs one invocation per execution environment at a time; Powertools' REST resolver keeps the current
  event on its class. The threads get their own resolver state (event, context, route context), which is what
  N environments have. Powertools' shared metric buffer is replaced by a counter for the same reason.
* Logs below ERROR and the EMF lines printed to stdout are dropped during the loads.

    .venv/bin/python bench/load.py                            # 500 starts, 2,000 events
    .venv/bin/python bench/load.py --starts 2000 --events 8000 --workers 32
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if __name__ == "__main__":  # fake credentials: nothing here may reach AWS (the tests' conftest sets its own)
    for _key, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                         "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
                         "AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}.items():
        os.environ[_key] = _value

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from functions import observability  # noqa: E402
from functions.adapters.clock import iso_utc, utc_now  # noqa: E402
from functions.api import service  # noqa: E402
from functions.api.app import app  # noqa: E402
from functions.api.catalog import Catalog  # noqa: E402
from functions.api.handler import handler  # noqa: E402
from functions.events.types import ExecutionEvent, JobEvent  # noqa: E402
from functions.runtime.records import Attempt, attempt_key  # noqa: E402
from functions.runtime.wiring import Runtime  # noqa: E402
from functions.settings import Settings  # noqa: E402
from sluice.compile import compile_pipeline  # noqa: E402
from sluice.local.http_bridge import LocalLambdaContext, proxy_event  # noqa: E402
from sluice.local.moto_quirks import one_call_at_a_time  # noqa: E402
from sluice.run_store_schema import create_table_request  # noqa: E402
from tests.support.pipelines import examples  # noqa: E402
from tests.support.runtime import FakeJobs, FakeTokens, request  # noqa: E402

REGION = "eu-west-1"
TABLE = "sluice-runs"
PREFIX = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-"
WHO = "arn:aws:iam::123456789012:user/load"
# Step Functions records executions and runs none of them: the load is on the API and the run store.
LOAD_CONFIG = {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": False}}
ENDS = ("SUCCEEDED", "FAILED")


def client(name: str) -> Any:
    return boto3.client(name, region_name=REGION)


class LockedTokens(FakeTokens):
    """FakeTokens whose check-and-answer is atomic, as Step Functions' is: a token is answered once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def _answer(self, token: str, how: str, value: Any) -> None:
        with self._lock:
            super()._answer(token, how, value)


# ---- the harness -------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def resolver_per_thread() -> Iterator[None]:
    """Each thread its own current event, Lambda context and route context in the API's resolver (on Lambda, one
    invocation per environment at a time; Powertools keeps them on the resolver's class and instance)."""
    local = threading.local()
    cls = type(app)
    original_resolve = cls.resolve

    def slot(name: str, default: Callable[[], Any]) -> property:
        def get(self: Any) -> Any:
            if not hasattr(local, name):
                setattr(local, name, default())
            return getattr(local, name)

        def put(self: Any, value: Any) -> None:
            setattr(local, name, value)

        return property(get, put)

    def resolve(self: Any, event: Any, context: Any) -> Any:
        local.current_event, local.lambda_context, local.context = self._to_proxy_event(event), context, {}
        return original_resolve(self, event, context)

    saved = {name: cls.__dict__[name] for name in ("current_event", "lambda_context", "context")
             if name in cls.__dict__}
    cls.current_event = slot("current_event", lambda: None)  # type: ignore[assignment]
    cls.lambda_context = slot("lambda_context", lambda: None)  # type: ignore[assignment]
    cls.context = slot("context", dict)  # type: ignore[assignment]
    cls.resolve = resolve  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in ("current_event", "lambda_context", "context"):
            if name in saved:
                setattr(cls, name, saved[name])
            else:
                delattr(cls, name)
        cls.resolve = original_resolve  # type: ignore[method-assign]


@contextlib.contextmanager
def quiet() -> Iterator[collections.Counter[str]]:
    """No INFO logs, no EMF on stdout, and Powertools' metric buffer replaced by a thread-safe counter (returned)."""
    counted: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def add_metric(name: str, unit: Any, value: float, **_: Any) -> None:
        with lock:
            counted[name] += int(value)

    level = observability.logger.log_level
    observability.logger.setLevel("ERROR")
    observability.metrics.add_metric = add_metric  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield counted
    finally:
        del observability.metrics.add_metric
        observability.logger.setLevel(level)


@contextlib.contextmanager
def load_cloud(*, api: bool = True) -> Iterator[Runtime]:
    """moto (executions recorded, not run), the run store table, a Runtime with fake jobs and tokens, and (`api`)
    the example pipelines' state machines and the run API's services installed."""
    with mock_aws(config=LOAD_CONFIG), one_call_at_a_time(), quiet(), resolver_per_thread():
        client("dynamodb").create_table(**create_table_request(TABLE))
        rt = Runtime(Settings(table_name=TABLE, state_machine_arn_prefix=PREFIX), clients=client,
                     jobs_override={"fake": FakeJobs()}, tokens_override=LockedTokens())
        pipelines = examples() if api else {}
        role = "arn:aws:iam::123456789012:role/sfn"
        dispatch = "arn:aws:lambda:eu-west-1:123456789012:function:sluice-dispatch"
        for name, pipeline in pipelines.items():
            definition = json.dumps(compile_pipeline(pipeline).definition)
            client("stepfunctions").create_state_machine(
                name=f"sluice-{name}", roleArn=role, definition=definition.replace("${DispatchFunctionArn}", dispatch))
        api = service.Api(rt, Catalog(pipelines=pipelines))
        # Built once before the threads start (a container's cold start does it once too).
        for warm in (rt.store, rt.runs, rt.starts, rt.recorder, rt.dispatcher, rt.completer, api.runs,
                     api._start_once):
            assert warm is not None
        service.use(api)
        try:
            yield rt
        finally:
            service.use(None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else 0.0


# ---- 1. run starts -----------------------------------------------------------------------------------------------

@dataclass
class StartLoad:
    requests: int
    keys: int
    workers: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    retried: int = 0  # 409 "in progress" answers repeated after the burst
    executions: int = 0
    recorded: int = 0
    record_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def row(self) -> dict[str, str]:
        answers = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return {"load": "starts", "sent": f"{self.requests:,}", "distinct": f"{self.keys:,} keys",
                "threads": str(self.workers), "burst s": f"{self.wall_s:.2f}", "per s": f"{self.per_s:.0f}",
                "p50 ms": f"{percentile(self.latencies_ms, .5):.1f}",
                "p95 ms": f"{percentile(self.latencies_ms, .95):.1f}",
                "answers": f"{answers} ({self.retried} retried)",
                "end state": f"{self.executions:,} executions, {self.recorded:,} run items "
                             f"(record {self.record_s:.1f} s)",
                "problems": str(len(self.problems))}


def start_plan(requests: int, duplicate_share: float, pipelines: list[str], seed: int) -> list[tuple[str, str]]:
    """(pipeline, key) per request, in sending order: each duplicate a few requests behind an earlier one."""
    rng = random.Random(seed)
    duplicates = round(requests * duplicate_share)
    order: list[tuple[str, str]] = [(pipelines[i % len(pipelines)], f"load-{i:05d}")
                                    for i in range(requests - duplicates)]
    for _ in range(duplicates):
        at = rng.randrange(len(order))
        order.insert(min(len(order), at + 1 + rng.randrange(8)), order[at])
    return order


def start_load(rt: Runtime, requests: int = 500, *, duplicate_share: float = 0.2, workers: int = 8,
               seed: int = 8) -> StartLoad:
    pipelines = sorted(examples())
    plan = start_plan(requests, duplicate_share, pipelines, seed)
    result = StartLoad(requests=len(plan), keys=len(set(plan)), workers=workers)

    def body(key: str) -> dict[str, Any]:
        return {"reason": f"load {key}"}  # differs per key: a request answered with another's run shows

    def post(pipeline: str, key: str) -> tuple[int, dict[str, Any], float]:
        event = proxy_event("POST", f"/pipelines/{pipeline}/runs", {},
                            {"Content-Type": "application/json", "Idempotency-Key": key},
                            json.dumps(body(key)).encode(), principal=WHO)
        began = time.perf_counter()
        try:
            response = handler(event, LocalLambdaContext())
        except Exception as exc:
            return 0, {"detail": f"{type(exc).__name__}: {exc}"}, (time.perf_counter() - began) * 1000
        took = (time.perf_counter() - began) * 1000
        return response["statusCode"], json.loads(response.get("body") or "{}"), took

    began = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(lambda item: post(*item), plan))
    result.wall_s = time.perf_counter() - began

    ids: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    first: dict[tuple[str, str], str] = {}
    busy: list[tuple[str, str]] = []
    for (pipeline, key), (status, answer, took) in zip(plan, answers, strict=True):
        result.latencies_ms.append(took)
        result.statuses[str(status)] += 1
        if status == 201:
            ids[pipeline, key].add(answer["id"])
            first.setdefault((pipeline, key), answer["id"])
        elif status == 409 and "in progress" in answer.get("detail", ""):
            busy.append((pipeline, key))
        else:
            result.problems.append(f"{pipeline} {key}: {status} {answer.get('detail') or answer}")
        if status == 201 and answer.get("run_id") and f"load {key}" != (answer.get("trigger") or {}).get("reason"):
            result.problems.append(f"{pipeline} {key}: answered with another request's run {answer['id']}")
    for pipeline, key in busy:  # the client's retry of a 409 "in progress"
        result.retried += 1
        status, answer, _ = post(pipeline, key)
        if status != 201:
            result.problems.append(f"{pipeline} {key}: retry after 409 answered {status} {answer.get('detail')}")
        else:
            ids[pipeline, key].add(answer["id"])
            first.setdefault((pipeline, key), answer["id"])
    for (pipeline, key), found in ids.items():
        if len(found) != 1:
            result.problems.append(f"{pipeline} {key}: {len(found)} run ids {sorted(found)}")
    if len(first) != result.keys:
        result.problems.append(f"{result.keys - len(first)} keys have no run id")

    # Step Functions' own view: one execution per key, named by the key.
    sfn = client("stepfunctions")
    executions = []
    for pipeline in pipelines:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=f"{PREFIX}{pipeline}"):
            executions += [(pipeline, e) for e in page["executions"]]
    result.executions = len({e["executionArn"] for _, e in executions})
    if result.executions != result.keys:
        result.problems.append(f"{result.executions} executions for {result.keys} idempotency keys")
    if sorted(f"{p}:{e['name']}" for p, e in executions) != sorted(first.values()):
        result.problems.append("the executions are not the runs the API answered")

    # Every run recorded: the RUNNING event of each execution, as EventBridge delivers it to record_run.
    def record(arn: str) -> str:
        described = sfn.describe_execution(executionArn=arn)
        return rt.recorder.on_event(ExecutionEvent(
            execution_arn=arn, state_machine_arn=described["stateMachineArn"], name=described["name"],
            status="RUNNING", time=iso_utc(described["startDate"]), start_date=iso_utc(described["startDate"]),
            input=json.loads(described["input"])))

    began = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        recorded = list(pool.map(record, [e["executionArn"] for _, e in executions]))
    result.record_s = time.perf_counter() - began
    if any(outcome != "run RUNNING" for outcome in recorded):
        result.problems.append(f"record answered {collections.Counter(recorded)}")
    stored = []
    for pipeline in pipelines:
        stored += [(pipeline, item) for item in rt.runs.started_between(pipeline, "0", "9999")]
    result.recorded = len(stored)
    if sorted(f"{p}:{item['run_id']}" for p, item in stored) != sorted(first.values()):
        result.problems.append(f"{len(stored)} run items (by_pipeline) for {len(first)} runs, or not the same runs")
    return result


# ---- 2. completion events ----------------------------------------------------------------------------------------

@dataclass
class CompletionLoad:
    attempts: int
    events: int
    bursts: int
    workers: int
    runs: int
    setup_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s else 0.0

    def row(self) -> dict[str, str]:
        outcomes: collections.Counter[str] = collections.Counter()
        for name, n in self.outcomes.items():
            outcomes["ended" if name.startswith("attempt ") else name.split(":")[0]] += n
        return {"load": "complete", "sent": f"{self.events:,}", "distinct": f"{self.attempts:,} attempts",
                "threads": str(self.workers), "burst s": f"{self.wall_s:.2f}", "per s": f"{self.per_s:.0f}",
                "p50 ms": f"{percentile(self.latencies_ms, .5):.1f}",
                "p95 ms": f"{percentile(self.latencies_ms, .95):.1f}",
                "answers": " ".join(f"{k}:{v}" for k, v in sorted(outcomes.items())),
                "end state": f"{self.bursts} bursts, {self.runs} runs (set-up {self.setup_s:.1f} s)",
                "problems": str(len(self.problems))}


def table(rows: list[dict[str, str]]) -> str:
    names = list(rows[0])
    widths = {n: max(len(n), *(len(r[n]) for r in rows)) for n in names}
    lines = ["  ".join(n.ljust(widths[n]) for n in names), "  ".join("-" * widths[n] for n in names)]
    lines += ["  ".join(r[n].ljust(widths[n]) for n in names) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


@dataclass(frozen=True)
class Delivery:
    attempt: int
    event_id: str
    status: str
    burst: int
    kind: str  # first, redelivery (same event id), same_end (other id, same status), conflict (other status)


def completion_plan(attempts: int, events: int, bursts: int, seed: int) -> tuple[list[str], list[Delivery]]:
    """The first status of each attempt, and every delivery. An attempt's first end comes in one of the first
    bursts-1 bursts, its redeliveries and other events for the same end in that burst or later (so some race the
    first), and a conflicting status always in a later burst than the first (so the first is known)."""
    rng = random.Random(seed)
    firsts = ["SUCCEEDED" if rng.random() < 0.7 else "FAILED" for _ in range(attempts)]
    first_burst = [a % max(1, bursts - 1) for a in range(attempts)]
    deliveries = [Delivery(a, f"evt-{a}", firsts[a], first_burst[a], "first") for a in range(attempts)]
    for n in range(events - attempts):
        a = rng.randrange(attempts)
        roll, b = rng.random(), first_burst[a]
        if roll < 0.4:
            deliveries.append(Delivery(a, f"evt-{a}", firsts[a], rng.randint(b, bursts - 1), "redelivery"))
        elif roll < 0.7 or b == bursts - 1:
            deliveries.append(Delivery(a, f"evt-{a}-{n}", firsts[a], rng.randint(b, bursts - 1), "same_end"))
        else:
            other = "FAILED" if firsts[a] == "SUCCEEDED" else "SUCCEEDED"
            deliveries.append(Delivery(a, f"evt-{a}-{n}", other, rng.randint(b + 1, bursts - 1), "conflict"))
    rng.shuffle(deliveries)
    return firsts, deliveries


def completion_load(rt: Runtime, events: int = 2000, *, runs: int = 100, bursts: int = 5, workers: int = 8,
                    seed: int = 8, dispatcher: bool = False) -> CompletionLoad:
    attempts = events // 2
    result = CompletionLoad(attempts=attempts, events=events, bursts=bursts, workers=workers, runs=runs)
    firsts, deliveries = completion_plan(attempts, events, bursts, seed)
    result.kinds.update(d.kind for d in deliveries)
    execution = "arn:aws:states:eu-west-1:123456789012:execution:sluice-demo:load-{}"

    # The attempts, as the dispatcher records them: claimed, the (fake) job started, marked RUNNING. By default
    # the dispatcher's three steps are made directly (`_start` without its read of the run); `dispatcher=True`
    # sends each attempt's request through the real Dispatcher.
    began = time.perf_counter()
    where: list[tuple[str, str]] = []  # (run, token) per attempt
    jobs_service = rt.jobs["fake"]
    for a in range(attempts):
        run, run_id, task, token = execution.format(a % runs), f"load-{a % runs}", f"t{a:05d}", f"token-{a}"
        if dispatcher:
            rt.dispatcher.handle(request(task=task, execution_id=run, run_id=run_id, token=token))
        else:
            attempt = Attempt(run=run, task=task, item_index=None, retry=0, key=attempt_key(run, task, None, 0),
                              kind="fake", token=token, pipeline="demo", run_id=run_id, timeout=3600,
                              started_at=utc_now())
            if rt.store.claim(attempt) is None:
                rt.store.mark_running(attempt, jobs_service.start(attempt.job()))
        where.append((run, token))
    result.setup_s = time.perf_counter() - began
    jobs: dict[str, str] = {}  # token -> external id
    for run in sorted({run for run, _ in where}):
        for attempt in rt.store.load(run).attempts:
            if attempt.status != "RUNNING" or not attempt.external_id:
                result.problems.append(f"{attempt.task} of {run} is {attempt.status} before any end event")
            jobs[attempt.token] = str(attempt.external_id)
    if len(jobs) != attempts:
        result.problems.append(f"{len(jobs)} attempts running after {attempts} dispatches")
        return result

    def deliver(d: Delivery) -> tuple[str, float]:
        job = jobs[where[d.attempt][1]]
        event = JobEvent(kind="fake", external_id=job, status=d.status, state=d.status, time=utc_now(),
                         error=None if d.status == "SUCCEEDED" else "exit code 1",
                         exit_code=0 if d.status == "SUCCEEDED" else 1)
        began = time.perf_counter()
        try:
            outcome = rt.completer.on_event(event, d.event_id)
        except Exception as exc:
            outcome = f"exception: {type(exc).__name__}: {exc}"
        return outcome, (time.perf_counter() - began) * 1000

    with ThreadPoolExecutor(workers) as pool:
        for burst in range(bursts):
            batch = [d for d in deliveries if d.burst == burst]
            began = time.perf_counter()
            outcomes = list(pool.map(deliver, batch))
            result.wall_s += time.perf_counter() - began
            for d, (outcome, took) in zip(batch, outcomes, strict=True):
                result.latencies_ms.append(took)
                result.outcomes[outcome] += 1
                if outcome.startswith("exception"):
                    result.problems.append(f"attempt {d.attempt} event {d.event_id} ({d.kind}): {outcome}")

    # Every attempt ended once, with its first status, by one of the events that carried it; one answer each.
    ids_of: dict[int, set[str]] = collections.defaultdict(set)
    for d in deliveries:
        if d.status == firsts[d.attempt]:
            ids_of[d.attempt].add(d.event_id)
    answers: dict[str, list[tuple[str, Any]]] = collections.defaultdict(list)
    for token, how, value in rt.tokens.answers:  # type: ignore[attr-defined]
        if how != "heartbeat":
            answers[token].append((how, value))
    by_token = {a.token: a for run in sorted({run for run, _ in where}) for a in rt.store.load(run).attempts}
    for a, (run, token) in enumerate(where):
        stored = by_token.get(token)
        if stored is None:
            result.problems.append(f"attempt {a} of {run} is gone")
            continue
        ends = [h["status"] for h in stored.history or [] if h.get("status") in (*ENDS, "LOST")]
        if stored.status != firsts[a] or ends != [firsts[a]]:
            result.problems.append(f"attempt {a}: {stored.status} (ends {ends}), first delivered {firsts[a]}")
        if stored.end_event not in ids_of[a]:
            result.problems.append(f"attempt {a}: ended by {stored.end_event}, not an event with {firsts[a]}")
        expected = "success" if firsts[a] == "SUCCEEDED" else "failure"
        if [how for how, _ in answers.get(token, [])] != [expected]:
            result.problems.append(f"attempt {a}: token answers {answers.get(token)}, expected one {expected}")
    active = list(rt.store.active("9999"))
    if active:
        result.problems.append(f"{len(active)} attempts still active: {[x.task for x in active[:5]]}")
    return result


# ---- command -----------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=500, help="run start requests (0: skip)")
    parser.add_argument("--duplicates", type=float, default=0.2, help="share of starts repeating a key")
    parser.add_argument("--events", type=int, default=2000, help="completion events, half of them duplicates (0: skip)")
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100, help="executions the attempts belong to")
    parser.add_argument("--dispatcher", action="store_true",
                        help="create the attempts through the real Dispatcher (slower) instead of its store calls")
    parser.add_argument("--workers", type=int, default=8, help="threads")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--problems", type=int, default=10, help="problems to list per load")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", "No application metrics to publish")  # the API handler's empty flush
    began = time.perf_counter()
    rows, problems = [], []
    if args.starts:
        with load_cloud() as rt:
            starts = start_load(rt, args.starts, duplicate_share=args.duplicates, workers=args.workers,
                                seed=args.seed)
        rows.append(starts.row())
        problems += starts.problems[:args.problems]
    if args.events:
        with load_cloud(api=False) as rt:
            completions = completion_load(rt, args.events, runs=args.runs, bursts=args.bursts, workers=args.workers,
                                          seed=args.seed, dispatcher=args.dispatcher)
        rows.append(completions.row())
        problems += completions.problems[:args.problems]
    print(table(rows))
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; wall {time.perf_counter() - began:.1f} s, "
          f"CPU {time.process_time():.1f} s")
    for problem in problems:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load (issue 8): 500 concurrent run starts with repeated Idempotency-Keys, and 2,000 job end events in bursts
with duplicates (two stores of 1,000), on moto, in one process. The harness (and why it locks moto's request
handling and gives each thread its own Powertools resolver state) is bench/load.py's, which runs the same loads
at other sizes.

Throughput and latencies are printed, never asserted: the machine is shared and moto is the bottleneck.
"""

from __future__ import annotations

import pytest

from bench.load import completion_load, load_cloud, start_load, table

pytestmark = pytest.mark.moto


def show(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n{line}")


def test_concurrent_starts_with_repeated_keys_make_one_recorded_run_per_key(
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN 500 starts from 8 threads, 100 of them repeating an earlier request's key a few requests behind it
    with load_cloud() as rt:
        load = start_load(rt, 500, duplicate_share=0.2, workers=8)
    show(capsys, table([load.row()]))
    # THEN every answer was a 201, or a 409 "in progress" whose retry answered the same run (start_load checks
    # each key's answers, Step Functions' executions and the recorded run items; `problems` lists what differed)
    assert load.problems == []
    assert set(load.statuses) <= {"201", "409"} and load.statuses["409"] == load.retried
    # one execution and one run item per key
    assert (load.keys, load.executions, load.recorded) == (400, 400, 400)


@pytest.mark.parametrize("seed", [8, 9, 10, 11])
def test_bursts_of_duplicate_and_conflicting_end_events_end_every_attempt_once(
        capsys: pytest.CaptureFixture[str], seed: int) -> None:
    # GIVEN 250 running attempts (25 runs), and 500 end events in 5 bursts from 8 threads: each attempt's first
    # end, and 250 more (the same event again, the same end under another id, the other status in a later burst).
    # Four seeds: 2,000 events and 1,000 attempts in all, in four stores (moto's queries scan the whole table, so
    # one store of 1,000 attempts would take ~50 s; `bench/load.py --events 2000` does that)
    with load_cloud(api=False) as rt:
        load = completion_load(rt, 500, runs=25, bursts=5, workers=8, seed=seed)
    show(capsys, table([load.row()]))
    # THEN every attempt ended once, with its first delivered status, its token was answered once accordingly,
    # nothing is left active, and no delivery raised
    assert load.problems == []
    assert set(load.kinds) == {"first", "redelivery", "same_end", "conflict"}
    ended = sum(n for outcome, n in load.outcomes.items() if outcome.startswith("attempt "))
    assert ended >= load.attempts  # a redelivered event (same id) answers again; Step Functions refuses it

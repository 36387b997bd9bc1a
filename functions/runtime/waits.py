"""A wait: a request parked until a condition holds. Its states, transitions and leases (pure: no I/O).

Every hold of a task token is a wait (today: gates, dependencies enforced at dispatch; pools, run queues,
approvals and sensors are further conditions on the same object). docs/runtime.md ("Waits") states the
invariants; `functions/adapters/run_store.py` makes each transition one conditional write:

    PARKED --condition holds: claim (lease)--> CLAIMED --request proceeded (job claimed or token answered)--> DONE
      |  ^                                        |
      |  +------ lease expired: claimed again ----+
      +--execution not RUNNING--> CANCELLED (nobody waits for its token)

DONE and CANCELLED delete the item. A PARKED or CLAIMED wait is in the `active` index, so the sweeper sees it:
it heartbeats the parked token, releases waits whose condition holds (the backstop for a lost release),
finishes claims whose holder died (lease expired) and cancels waits of executions that ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..adapters.clock import seconds_between, shifted

PARKED, CLAIMED = "PARKED", "CLAIMED"
# A holder of a lease is a Lambda invocation: the longest-lived (the sweeper, 240 s at most) is dead after this.
LEASE_SECONDS = 300


@dataclass
class Wait:
    run: str  # the execution ARN
    sk: str
    kind: str  # the condition: "gate" (every task in the request's wait_for has ended)
    request: dict[str, Any]  # the DispatchRequest, as JSON
    state: str = PARKED
    parked_at: str = ""
    lease_until: str | None = None
    holder: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        return self.request.get("task_token")

    @property
    def task(self) -> str:
        return str(self.request.get("task"))

    @property
    def waits_for(self) -> list[str]:
        """The tasks whose end may satisfy the condition (what a task's end looks the wait up by)."""
        return [str(t) for t in self.request.get("wait_for", [])]

    def claimable(self, now: str) -> bool:
        """Whether a new holder may take it: parked, or claimed by a holder whose lease ran out."""
        return self.state == PARKED or (self.state == CLAIMED and lease_expired(self.lease_until, now))


def lease_until(now: str) -> str:
    return shifted(now, LEASE_SECONDS)


def lease_expired(until: str | None, now: str) -> bool:
    return until is None or seconds_between(until, now) >= 0

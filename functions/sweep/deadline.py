"""check_deadline: at a pipeline's deadline, has a run that started within its window succeeded by then?"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.clock import shifted
from ..adapters.notices import Notices
from ..adapters.runs import RunRecords
from ..observability import logger, measure


class DeadlineChecker:
    def __init__(self, runs: RunRecords, notices: Notices | None) -> None:
        self.runs, self.notices = runs, notices

    def check(self, pipeline: str, deadline: str, within: int) -> bool:
        """True when met. `DeadlineMissed` is 1 when not (the alarm reads it) and 0 when met; `record` sends 0
        again when a late run succeeds, which clears the alarm."""
        runs = self.runs.started_between(pipeline, shifted(deadline, -within), deadline)
        met = any(r.get("status") == "SUCCEEDED" and str(r.get("ended_at", "")) <= deadline for r in runs)
        measure("DeadlineMissed", 0 if met else 1, MetricUnit.Count, pipeline=pipeline)
        if not met:
            logger.warning("deadline missed", pipeline=pipeline, deadline=deadline,
                           runs=[(r.get("run_id"), r.get("status")) for r in runs])
            if self.notices is not None:
                self.notices.deadline_missed(pipeline, deadline, runs)
        return met

"""Work-arounds for moto's Step Functions interpreter, applied only while a test runs an execution.

moto makes one task token per waitForTaskToken state and keeps it, with its first answer, across the state's
retries: every retry then reads that stale answer at once, so a failed task can never recover. The patch gives
each attempt of a callback task a fresh token (and callback endpoint) before it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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

    StateTaskServiceCallback._eval_execution = _eval_execution
    try:
        yield
    finally:
        StateTaskServiceCallback._eval_execution = original

"""botocore errors -> JobError at the adapters' edge, and the start-at-most-once pattern they share."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ParamValidationError,
    ReadTimeoutError,
)

from .base import JobError, JobNotFoundError, JobRef

# The request was refused for now (rate, concurrency or quota); the same request can succeed later.
RETRYABLE = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
    "ServiceQuotaExceededException", "LimitExceededException", "ConcurrentRunsExceededException",
    "ResourceNumberLimitExceededException", "ExecutionLimitExceeded", "ResourceConflictException",
    "EC2ThrottledException", "ServiceUnavailable", "ServiceUnavailableException", "InternalServerException",
    "InternalServerError", "InternalFailure", "ServerException", "ServiceException",
})


def code_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def job_error(exc: ClientError | BotoCoreError, doing: str, *, not_found: Collection[str] = ()) -> JobError:
    """`doing` names the service, the action and the job: "Glue: start a run of job 'nightly'"."""
    if isinstance(exc, ParamValidationError):  # refused before sending (a rendered value of the wrong type)
        return JobError(f"{doing} failed: {exc}", retryable=False)
    if isinstance(exc, BotoCoreError):  # no answer at all (connection, timeout) after botocore's own retries
        return JobError(f"{doing} failed: {exc}", retryable=True)
    error = exc.response.get("Error", {})
    code, message = code_of(exc), error.get("Message") or "no message"
    text = f"{doing} failed: {code}: {message}"
    if code in not_found:
        return JobNotFoundError(text)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return JobError(text, retryable=code in RETRYABLE or status >= 500)


@contextmanager
def translated(doing: str, *, not_found: Collection[str] = ()) -> Iterator[None]:
    """Raise botocore errors of the block as JobError (JobNotFoundError for the codes in `not_found`)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise job_error(exc, doing, not_found=not_found) from exc


def unsure(exc: JobError) -> bool:
    """Whether the failed request may have reached the service anyway (server error, no answer)."""
    cause = exc.__cause__
    if isinstance(cause, ReadTimeoutError | ConnectionClosedError):
        return True
    return isinstance(cause, ClientError) and int(
        cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500


def start_once(find: Callable[[], JobRef | None], start: Callable[[], JobRef], *, look_first: bool = True) -> JobRef:
    """The job already started with this key (`find`), else a new one (`start`).

    A start that failed without a clear answer may have started the job: look once more before reporting the
    failure, so the caller's retry (with a new key) does not leave an orphan running next to its job.
    """
    found = find() if look_first else None
    if found is not None:
        return found
    try:
        return start()
    except JobError as exc:
        if not unsure(exc):
            raise
        found = find()
        if found is None:
            raise
        return found

"""The services with their ports, built once per Lambda container (or per local session) from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..adapters.clients import ClientFactory, LazyClient, client, role_clients
from ..adapters.executions import Executions
from ..adapters.jobs import JobAdapters, adapters_for
from ..adapters.jobs.base import JobAdapter
from ..adapters.notices import Notices
from ..adapters.run_store import RunStore
from ..adapters.runs import RunRecords
from ..adapters.starts import Starts
from ..adapters.tokens import Tokens
from ..backfill.service import Backfills
from ..complete.service import Completer
from ..dispatch.service import Dispatcher
from ..record.cost import RunCosts
from ..record.service import Recorder
from ..settings import Settings
from ..sweep.deadline import DeadlineChecker
from ..sweep.service import Sweeper


@dataclass
class Runtime:
    settings: Settings
    clients: ClientFactory = client
    jobs_override: dict[str, JobAdapter] = field(default_factory=dict)
    tokens_override: Tokens | None = None

    @cached_property
    def store(self) -> RunStore:
        return RunStore(self.clients("dynamodb"), self.settings.table_name, ttl_days=self.settings.record_ttl_days,
                        shards=self.settings.sweep_shards)

    @cached_property
    def jobs(self) -> dict[str, JobAdapter]:
        prefix = self.settings.state_machine_arn_prefix
        return {**adapters_for(self.clients, arn_for=lambda pipeline: f"{prefix}{pipeline}"), **self.jobs_override}

    @cached_property
    def job_adapters(self) -> JobAdapters:
        role_prefix, machine_prefix = self.settings.job_role_arn_prefix, self.settings.state_machine_arn_prefix
        if not role_prefix:
            return JobAdapters(self.jobs)

        def for_pipeline(pipeline: str) -> dict[str, JobAdapter]:
            clients = role_clients(f"{role_prefix}{pipeline}", f"sluice-{pipeline}")
            return {**adapters_for(clients, arn_for=lambda child: f"{machine_prefix}{child}"), **self.jobs_override}

        return JobAdapters(self.jobs, for_pipeline)

    @cached_property
    def starts(self) -> Starts:
        return Starts(self.clients("stepfunctions"), self.settings.state_machine_arn_prefix)

    @cached_property
    def backfills(self) -> Backfills:
        return Backfills(self.clients("dynamodb"), self.settings.table_name, self.starts, self.runs,
                         ttl_days=self.settings.record_ttl_days)

    @cached_property
    def tokens(self) -> Tokens:
        return self.tokens_override or Tokens(self.clients("stepfunctions"))

    @cached_property
    def executions(self) -> Executions:
        return Executions(self.clients("stepfunctions"))

    @cached_property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.tokens, self.job_adapters, executions=self.executions)

    @cached_property
    def completer(self) -> Completer:
        return Completer(self.store, self.tokens, self.dispatcher)

    @cached_property
    def sweeper(self) -> Sweeper:
        return Sweeper(self.store, self.executions, self.job_adapters, self.completer,
                       after_seconds=self.settings.sweep_after_seconds, backfills=self.backfills)

    @cached_property
    def runs(self) -> RunRecords:
        return RunRecords(self.clients("dynamodb"), self.settings.table_name, ttl_days=self.settings.record_ttl_days)

    @cached_property
    def notices(self) -> Notices:
        return Notices(LazyClient(self.clients, "events"), self.settings.event_bus)

    @cached_property
    def recorder(self) -> Recorder:
        return Recorder(self.runs, self.executions, self.notices, RunCosts(self.store, self.executions),
                        self.backfills)

    @cached_property
    def deadlines(self) -> DeadlineChecker:
        return DeadlineChecker(self.runs, self.notices)


_current: Runtime | None = None


def runtime() -> Runtime:
    """The container's runtime, from the environment (tests and local mode install their own with `use`)."""
    global _current
    if _current is None:
        _current = Runtime(Settings.from_env())
    return _current


def use(value: Runtime | None) -> None:
    global _current
    _current = value

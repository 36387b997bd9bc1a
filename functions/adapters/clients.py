"""boto3 clients for the functions: one per service and container, created on first use, with standard retries."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, CredentialProvider, DeferredRefreshableCredentials

ClientFactory = Callable[[str], Any]  # service name ("glue", "ecs", "stepfunctions", ...) -> boto3 client

RETRIES = {"mode": "standard", "max_attempts": 5}


@cache
def client(name: str) -> Any:
    """The container's client for one service (region and credentials from the Lambda environment)."""
    # botocore directly: importing boto3 also imports s3transfer, ~45 ms of cold start for nothing used here.
    return _session().create_client(name, config=Config(retries=RETRIES))


@cache
def _session() -> Any:
    return botocore.session.get_session()


def role_clients(role_arn: str, session_name: str) -> ClientFactory:
    """Clients that act as `role_arn`: its credentials are assumed on first use and refreshed before they expire."""
    return lambda name: _role_client(role_arn, session_name, name)


@cache
def _role_client(role_arn: str, session_name: str, name: str) -> Any:
    return _role_session(role_arn, session_name).create_client(name, config=Config(retries=RETRIES))


@cache
def _role_session(role_arn: str, session_name: str) -> Any:
    base = _session()
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=base.create_client, source_credentials=base.get_credentials(), role_arn=role_arn,
        extra_args={"RoleSessionName": session_name[:64]})
    session = botocore.session.Session()
    session.get_component("credential_provider").insert_before("env", _AssumedRole(fetcher))
    return session


class _AssumedRole(CredentialProvider):  # type: ignore[misc]
    METHOD = "sluice-assume-role"

    def __init__(self, fetcher: AssumeRoleCredentialFetcher) -> None:
        super().__init__()
        self.fetcher = fetcher

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self.fetcher.fetch_credentials, method=self.METHOD)


class LazyClient:
    """Stands in for a boto3 client and builds it on first use: a dispatcher only needs its task's service."""

    def __init__(self, clients: ClientFactory, name: str) -> None:
        self._clients = clients
        self._name = name
        self._client: Any = None

    def __getattr__(self, attribute: str) -> Any:
        # Only called for attributes this object lacks, i.e. the client's methods and `meta`.
        if self._client is None:
            self._client = self._clients(self._name)
        return getattr(self._client, attribute)

    def __repr__(self) -> str:
        return f"LazyClient({self._name!r}, created={self._client is not None})"

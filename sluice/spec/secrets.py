"""Secrets a pipeline refers to, by reference only: an SSM SecureString parameter or a Secrets Manager secret.

Sluice never reads a secret's value. `{{ secrets.NAME }}` renders to the reference as written (a parameter name
or ARN, a secret name or ARN), which the job resolves with its own role. So no value can reach the state machine
definition, a run's input, the run store or a log. A parameter default that looks like a secret is refused
(sluice/spec/checks.py): it would put the value in all of those.
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from .base import SpecModel

_SSM_NAME = re.compile(r"^/?[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")
_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_.\-/]+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials",
                          "privatekey"})


def looks_secret(name: str) -> bool:
    """Whether a parameter name says it holds a secret (db_password, API_KEY, auth-token, ...)."""
    parts = [p for p in re.split(r"[_\-.]", name.lower()) if p]
    joined = "".join(parts)
    return any(p in SECRET_WORDS for p in parts) or "apikey" in joined or "privatekey" in joined


class SecretRef(SpecModel):
    """Exactly one of `ssm` (a SecureString parameter) or `secretsmanager` (a secret), by name or ARN."""

    ssm: str | None = Field(None, description="SSM parameter name (/team/db/password) or its ARN")
    secretsmanager: str | None = Field(None, description="Secrets Manager secret name (team/db) or its ARN")

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.ssm is None) == (self.secretsmanager is None):
            raise ValueError("a secret is exactly one of 'ssm: <parameter name or ARN>' or "
                             "'secretsmanager: <secret name or ARN>'")
        if self.ssm is not None and not (_SSM_NAME.match(self.ssm) or _SSM_ARN.match(self.ssm)):
            raise ValueError(f"ssm: '{self.ssm[:100]}' is not an SSM parameter name (/team/db/password) or ARN")
        if self.secretsmanager is not None and not (_SECRET_NAME.match(self.secretsmanager)
                                                    or _SECRET_ARN.match(self.secretsmanager)):
            raise ValueError(f"secretsmanager: '{self.secretsmanager[:100]}' is not a secret name or ARN")
        return self

    @property
    def reference(self) -> str:
        return self.ssm or self.secretsmanager or ""

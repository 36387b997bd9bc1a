"""Synth tests. Importing infra first sets the environment that keeps jsii and the CDK quiet and offline."""

import infra  # noqa: F401

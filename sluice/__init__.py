"""Sluice: serverless pipeline orchestration on AWS Step Functions."""

__version__ = "0.1.0"

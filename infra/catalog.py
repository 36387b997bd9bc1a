"""A pipeline's catalog entry as its stack writes it (sluice/catalog.py: the value, the tier, the path)."""

from __future__ import annotations

from sluice.catalog import CatalogError, encode
from sluice.spec import Pipeline

# CloudFormation resolves dynamic references ({{resolve:ssm:...}}, {{resolve:secretsmanager:...}}) in any
# property, a parameter's value included, and has no way to escape one.
DYNAMIC_REFERENCE = "{{resolve:"


def entry_value(pipeline: Pipeline) -> str:
    """The value of the pipeline's catalog parameter; CatalogError, naming the pipeline, when it cannot be one."""
    value = encode(pipeline)
    if DYNAMIC_REFERENCE in value:
        raise CatalogError(f"pipeline '{pipeline.name}': its spec holds '{DYNAMIC_REFERENCE}', which CloudFormation "
                           "would replace (a dynamic reference) in the catalog parameter; spell it otherwise")
    return value

"""The pipeline catalog the run API reads: each pipeline's validated spec, one SSM parameter per pipeline.

Each pipeline stack writes its pipelines' parameters (`/sluice/<env>/pipelines/<name>`), so adding a pipeline
never touches the platform stack that holds the API. A spec up to 4 KB is stored as JSON (a standard parameter);
a larger one compressed (an advanced parameter holds 8 KB); one larger still is refused at synth.
"""

from __future__ import annotations

import base64
import zlib

from .spec import Pipeline

STANDARD_LIMIT = 4096  # characters of a standard-tier SSM parameter value
ADVANCED_LIMIT = 8192
_COMPRESSED = "zlib:"


class CatalogError(ValueError):
    """A pipeline whose spec does not fit the catalog, or a catalog entry that cannot be read."""


def catalog_path(prefix: str) -> str:
    """The SSM path holding an environment's pipelines: `prefix` is the environment's `sluice-<env>-`."""
    return f"/{prefix.strip('-').replace('-', '/', 1)}/pipelines/"


def encode(pipeline: Pipeline) -> str:
    """The parameter value for a pipeline: its spec as JSON, compressed when it would not fit a standard one."""
    text = pipeline.model_dump_json(by_alias=True, exclude_none=True)
    if len(text) <= STANDARD_LIMIT:
        return text
    packed = _COMPRESSED + base64.b64encode(zlib.compress(text.encode(), 9)).decode()
    if len(packed) > ADVANCED_LIMIT:
        raise CatalogError(f"pipeline '{pipeline.name}': its spec is {len(text):,} characters, "
                           f"{len(packed):,} compressed, more than an SSM parameter holds ({ADVANCED_LIMIT:,}); "
                           "split it into a parent and child pipelines")
    return packed


def tier(value: str) -> str:
    return "Standard" if len(value) <= STANDARD_LIMIT else "Advanced"


def decode(value: str, where: str) -> Pipeline:
    """A pipeline from its parameter value; `where` names the parameter in errors."""
    try:
        text = zlib.decompress(base64.b64decode(value[len(_COMPRESSED):])).decode() \
            if value.startswith(_COMPRESSED) else value
        return Pipeline.model_validate_json(text)
    except (ValueError, zlib.error) as exc:
        raise CatalogError(f"catalog entry {where} is not a Sluice pipeline spec: {exc}") from exc

"""The JSON Schema of a pipeline file, for editors (VS Code YAML extension) and other tools."""

from __future__ import annotations

import json
from typing import Any

from .pipeline import Pipeline

SCHEMA_ID = "https://sluice.dev/schema/pipeline.schema.json"


def schema() -> dict[str, Any]:
    out = Pipeline.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Sluice pipeline", **out}


def schema_json() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"

"""The pipeline file format: pydantic models, the loader that validates files, and the JSON Schema."""

from __future__ import annotations

from .loader import Loaded, load_file, load_paths, load_project, load_text, pipeline_files
from .params import Param, ParamValueError
from .pipeline import Pipeline, Schedule, Trigger
from .problems import Problem, SpecError
from .task import Foreach, Retry, Task, TaskDefaults

__all__ = ["Foreach", "Loaded", "Param", "ParamValueError", "Pipeline", "Problem", "Retry", "Schedule", "SpecError",
           "Task", "TaskDefaults", "Trigger", "load_file", "load_paths", "load_project", "load_text",
           "pipeline_files"]

"""otel-jsonl: every step of an agent loop as one JSON line.

``Trace`` (the recorder), the reader, the schema, replay and diff import only the standard
library; the
OpenTelemetry parts (``JsonlSpanExporter``, ``JsonlLogExporter``, ``configure``, conversion)
are imported on first use, so ``from otel_jsonl import Trace`` works without the OTel SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .blobs import BlobStore
from .diff import diff_runs
from .exceptions import (
    BlobError,
    MissingInputError,
    OtelJsonlError,
    OtelJsonlWarning,
    RunNotFoundError,
    TornLineWarning,
    TraceFormatError,
)
from .messages import to_anthropic, to_openai, to_parts
from .reader import Line, Problem, ReadReport, RunSummary, list_runs, read_events
from .recorder import Trace
from .redact import Redactor
from .replay import replay, replay_step
from .schema import KINDS, SCHEMA_VERSION, usage_of, validate_event

if TYPE_CHECKING:  # pragma: no cover
    from .exporter import JsonlLogExporter, JsonlSpanExporter, configure

# name -> module holding it; imported on first attribute access (they need the OTel SDK).
_LAZY = {
    "JsonlSpanExporter": "exporter",
    "JsonlLogExporter": "exporter",
    "configure": "exporter",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otel_jsonl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "BlobError",
    "BlobStore",
    "JsonlLogExporter",
    "JsonlSpanExporter",
    "Line",
    "MissingInputError",
    "OtelJsonlError",
    "OtelJsonlWarning",
    "Problem",
    "ReadReport",
    "Redactor",
    "RunNotFoundError",
    "RunSummary",
    "TornLineWarning",
    "Trace",
    "TraceFormatError",
    "__version__",
    "configure",
    "diff_runs",
    "list_runs",
    "read_events",
    "replay",
    "replay_step",
    "to_anthropic",
    "to_openai",
    "to_parts",
    "usage_of",
    "validate_event",
]

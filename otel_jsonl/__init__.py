"""otel-jsonl: every step of an agent loop as one JSON line.

The package is in wings, each a folder (CONTRIBUTING.md, "Where things live"): ``record`` (the
recorder and its writer, standard library only), ``read`` (the streaming reader and runs),
``genai`` (every GenAI name and message form), ``otel`` (exporters, OTLP, shipping), ``analyze``
(replay, diff, stats, rendering) and ``cli``. This module re-exports the public names.

``Trace`` (the recorder), the reader, the schema, replay and diff import only the standard
library; the OpenTelemetry parts (``JsonlSpanExporter``, ``JsonlLogExporter``, ``configure``,
``convert_files``, ``import_files``) are imported on first use, so ``from otel_jsonl import
Trace`` works without the OTel SDK.
"""

from __future__ import annotations

from ._lazy import lazy_names
from ._version import __version__
from .exceptions import (
    BlobError,
    MissingInputError,
    OtelJsonlError,
    OtelJsonlWarning,
    RunNotFoundError,
    TornLineWarning,
    TraceFormatError,
)

TYPE_CHECKING = False  # not typing's: ``import typing`` is a third of the recorder's start-up
if TYPE_CHECKING:  # pragma: no cover
    from .analyze.diff import diff_runs
    from .analyze.html import view_html
    from .analyze.replay import replay, replay_step
    from .genai.messages import to_anthropic, to_openai, to_parts
    from .otel.configure import configure
    from .otel.exporter import JsonlLogExporter, JsonlSpanExporter
    from .otel.files import convert_files, convert_lines, import_files
    from .read.lines import Line, Problem, ReadReport, read_events
    from .read.runs import RunEvents, RunSummary, list_runs, read_run, summarize_runs
    from .record.blobs import BlobStore
    from .record.redact import Redactor
    from .record.rotate import RotationPolicy
    from .record.trace import Trace
    from .record.writer import WriterOptions
    from .schema import KINDS, SCHEMA_VERSION, usage_of, validate_event

# name -> module holding it, imported on first use: ``from otel_jsonl import Trace`` loads the
# recorder alone, and the OpenTelemetry parts (which need the SDK) only when asked for.
_LAZY = {
    "diff_runs": "analyze.diff",
    "view_html": "analyze.html",
    "replay": "analyze.replay",
    "replay_step": "analyze.replay",
    "to_anthropic": "genai.messages",
    "to_openai": "genai.messages",
    "to_parts": "genai.messages",
    "configure": "otel.configure",
    "JsonlLogExporter": "otel.exporter",
    "JsonlSpanExporter": "otel.exporter",
    "convert_files": "otel.files",
    "convert_lines": "otel.files",
    "import_files": "otel.files",
    "Line": "read.lines",
    "Problem": "read.lines",
    "ReadReport": "read.lines",
    "read_events": "read.lines",
    "RunEvents": "read.runs",
    "RunSummary": "read.runs",
    "list_runs": "read.runs",
    "read_run": "read.runs",
    "summarize_runs": "read.runs",
    "BlobStore": "record.blobs",
    "Redactor": "record.redact",
    "RotationPolicy": "record.rotate",
    "Trace": "record.trace",
    "WriterOptions": "record.writer",
    "KINDS": "schema",
    "SCHEMA_VERSION": "schema",
    "usage_of": "schema",
    "validate_event": "schema",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


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
    "RotationPolicy",
    "RunEvents",
    "RunNotFoundError",
    "RunSummary",
    "TornLineWarning",
    "Trace",
    "TraceFormatError",
    "WriterOptions",
    "__version__",
    "configure",
    "convert_files",
    "convert_lines",
    "diff_runs",
    "import_files",
    "list_runs",
    "read_events",
    "read_run",
    "replay",
    "replay_step",
    "summarize_runs",
    "to_anthropic",
    "to_openai",
    "to_parts",
    "usage_of",
    "validate_event",
    "view_html",
]

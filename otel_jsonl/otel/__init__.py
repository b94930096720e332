"""The OpenTelemetry side: the span and log exporters and ``configure()``, spans to trace lines
and back (``mapping``), recorder lines to spans (``to_spans``, ``ids``), the OTLP JSON codec,
shipping through the SDK's OTLP exporters, and the file pipelines (``files``).

Imported on first use by ``otel_jsonl`` (it needs the OpenTelemetry SDK); the recorder does not
import it.
"""

from __future__ import annotations

from .configure import configure
from .exporter import JsonlLogExporter, JsonlSpanExporter
from .files import ConvertResult, ImportResult, convert_files, convert_lines, import_files

__all__ = [
    "ConvertResult",
    "ImportResult",
    "JsonlLogExporter",
    "JsonlSpanExporter",
    "configure",
    "convert_files",
    "convert_lines",
    "import_files",
]

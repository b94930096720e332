"""``configure()``: a tracer and a logger provider that write to one JSONL file, in one call."""

from __future__ import annotations

import atexit
import logging
import os
from typing import IO, TYPE_CHECKING, Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from ..record.writer import WriterOptions, WriterOptionsKw
from .exporter import JsonlLogExporter, JsonlSpanExporter
from .joiner import LogJoiner

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

__all__ = ["configure"]

logger = logging.getLogger("otel_jsonl")


def configure(
    path: str | os.PathLike[str] | None = None,
    *,
    stream: IO[Any] | None = None,
    resource: Resource | None = None,
    service_name: str | None = None,
    set_global: bool = True,
    batch: bool = True,
    options: WriterOptions | None = None,
    **overrides: Unpack[WriterOptionsKw],
) -> tuple[TracerProvider, LoggerProvider]:
    """Set up a tracer and a logger provider that write to one JSONL file; return them.

    Spans go through a ``BatchSpanProcessor`` (``batch=False``: a simple one), log records
    through a simple processor into a joiner shared with the span exporter, so GenAI content
    emitted as log records lands on its ``llm_call``. With ``set_global`` (default) both
    become the global providers. Everything is flushed and closed at interpreter exit, so a
    short script loses no span. The writer options are those of the exporters
    (:class:`~otel_jsonl.record.WriterOptions` as ``options`` or keywords).
    """
    if resource is None:
        attrs = {"service.name": service_name} if service_name else {}
        resource = Resource.create(attrs)
    joiner = LogJoiner()
    span_exporter = JsonlSpanExporter(
        path, stream=stream, joiner=joiner, options=options, **overrides
    )
    log_exporter = JsonlLogExporter.sharing(span_exporter)
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(span_exporter) if batch else SimpleSpanProcessor(span_exporter)
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    if set_global:
        from opentelemetry import trace
        from opentelemetry._logs import set_logger_provider

        trace.set_tracer_provider(tracer_provider)
        set_logger_provider(logger_provider)
    atexit.register(_shutdown_pair, tracer_provider, logger_provider)
    return tracer_provider, logger_provider


def _shutdown_pair(tracer_provider: TracerProvider, logger_provider: LoggerProvider) -> None:
    """Logs first (they park), then spans (they join the parked logs and close the file)."""
    try:
        logger_provider.force_flush()
        tracer_provider.shutdown()
        logger_provider.shutdown()
    except Exception:
        logger.warning("otel-jsonl: shutting down the providers failed", exc_info=True)

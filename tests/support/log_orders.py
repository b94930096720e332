"""Trace files whose ``log`` lines sit anywhere relative to their spans, from real instrumentations.

Instrumentations that put message content in log records (openai-v2 with ``EVENT_ONLY`` or
``SPAN_AND_EVENT``, OpenLLMetry with ``use_attributes=False``) send spans and log records through
two pipelines; with batch processors either can reach the file first. :func:`record_run` runs the
two-turn weather loop (both model calls inside one ``invoke_agent`` span, so they share a run)
against a loopback provider server and writes the file in the order asked for:

- ``spans-first`` / ``logs-first``: every span line, then every log line (or the reverse), the
  way two processes' batches land; no write-time join is possible for ``spans-first``;
- ``interleaved``: span and log lines alternate, one of each at a time;
- ``batch-spans-first`` / ``batch-logs-first``: real ``BatchSpanProcessor`` and
  ``BatchLogRecordProcessor`` into one file (sharing the exporters' write-time joiner), the
  first with a short schedule delay and the second with a long one; the fast one exports on
  its own (waited for, bounded), the slow one at shutdown. Spans-first leaves ``log`` lines
  after their spans; logs-first parks the records in the write-time joiner, which puts their
  content on the ``llm_call`` lines.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from support.agent_loops import run_openai_loop
from support.fixtures import MemoryTelemetry, instrumented_openai_v2, instrumented_openllmetry
from support.providers import ProviderServer, RecordedRequest, Turn

__all__ = ["INSTRUMENTATIONS", "ORDERS", "SCRIPT", "Instrumentation", "Order", "record_run"]

Instrumentation = Literal["openai-v2-event-only", "openai-v2-span-and-event", "openllmetry-events"]
Order = Literal["spans-first", "logs-first", "interleaved", "batch-spans-first", "batch-logs-first"]
INSTRUMENTATIONS: tuple[Instrumentation, ...] = (
    "openai-v2-event-only",
    "openai-v2-span-and-event",
    "openllmetry-events",
)
ORDERS: tuple[Order, ...] = (
    "spans-first",
    "logs-first",
    "interleaved",
    "batch-spans-first",
    "batch-logs-first",
)
SCRIPT = (
    Turn.call("get_weather", {"city": "Lisbon"}),
    Turn.call("get_weather", {"city": "Porto"}),
    Turn.reply("Lisbon and Porto: {tool_result}"),
)
_WAIT = 10.0
"""Seconds to wait at most for a batch processor's first export."""


def _run(
    instrumentation: Instrumentation,
    tracer_provider: TracerProvider,
    logger_provider: LoggerProvider,
    server: ProviderServer,
) -> None:
    tracer = tracer_provider.get_tracer("support.log_orders", "1")
    with tracer.start_as_current_span("invoke_agent weather"):
        if instrumentation == "openllmetry-events":
            with instrumented_openllmetry(tracer_provider, logger_provider, use_attributes=False):
                run_openai_loop(server.openai_base_url)
        else:
            capture = (
                "EVENT_ONLY" if instrumentation == "openai-v2-event-only" else "SPAN_AND_EVENT"
            )
            with instrumented_openai_v2(tracer_provider, logger_provider, capture=capture):
                run_openai_loop(server.openai_base_url)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _interleave(a: Sequence[bytes], b: Sequence[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for i in range(max(len(a), len(b))):
        out.extend(a[i : i + 1])
        out.extend(b[i : i + 1])
    return out


class _CountingSpanExporter(JsonlSpanExporter):
    """Notes each export call, so a test can wait for the first batch."""

    exported: list[int]

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        self.exported.append(len(spans))
        return result


class _CountingLogExporter(JsonlLogExporter):
    """Notes each export call, so a test can wait for the first batch."""

    exported: list[int]

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        result = super().export(batch)
        self.exported.append(len(batch))
        return result


def _wait_for(exported: list[int]) -> None:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        if exported:
            return
        time.sleep(0.02)
    raise TimeoutError(f"the fast batch processor did not export within {_WAIT} s")


def record_run(path: Path, instrumentation: Instrumentation, order: Order) -> list[RecordedRequest]:
    """Run the loop, write its trace to ``path`` in ``order``; return the model calls the
    server received."""
    if order.startswith("batch-"):
        return _record_batched(path, instrumentation, order == "batch-spans-first")
    telemetry = MemoryTelemetry.create()
    try:
        with ProviderServer(SCRIPT) as server:
            _run(instrumentation, telemetry.tracer_provider, telemetry.logger_provider, server)
            calls = server.calls
        span_buf, log_buf = io.BytesIO(), io.BytesIO()
        span_exporter = JsonlSpanExporter(stream=span_buf)
        log_exporter = JsonlLogExporter(stream=log_buf)
        span_exporter.export(telemetry.spans())
        log_exporter.export(telemetry.logs())
        spans, logs = _lines(span_buf.getvalue()), _lines(log_buf.getvalue())
        span_exporter.shutdown()
        log_exporter.shutdown()
    finally:
        telemetry.shutdown()
    if order == "spans-first":
        lines = spans + logs
    elif order == "logs-first":
        lines = logs + spans
    else:
        lines = _interleave(spans, logs)
    path.write_bytes(b"".join(lines))
    return calls


def _record_batched(
    path: Path, instrumentation: Instrumentation, spans_first: bool
) -> list[RecordedRequest]:
    fast, slow = 20, 60_000
    span_exporter = _CountingSpanExporter(path)
    log_exporter = _CountingLogExporter(path)
    span_exporter.exported, log_exporter.exported = [], []
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(span_exporter, schedule_delay_millis=fast if spans_first else slow)
    )
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(log_exporter, schedule_delay_millis=slow if spans_first else fast)
    )
    try:
        with ProviderServer(SCRIPT) as server:
            _run(instrumentation, tracer_provider, logger_provider, server)
            calls = server.calls
        # The fast pipeline exports on its own schedule; the slow one only at shutdown.
        _wait_for(span_exporter.exported if spans_first else log_exporter.exported)
        # Then whatever the fast one still holds (the last call's records may be younger than
        # its delay), so every fast line is out before the slow pipeline's.
        (tracer_provider if spans_first else logger_provider).force_flush()
    finally:
        # The slow pipeline exports at its shutdown. Spans shut down first either way: with
        # logs first, their records wait in the write-time joiner until their span comes.
        tracer_provider.shutdown()
        logger_provider.shutdown()
    return calls

"""``JsonlSpanExporter`` and ``JsonlLogExporter``: OpenTelemetry exporters that write the event
schema, and :func:`configure`, which sets both up in one call.

An application that is already instrumented (openai-v2, OpenInference, OpenLLMetry, the
Anthropic SDK's native spans, or its own GenAI spans) gets the same greppable, replayable file
as one that calls the recorder by hand. The mapping itself lives in :mod:`otel_jsonl.mapping`;
capping, the blob store and redaction in :class:`otel_jsonl.writer.LineWriter`.

The exporter contract follows the official OTLP JSON file exporter: a path or a stream;
zero-argument construction (the SDK's auto-configuration builds exporters with no arguments;
the path comes from ``OTEL_EXPORTER_JSONL_PATH``); ``export()`` never raises (it logs and
returns FAILURE); export after ``shutdown()`` returns FAILURE; ``shutdown()`` twice is safe and
closes only what it opened; one write per batch under a lock.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from . import semconv as sc
from .mapping import (
    encode_attrs,
    llm_call_id,
    messages_from_record,
    number_events,
    resource_event,
    resource_id,
    span_to_events,
)
from .writer import DEFAULT_CAP, LineWriter

__all__ = ["DEFAULT_PATH", "JsonlLogExporter", "JsonlSpanExporter", "LogJoiner", "configure"]

logger = logging.getLogger("otel_jsonl")

#: Where zero-argument exporters write when ``OTEL_EXPORTER_JSONL_PATH`` is not set.
DEFAULT_PATH = "traces/otel.jsonl"
ENV_PATH = "OTEL_EXPORTER_JSONL_PATH"
ENV_CAP = "OTEL_JSONL_CAP"
ENV_REDACT = "OTEL_JSONL_REDACT"

#: How many runs (traces) keep a step counter; the least recently used is forgotten first.
MAX_RUNS = 4096
#: How many recent LLM calls are remembered to recognise the same call traced twice.
MAX_RECENT_CALLS = 4096


def _env_cap() -> int:
    raw = os.environ.get(ENV_CAP, "").strip()
    if not raw:
        return DEFAULT_CAP
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_CAP} must be a whole number of bytes, got {raw!r}") from None
    return value


def _env_redact() -> bool:
    raw = os.environ.get(ENV_REDACT, "").strip().lower()
    if raw in ("", "1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_REDACT} must be true or false, got {raw!r}")


class _Sink:
    """A LineWriter shared by exporters, with the lock that keeps batches whole."""

    def __init__(self, writer: LineWriter, owned: bool) -> None:
        self.writer = writer
        self.owned = owned
        self.lock = threading.RLock()
        self.users = 0

    def write(self, events: Iterable[dict[str, Any]]) -> None:
        """Encode and append events with one write (raises on failure)."""
        writer = self.writer
        self.write_bytes(b"".join([writer.encode(e) for e in events]))

    def write_bytes(self, data: bytes) -> None:
        """Append encoded lines with one write (raises on failure)."""
        if data:
            writer = self.writer
            with self.lock:
                if writer.closed:
                    raise ValueError("write to a closed trace file")
                writer.write_bytes(data)

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users <= 0 and self.owned:
                self.writer.close()
            elif self.users <= 0:
                self.writer.flush()


def _make_sink(
    path: str | os.PathLike[str] | None,
    stream: IO[Any] | None,
    cap: int | None,
    redact: bool | None,
    blob_dir: str | os.PathLike[str] | None,
    redact_patterns: Mapping[str, str] | Iterable[str],
) -> _Sink:
    if path is not None and stream is not None:
        raise ValueError("give a path or a stream, not both")
    if path is None and stream is None:
        path = os.environ.get(ENV_PATH) or DEFAULT_PATH
    writer = LineWriter(
        path,
        stream=stream,
        cap=_env_cap() if cap is None else cap,
        blob_dir=blob_dir,
        redact=_env_redact() if redact is None else redact,
        redact_patterns=redact_patterns,
        fsync="close",
    )
    return _Sink(writer, owned=True)


class LogJoiner:
    """Holds GenAI log records until their span is written, so their content lands on the
    span's ``llm_call`` line.

    Records wait at most ``timeout`` seconds and at most ``max_pending`` of them wait at once;
    past either bound (or at shutdown) they are written as ``log`` lines, as are records whose
    span was already written.
    """

    def __init__(self, *, max_pending: int = 10_000, timeout: float = 30.0) -> None:
        self.max_pending = max_pending
        self.timeout = timeout
        self._lock = threading.Lock()
        # (trace_id, span_id) -> [(deadline, log line)]
        self._pending: OrderedDict[tuple[str, str], list[tuple[float, dict[str, Any]]]] = (
            OrderedDict()
        )
        self._count = 0
        self._written: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._sink: Callable[[list[dict[str, Any]]], None] | None = None

    def park(self, key: tuple[str, str], line: dict[str, Any]) -> bool:
        """Keep ``line`` for span ``key``; False when that span was already written."""
        evicted: list[dict[str, Any]] = []
        with self._lock:
            if key in self._written:
                return False
            self._pending.setdefault(key, []).append((time.monotonic() + self.timeout, line))
            self._count += 1
            while self._count > self.max_pending and self._pending:
                _, lines = self._pending.popitem(last=False)
                self._count -= len(lines)
                evicted.extend(line for _, line in lines)
        self._emit(evicted)
        return True

    def take(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        """Remove and return the lines waiting for span ``key``; remember it was written."""
        with self._lock:
            self._written[key] = None
            if len(self._written) > MAX_RECENT_CALLS * 4:
                self._written.popitem(last=False)
            lines = self._pending.pop(key, None)
            if not lines:
                return []
            self._count -= len(lines)
            return [line for _, line in lines]

    def expire(self, everything: bool = False) -> None:
        """Write the lines that waited too long (or all of them) as ``log`` lines."""
        now = time.monotonic()
        out: list[dict[str, Any]] = []
        with self._lock:
            if not self._pending:
                return
            for key in list(self._pending):
                lines = self._pending[key]
                if everything or lines[0][0] <= now:
                    del self._pending[key]
                    self._count -= len(lines)
                    out.extend(line for _, line in lines)
        self._emit(out)

    def _emit(self, lines: list[dict[str, Any]]) -> None:
        if lines and self._sink is not None:
            self._sink(lines)


# Exporters built from the same path (auto-configuration builds each with no arguments) share
# one joiner, so logs join spans without configure().
_JOINERS: dict[str, LogJoiner] = {}
_JOINERS_LOCK = threading.Lock()


def _joiner_for(writer: LineWriter) -> LogJoiner | None:
    if writer.path is None:
        return None
    key = str(writer.path.resolve())
    with _JOINERS_LOCK:
        return _JOINERS.setdefault(key, LogJoiner())


class _SeqCounter:
    """Step numbers per run, for a bounded number of recent runs."""

    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self.max_runs = max_runs
        self._runs: OrderedDict[str, Iterator[int]] = OrderedDict()

    def for_run(self, run: str) -> Callable[[], int]:
        counter = self._runs.get(run)
        if counter is None:
            counter = self._runs[run] = itertools.count()
            if len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run)
        return counter.__next__


def _merge_logs(event: dict[str, Any], logs: list[dict[str, Any]]) -> None:
    """Put the content of joined log lines onto an ``llm_call`` line."""
    inputs: list[Any] = []
    outputs: list[Any] = []
    names = []
    for line in logs:
        names.append(line.get("event"))
        if "system" in line and "system" not in event:
            event["system"] = line["system"]
        if line.get("event") == sc.GEN_AI_OPERATION_DETAILS_EVENT or not (
            line.get("event") in sc.MESSAGE_EVENTS or line.get("event") == sc.GEN_AI_CHOICE
        ):
            if "input" in line and "input" not in event:
                event["input"] = line["input"]
            if "output" in line and "output" not in event:
                event["output"] = line["output"]
        else:
            inputs.extend(line.get("input") or ())
            outputs.extend(line.get("output") or ())
    if inputs and "input" not in event:
        event["input"] = _fill_tool_ids(inputs)
    if outputs and "output" not in event:
        event["output"] = outputs
    out = event.get("output")
    if "finish_reason" not in event and isinstance(out, list) and out:
        last = out[-1]
        if isinstance(last, dict) and isinstance(last.get("finish_reason"), str):
            event["finish_reason"] = last["finish_reason"]
    otel = event.get("otel")
    if isinstance(otel, dict):
        otel["logs"] = names


def _fill_tool_ids(messages: list[Any]) -> list[Any]:
    """Give tool responses that lost their call id (OpenLLMetry's per-message events) the id of
    the tool call they answer: the calls of the assistant message before them, in order."""
    waiting: list[Any] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        for part in message.get("parts") or ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "tool_call":
                waiting.append(part.get("id"))
            elif part.get("type") == "tool_call_response":
                if part.get("id") is None and waiting:
                    part["id"] = waiting.pop(0)
                elif part.get("id") in waiting:
                    waiting.remove(part.get("id"))
    return messages


class _FileUser:
    """What both exporters share: the file (a shared sink) and the log joiner."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        cap: int | None = None,
        blob_dir: str | os.PathLike[str] | None = None,
        redact: bool | None = None,
        redact_patterns: Mapping[str, str] | Iterable[str] = (),
        joiner: LogJoiner | None = None,
        _sink: _Sink | None = None,
    ) -> None:
        self._sink = _sink or _make_sink(path, stream, cap, redact, blob_dir, redact_patterns)
        self._sink.users += 1
        self.joiner = joiner if joiner is not None else _joiner_for(self._sink.writer)
        self._setup()

    def _setup(self) -> None:
        """State of the exporter itself (after the file and joiner are set)."""

    @property
    def writer(self) -> LineWriter:
        """The line writer (its ``dropped`` and ``last_error`` tell what failed)."""
        return self._sink.writer


class JsonlSpanExporter(_FileUser, SpanExporter):
    """Writes finished spans as event lines (see docs/exporter.md).

    ``path`` or ``stream`` (neither: ``OTEL_EXPORTER_JSONL_PATH``, default
    ``traces/otel.jsonl``); ``cap`` bytes per string value (default ``OTEL_JSONL_CAP`` or
    4096; 0 = off), ``blob_dir`` for capped values, ``redact`` (default ``OTEL_JSONL_REDACT``
    or on) and ``redact_patterns``. ``joiner`` receives GenAI log records from a
    :class:`JsonlLogExporter` so their content lands on the ``llm_call`` line.
    """

    def _setup(self) -> None:
        self._lock = threading.Lock()
        self._shutdown = False
        self._seq = _SeqCounter()
        self._resources: dict[str, None] = {}
        self._resource_ids: dict[int, tuple[Resource, str]] = {}
        self._by_response: OrderedDict[str, str] = OrderedDict()
        self._llm_child_of: OrderedDict[str, str] = OrderedDict()

    def _resource_ref(
        self, resource: Resource, out: list[dict[str, Any]], run: str, ts: float
    ) -> str:
        cached = self._resource_ids.get(id(resource))
        if cached is not None and cached[0] is resource:
            rid = cached[1]
        else:
            rid = resource_id(resource)
            if len(self._resource_ids) > 64:
                self._resource_ids.clear()
            self._resource_ids[id(resource)] = (resource, rid)
        if rid not in self._resources:
            self._resources[rid] = None
            out.append(resource_event(resource, run=run, ts=ts, rid=rid))
        return rid

    def _duplicate_of(self, event: dict[str, Any], span: ReadableSpan) -> str | None:
        """The span id of the ``llm_call`` already written for the same model call."""
        span_id = event["span_id"]
        rid = llm_call_id(span.attributes or {})
        # By response id alone: two instrumentations that both start a root span put one call
        # in two traces (the Anthropic SDK's own span beside OpenLLMetry's, with no agent span
        # around them). A provider's response ids are unique; the memory is bounded.
        found = self._by_response.get(rid) if rid is not None else None
        if found is None:
            found = self._llm_child_of.get(span_id)
        # Every later copy of this call must point at the line that was kept, never at
        # another copy: register the kept span id, for the response id and for the parent.
        kept = span_id if found is None else found
        if rid is not None and rid not in self._by_response:
            self._by_response[rid] = kept
            if len(self._by_response) > MAX_RECENT_CALLS:
                self._by_response.popitem(last=False)
        if "parent_id" in event:
            self._llm_child_of[event["parent_id"]] = kept
            if len(self._llm_child_of) > MAX_RECENT_CALLS:
                self._llm_child_of.popitem(last=False)
        return found

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write ``spans``; FAILURE (never an exception) when they could not be written."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            # Each span's lines are encoded as soon as they are mapped: the dicts die young
            # (a batch of them alive at once costs more in garbage collection than mapping).
            encode = self._sink.writer.encode
            chunks: list[bytes] = []
            events: list[dict[str, Any]] = []
            with self._lock:
                for span in spans:
                    self._map(span, events)
                    chunks.extend([encode(e) for e in events])
                    events.clear()
            self._sink.write_bytes(b"".join(chunks))
            if self.joiner is not None:
                self.joiner.expire()
            return SpanExportResult.SUCCESS
        except Exception as exc:
            self._sink.writer.record_failure(exc)
            return SpanExportResult.FAILURE

    def _map(self, span: ReadableSpan, out: list[dict[str, Any]]) -> None:
        ctx = span.context
        run = format(ctx.trace_id, "032x") if ctx is not None else "0" * 32
        rid = self._resource_ref(span.resource, out, run, (span.end_time or 0) / 1e9)
        events = span_to_events(span, resource_ref=rid)
        main = next(e for e in events if "otel" in e)
        logs: list[dict[str, Any]] = []
        if self.joiner is not None:
            logs = self.joiner.take((main["trace_id"], main["span_id"]))
        if main["kind"] == "llm_call":
            dup = self._duplicate_of(main, span)
            if dup is not None:
                main["kind"] = "span"
                main["name"] = span.name
                main["duplicate_of"] = dup
            elif logs:
                _merge_logs(main, logs)
                logs = []
        number_events(events, self._seq.for_run(run))
        out.extend(events)
        out.extend(logs)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Make written lines durable (the OS already has every line)."""
        if self._shutdown:
            return False
        self._sink.writer.flush()
        return True

    def shutdown(self) -> None:
        """Write the log records still waiting, then close what this exporter opened.
        Twice is safe."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        if self.joiner is not None:
            try:
                self.joiner.expire(everything=True)
            except Exception as exc:
                self._sink.writer.record_failure(exc)
        self._sink.release()


_CONTENT_KEYS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS)


def log_line(record: ReadableLogRecord) -> dict[str, Any]:
    """The ``log`` line for one log record, with its GenAI content normalised.

    ``input`` / ``output`` / ``system`` hold the content in the parts form (the same keys as
    ``llm_call``), so a reader joins it onto the step with the same ``span_id``.
    """
    lr = record.log_record
    attrs: Mapping[str, Any] = lr.attributes or {}
    name = lr.event_name or attrs.get("event.name")
    ns = lr.timestamp or lr.observed_timestamp or time.time_ns()
    trace = format(lr.trace_id, "032x") if lr.trace_id else None
    line: dict[str, Any] = {"ts": ns / 1e9, "run": trace or "logs", "kind": "log"}
    if trace:
        line["trace_id"] = trace
    if lr.span_id:
        line["span_id"] = format(lr.span_id, "016x")
    line["event"] = name if isinstance(name, str) else None
    content = messages_from_record(line["event"], attrs, lr.body)
    if lr.body is not None:
        line["body"] = lr.body
    severity = lr.severity_text or (lr.severity_number.name if lr.severity_number else None)
    if severity:
        line["severity"] = severity
    rest = {k: v for k, v in attrs.items() if not (content and k in _CONTENT_KEYS)}
    if rest:
        line["attrs"] = encode_attrs(rest)
    line.update(content)
    return line


class JsonlLogExporter(_FileUser, LogRecordExporter):
    """Writes log records into the trace file; GenAI content joins its span's ``llm_call``.

    Takes the same arguments as :class:`JsonlSpanExporter`. Records that belong to a span not
    yet written wait in ``joiner`` (shared with the span exporter; exporters of the same path
    share one by default); other records become ``log`` lines at once.
    """

    def _setup(self) -> None:
        if self.joiner is not None:
            self.joiner._sink = self._write_quietly
        self._shutdown = False

    def _write_quietly(self, lines: list[dict[str, Any]]) -> None:
        try:
            self._sink.write(lines)
        except Exception as exc:
            self._sink.writer.record_failure(exc)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Park or write ``batch``; FAILURE (never an exception) when it could not be written."""
        if self._shutdown:
            return LogRecordExportResult.FAILURE
        try:
            out = []
            for record in batch:
                line = log_line(record)
                key = (line.get("trace_id"), line.get("span_id"))
                joinable = any(k in line for k in ("input", "output", "system"))
                if (
                    joinable
                    and self.joiner is not None
                    and key[0] is not None
                    and key[1] is not None
                    and self.joiner.park((key[0], key[1]), line)
                ):
                    continue
                out.append(line)
            self._sink.write(out)
            if self.joiner is not None:
                self.joiner.expire()
            return LogRecordExportResult.SUCCESS
        except Exception as exc:
            self._sink.writer.record_failure(exc)
            return LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Write records that waited too long; fsync."""
        if self._shutdown:
            return False
        if self.joiner is not None:
            self.joiner.expire()
        self._sink.writer.flush()
        return True

    def shutdown(self) -> None:
        """Write every waiting record, then close what this exporter opened. Twice is safe."""
        if self._shutdown:
            return
        self._shutdown = True
        if self.joiner is not None:
            self.joiner.expire(everything=True)
            if self.joiner._sink == self._write_quietly:
                self.joiner._sink = None
        self._sink.release()


_configured: list[tuple[TracerProvider, LoggerProvider]] = []


def configure(
    path: str | os.PathLike[str] | None = None,
    *,
    stream: IO[Any] | None = None,
    resource: Resource | None = None,
    service_name: str | None = None,
    cap: int | None = None,
    blob_dir: str | os.PathLike[str] | None = None,
    redact: bool | None = None,
    set_global: bool = True,
    batch: bool = True,
) -> tuple[TracerProvider, LoggerProvider]:
    """Set up a tracer and a logger provider that write to one JSONL file; return them.

    Spans go through a ``BatchSpanProcessor`` (``batch=False``: a simple one), log records
    through a simple processor into a joiner shared with the span exporter, so GenAI content
    emitted as log records lands on its ``llm_call``. With ``set_global`` (default) both
    become the global providers. Everything is flushed and closed at interpreter exit, so a
    short script loses no span.
    """
    if resource is None:
        attrs = {"service.name": service_name} if service_name else {}
        resource = Resource.create(attrs)
    sink = _make_sink(path, stream, cap, redact, blob_dir, ())
    joiner = LogJoiner()
    span_exporter = JsonlSpanExporter(joiner=joiner, _sink=sink)
    log_exporter = JsonlLogExporter(joiner=joiner, _sink=sink)
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(span_exporter) if batch else _simple(span_exporter)
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    if set_global:
        from opentelemetry import trace
        from opentelemetry._logs import set_logger_provider

        trace.set_tracer_provider(tracer_provider)
        set_logger_provider(logger_provider)
    _configured.append((tracer_provider, logger_provider))
    atexit.register(_shutdown_pair, tracer_provider, logger_provider)
    return tracer_provider, logger_provider


def _simple(exporter: SpanExporter) -> Any:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    return SimpleSpanProcessor(exporter)


def _shutdown_pair(tracer_provider: TracerProvider, logger_provider: LoggerProvider) -> None:
    """Logs first (they park), then spans (they join the parked logs and close the file)."""
    try:
        logger_provider.force_flush()
        tracer_provider.shutdown()
        logger_provider.shutdown()
    except Exception:
        logger.warning("otel-jsonl: shutting down the providers failed", exc_info=True)


def default_path() -> Path:
    """Where a zero-argument exporter writes."""
    return Path(os.environ.get(ENV_PATH) or DEFAULT_PATH)

"""``JsonlSpanExporter`` and ``JsonlLogExporter``: OpenTelemetry exporters that write the event
schema.

An application that is already instrumented (openai-v2, OpenInference, OpenLLMetry, the
Anthropic SDK's native spans, or its own GenAI spans) gets the same greppable, replayable file
as one that calls the recorder by hand. The mapping lives in :mod:`otel_jsonl.otel.mapping`
(with the GenAI knowledge in :mod:`otel_jsonl.genai`); capping, the blob store and redaction in
:class:`otel_jsonl.record.LineWriter`.

The exporter contract follows the official OTLP JSON file exporter: a path or a stream;
zero-argument construction (the SDK's auto-configuration builds exporters with no arguments;
the path comes from ``OTEL_EXPORTER_JSONL_PATH``); ``export()`` never raises (it logs and
returns FAILURE); export after ``shutdown()`` returns FAILURE; ``shutdown()`` twice is safe and
closes only what it opened; one write per batch under a lock.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..genai import names as n
from ..genai.content import merge_logs, messages_from_record
from ..genai.run_steps import RunSteps
from ..genai.spans import llm_call_id
from ..record import codec as _codec
from ..record.rotate import RotationPolicy
from ..record.writer import LineWriter, WriterOptions, WriterOptionsKw
from .exporter_screen import line_screen
from .joiner import LogJoiner, joiner_for
from .mapping import encode_attrs, number_events, resource_event, resource_id, span_lines

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_PATH",
    "ENV_CAP",
    "ENV_PATH",
    "ENV_REDACT",
    "JsonlLogExporter",
    "JsonlSpanExporter",
    "log_line",
    "options_from_env",
]

#: Where zero-argument exporters write when ``OTEL_EXPORTER_JSONL_PATH`` is not set.
DEFAULT_PATH = "traces/otel.jsonl"
ENV_PATH = "OTEL_EXPORTER_JSONL_PATH"
ENV_CAP = "OTEL_JSONL_CAP"
ENV_REDACT = "OTEL_JSONL_REDACT"
ENV_FOLLOW_SYMLINKS = "OTEL_JSONL_FOLLOW_SYMLINKS"
ENV_INSECURE_DIRS = "OTEL_JSONL_INSECURE_DIRS"

#: How many runs (traces) keep a step counter; the least recently used is forgotten first.
MAX_RUNS = 4096
#: How many recent LLM calls are remembered to recognise the same call traced twice.
MAX_RECENT_CALLS = 4096
#: The batch buffer is kept for the next batch up to this size (bytes).
MAX_BUFFER = 8 * 1024 * 1024


def _env_cap() -> int | None:
    raw = os.environ.get(ENV_CAP, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{ENV_CAP} must be a whole number of bytes, got {raw!r}") from None


def _env_bool(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _env_file_safety(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``follow_symlinks`` and ``insecure_dirs`` from the environment, unless given."""
    out: dict[str, Any] = {}
    follow = _env_bool(ENV_FOLLOW_SYMLINKS)
    if follow is not None and "follow_symlinks" not in overrides:
        out["follow_symlinks"] = follow
    dirs = os.environ.get(ENV_INSECURE_DIRS, "").strip().lower()
    if dirs and "insecure_dirs" not in overrides:
        if dirs not in ("refuse", "warn"):
            raise ValueError(f"{ENV_INSECURE_DIRS} must be refuse or warn, got {dirs!r}")
        out["insecure_dirs"] = dirs
    return out


def options_from_env(
    options: WriterOptions | None = None, **overrides: Unpack[WriterOptionsKw]
) -> WriterOptions:
    """The writer options of an exporter: ``options`` and keyword ``overrides`` as given, and
    for what neither sets, ``OTEL_JSONL_CAP``, ``OTEL_JSONL_REDACT``,
    ``OTEL_JSONL_FOLLOW_SYMLINKS``, ``OTEL_JSONL_INSECURE_DIRS`` and the
    ``OTEL_JSONL_ROTATE_*`` variables from the environment."""
    from_env: dict[str, Any] = {}
    if options is None:
        rotate = RotationPolicy.from_env()
        if rotate is not None and "rotate" not in overrides:
            from_env["rotate"] = rotate
        cap, redact = _env_cap(), _env_bool(ENV_REDACT)
        if cap is not None and "cap" not in overrides:
            from_env["cap"] = cap
        if redact is not None and "redact" not in overrides:
            from_env["redact"] = redact
        from_env.update(_env_file_safety(overrides))
    return WriterOptions.build(options, **from_env, **overrides)


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

    def write_bytes(self, data: bytes | memoryview) -> None:
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
    path: str | os.PathLike[str] | None, stream: IO[Any] | None, options: WriterOptions
) -> _Sink:
    if path is not None and stream is not None:
        raise ValueError("give a path or a stream, not both")
    if path is None and stream is None:
        path = os.environ.get(ENV_PATH) or DEFAULT_PATH
    return _Sink(LineWriter(path, stream=stream, options=options), owned=True)


class _SeqCounter:
    """Step numbers per run, for a bounded number of recent runs."""

    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self.max_runs = max_runs
        #: The next step number of each run, the most recently used last.
        self._runs: OrderedDict[str, int] = OrderedDict()

    def take(self, run: str, count: int = 1) -> int:
        """The first of ``count`` step numbers of ``run``, taken in a row."""
        runs = self._runs
        seq = runs.pop(run, 0)  # popped and put back: the run moves to the end
        runs[run] = seq + count
        if not seq and len(runs) > self.max_runs:
            runs.popitem(last=False)
        return seq

    def for_run(self, run: str, count: int) -> Callable[[], int]:
        """``count`` step numbers of ``run``, one per call."""
        return itertools.count(self.take(run, count)).__next__


_U = TypeVar("_U", bound="_FileUser")


class _FileUser:
    """What both exporters share: the file (a shared sink) and the log joiner."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        joiner: LogJoiner | Literal[False] | None = None,
        options: WriterOptions | None = None,
        _sink: _Sink | None = None,
        **overrides: Unpack[WriterOptionsKw],
    ) -> None:
        if _sink is None:
            _sink = _make_sink(path, stream, options_from_env(options, **overrides))
        self._sink = _sink
        self._sink.users += 1
        # False: no joiner at all (import writes log records where they are, as log lines).
        self.joiner: LogJoiner | None = (
            None if joiner is False else joiner or joiner_for(self._sink.writer.path)
        )
        self._setup()

    @classmethod
    def sharing(cls: type[_U], other: _FileUser) -> _U:
        """An exporter that writes to ``other``'s file (one writer, one lock, closed when the
        last of them shuts down) and shares its log joiner."""
        return cls(joiner=other.joiner or False, _sink=other._sink)

    def _setup(self) -> None:
        """State of the exporter itself (after the file and joiner are set)."""

    @property
    def writer(self) -> LineWriter:
        """The line writer (its ``dropped`` and ``last_error`` tell what failed)."""
        return self._sink.writer


class JsonlSpanExporter(_FileUser, SpanExporter):
    """Writes finished spans as event lines (see docs/exporter.md).

    ``path`` or ``stream`` (neither: ``OTEL_EXPORTER_JSONL_PATH``, default
    ``traces/otel.jsonl``), and the writer options (:class:`~otel_jsonl.record.WriterOptions`
    as ``options`` or keywords: ``cap`` bytes per string value, default ``OTEL_JSONL_CAP`` or
    4096, 0 = off; ``blob_dir``; ``redact``, default ``OTEL_JSONL_REDACT`` or on;
    ``redact_patterns``; ``fsync``, default ``"close"``). ``joiner`` receives GenAI log records
    from a :class:`JsonlLogExporter` so their content lands on the ``llm_call`` line (default:
    the one shared by exporters of the same path; ``False``: none, records stay ``log`` lines).
    """

    def _setup(self) -> None:
        self._lock = threading.Lock()
        self._shutdown = False
        self._seq = _SeqCounter()
        self._resources: dict[str, dict[str, Any]] = {}
        # A file that rotation starts gets the resource lines again at its top, so every file
        # of a set reads (and converts) on its own.
        self._sink.writer.on_new_file = self._resource_lines
        self._resource_ids: dict[int, tuple[Resource, str]] = {}
        self._by_response: OrderedDict[str, str] = OrderedDict()
        self._llm_child_of: OrderedDict[str, str] = OrderedDict()
        self._run_steps = RunSteps()
        redactor = self._sink.writer.redactor
        #: Screens step lines on the span's own strings (see exporter_screen); None when the
        #: writer's redactor is not the default one, or the scan has its compiled prefilter
        #: (the whole line is screened then).
        plain = redactor is not None and redactor.plain and _codec.HAVE_ORJSON
        self._screen = line_screen() if plain else None
        self._buffer = bytearray()

    def _resource_ref(self, resource: Resource) -> str:
        """The id of ``resource`` (made once per resource object)."""
        cached = self._resource_ids.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        rid = resource_id(resource)
        if len(self._resource_ids) > 64:
            self._resource_ids.clear()
        self._resource_ids[id(resource)] = (resource, rid)
        return rid

    def _resource_line(
        self, resource: Resource, rid: str, out: list[dict[str, Any]], run: str, ts: float
    ) -> None:
        """The ``resource`` line of ``resource``, the first time it is seen."""
        event = resource_event(resource, run=run, ts=ts, rid=rid)
        self._resources[rid] = dict(event)
        out.append(event)

    def _resource_lines(self) -> bytes:
        encode = self._sink.writer.encode
        # Stamped with the moment the file starts, so that the first line of each file of a
        # set differs: a follower's position names its file by a hash of the first line.
        now = round(time.time(), 6)
        return b"".join([encode(dict(e, ts=now)) for e in list(self._resources.values())])

    def _duplicate_of(self, event: dict[str, Any], span: ReadableSpan) -> str | None:
        """The span id of the ``llm_call`` already written for the same model call."""
        span_id = event["span_id"]
        if event["otel"].get("moved", {}).get(n.GEN_AI_RESPONSE_ID) == "/response_id":
            # The attribute's very value (read from the line: the span's attributes are a
            # proxy, slower to read).
            rid = event["response_id"]
            rid = rid if isinstance(rid, str) and rid else None
        else:
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
            with self._lock:
                self._export(spans)
            if self.joiner is not None:
                self.joiner.expire()
            return SpanExportResult.SUCCESS
        except Exception as exc:
            self._buffer = bytearray()  # a view of the old one may still be held
            self._sink.writer.record_failure(exc)
            return SpanExportResult.FAILURE

    def _export(self, spans: Sequence[ReadableSpan]) -> None:
        # Each span's lines are encoded as soon as they are mapped and copied into a buffer
        # kept from batch to batch: the dicts and bytes die young, and the batch's memory is
        # not new memory each time (fresh pages cost more than encoding).
        encode = self._sink.writer.encode
        screen = self._screen
        buffer = self._buffer
        at = 0
        events: list[dict[str, Any]] = []
        for span in spans:
            native = self._map(span, events)
            for event in events:
                if screen is None:
                    line = encode(event, False, native is event)
                else:
                    line = encode(event, screen.clean(event), native is event)
                end = at + len(line)
                buffer[at:end] = line
                at = end
            events.clear()
        if at:
            with memoryview(buffer) as view, view[:at] as data:
                self._sink.write_bytes(data)
        if len(buffer) > MAX_BUFFER:
            self._buffer = bytearray()

    def _map(self, span: ReadableSpan, out: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Append the lines of ``span`` to ``out``; return its step line when it is known to
        hold no NaN or infinite float (:func:`.mapping.span_lines`)."""
        resource = span.resource
        rid = self._resource_ref(resource)
        events, native = span_lines(span, resource_ref=rid, run_steps=self._run_steps)
        main = events[0] if "otel" in events[0] else events[1]
        run = main["run"]
        if rid not in self._resources:
            self._resource_line(resource, rid, out, run, main["ts"])
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
                merge_logs(main, logs)
                logs = []
                native = False  # the records' content
        parent = main.get("parent_id")
        if main["kind"] != "span":
            self._run_steps.settle(run, events, root=parent is None)
        self._run_steps.end(run, parent)
        if len(events) == 1:  # most spans: their step alone, numbered at once
            main["seq"] = self._seq.take(run)
            out.append(main)
        else:
            number_events(events, self._seq.for_run(run, len(events)))
            out.extend(events)
        if logs:
            out.extend(logs)
        return main if native else None

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


_CONTENT_KEYS = (n.GEN_AI_INPUT_MESSAGES, n.GEN_AI_OUTPUT_MESSAGES, n.GEN_AI_SYSTEM_INSTRUCTIONS)


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
            self.joiner.attach(self._write_quietly)
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
            if self.joiner.attached(self._write_quietly):
                self.joiner.attach(None)
        self._sink.release()

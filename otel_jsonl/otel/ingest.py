"""The receiver's core, whatever the transport: an OTLP export request is decoded
(:mod:`~otel_jsonl.otel.otlp_decode`), queued in one bounded queue, and written in arrival order
by one thread through ``JsonlSpanExporter`` / ``JsonlLogExporter`` sharing one file and one log
joiner; a full queue refuses the request (the transports answer 429 / ``RESOURCE_EXHAUSTED``)."""

from __future__ import annotations

import collections
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from google.protobuf.message import Message  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..record.writer import WriterOptions
from .exporter import JsonlLogExporter, JsonlSpanExporter
from .joiner import LogJoiner
from .otlp_decode import ResourceCache, decode_logs, decode_spans, parse_body

__all__ = [
    "DEFAULT_QUEUE",
    "DEFAULT_RETRY_AFTER",
    "Ingest",
    "QueueFull",
    "ReceiverStats",
    "Stopping",
]

logger = logging.getLogger("otel_jsonl")

#: Spans and log records that may wait for the writer at once.
DEFAULT_QUEUE = 20_000
#: Seconds a refused sender is told to wait (HTTP ``Retry-After``, gRPC ``RetryInfo``).
DEFAULT_RETRY_AFTER = 1


@dataclass
class ReceiverStats:
    """What a receiver took in and wrote (counts of spans and log records)."""

    spans: int = 0
    logs: int = 0
    rejected: int = 0
    throttled_requests: int = 0
    bad_requests: int = 0
    metric_requests: int = 0
    write_failures: int = 0

    def summary(self) -> str:
        """One line for the terminal."""
        text = f"{self.spans} spans, {self.logs} log records written"
        extra = [
            f"{n} {what}"
            for n, what in (
                (self.rejected, "rejected"),
                (self.throttled_requests, "requests throttled (429)"),
                (self.bad_requests, "bad requests"),
                (self.metric_requests, "metrics requests dropped"),
                (self.write_failures, "items not written"),
            )
            if n
        ]
        return text + ("; " + ", ".join(extra) if extra else "")


class QueueFull(Exception):
    """The queue has no room for this batch now (answer 429 / RESOURCE_EXHAUSTED)."""


class Stopping(Exception):
    """The receiver is stopping (answer 503 / UNAVAILABLE)."""


class _Pipeline:
    """A bounded queue of decoded batches and the one thread that writes them."""

    def __init__(
        self,
        spans: JsonlSpanExporter,
        logs: JsonlLogExporter,
        capacity: int,
        stats: ReceiverStats,
    ) -> None:
        self.spans = spans
        self.logs = logs
        self.capacity = capacity
        self.stats = stats
        self._queue: collections.deque[tuple[str, list[Any]]] = collections.deque()
        self._pending = 0  # items queued or being written
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="otel-jsonl-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Items waiting or being written."""
        return self._pending

    def submit(self, signal: str, items: list[Any]) -> None:
        """Queue ``items``; raises :class:`QueueFull` or :class:`Stopping`."""
        n = len(items)
        if not n:
            return
        with self._cond:
            if self._closed:
                raise Stopping
            # A batch larger than the whole queue still goes in when the queue is empty, so
            # a sender with big batches is slowed down, never refused forever.
            if self._pending and self._pending + n > self.capacity:
                raise QueueFull
            self._queue.append((signal, items))
            self._pending += n
            self._cond.notify()

    def _take(self) -> tuple[str, list[Any]] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            signal, items = self._queue.popleft()
            # Consecutive batches of one signal are written as one (fewer, larger writes).
            while self._queue and self._queue[0][0] == signal and len(items) < 1024:
                items = items + self._queue.popleft()[1]
            return signal, items

    def _run(self) -> None:
        while True:
            job = self._take()
            if job is None:
                return
            signal, items = job
            try:
                if signal == "spans":
                    ok = self.spans.export(items).name == "SUCCESS"
                else:
                    ok = self.logs.export(items).name == "SUCCESS"
            except Exception:  # export() never raises; a bug must not stop the writer thread
                logger.exception("otel-jsonl serve: writing a batch failed")
                ok = False
            with self._cond:
                if not ok:
                    self.stats.write_failures += len(items)
                elif signal == "spans":
                    self.stats.spans += len(items)
                else:
                    self.stats.logs += len(items)
                self._pending -= len(items)
                self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Stop taking batches; wait until every queued one is written (True) or the timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return True


class Ingest:
    """Decodes, queues and writes OTLP export requests (what every transport calls).

    ``path`` or ``stream`` is where lines go; ``options`` (:class:`WriterOptions`: cap, blobs,
    redaction, ...) are handed unchanged to the exporters. ``token``, when set, is the bearer
    token requests must carry (see :meth:`authorized`). ``on_note`` gets one-time notes
    (metrics dropped); without it they go to the ``otel_jsonl`` logger.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        token: str | None = None,
        queue_size: int = DEFAULT_QUEUE,
        retry_after: int = DEFAULT_RETRY_AFTER,
        on_note: Callable[[str], None] | None = None,
        options: WriterOptions | None = None,
    ) -> None:
        if queue_size <= 0 or retry_after < 0:
            raise ValueError("queue_size must be positive and retry_after not negative")
        self.token = token
        self.retry_after = retry_after
        self.on_note = on_note
        self.stats = ReceiverStats()
        self._resources = ResourceCache()
        self._noted: set[str] = set()
        self._lock = threading.Lock()
        # One file, one writer, one log joiner: the pair configure() builds in a process.
        self.span_exporter = JsonlSpanExporter(
            path, stream=stream, joiner=LogJoiner(), options=options
        )
        self.log_exporter = JsonlLogExporter.sharing(self.span_exporter)
        error = self.span_exporter.writer.last_error
        if error is not None:
            # A receiver that cannot open its file would answer 200 and drop everything.
            self.span_exporter.shutdown()
            self.log_exporter.shutdown()
            raise OSError(f"cannot write {path}: {error}")
        self._pipeline = _Pipeline(self.span_exporter, self.log_exporter, queue_size, self.stats)

    @property
    def queued(self) -> int:
        """Spans and log records waiting or being written."""
        return self._pipeline.pending

    def close(self, timeout: float = 30.0) -> ReceiverStats:
        """Write everything queued (within ``timeout``), then close the file."""
        if not self._pipeline.drain(timeout):
            logger.warning("otel-jsonl serve: the writer did not finish within %.0f s", timeout)
        self.span_exporter.shutdown()
        self.log_exporter.shutdown()
        return self.stats

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` value carries the token (always, without one)."""
        if not self.token:
            return True
        if not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())

    def note_once(self, key: str, text: str) -> None:
        """Tell ``on_note`` (else the log) ``text``, once per receiver."""
        with self._lock:
            if key in self._noted:
                return
            self._noted.add(key)
        if self.on_note is not None:
            self.on_note(text)
        else:
            logger.warning("%s", text)

    def handle(self, signal: str, body: bytes, *, json: bool) -> Message:
        """Decode and queue one export request of ``signal`` (``traces``, ``logs``,
        ``metrics``); return its response message.

        Raises :class:`~otel_jsonl.otel.otlp_decode.BodyError` (a bad body),
        :class:`QueueFull` or :class:`Stopping`.
        """
        if signal == "traces":
            request = ExportTraceServiceRequest()
            parse_body(body, request, json=json)
            spans, rejected = decode_spans(request, self._resources)
            self._pipeline.submit("spans", spans)
            self._count_rejected(rejected)
            response = ExportTraceServiceResponse()
            if rejected:
                response.partial_success.CopyFrom(
                    ExportTracePartialSuccess(
                        rejected_spans=rejected,
                        error_message=f"{rejected} spans without a valid trace or span id",
                    )
                )
            return response
        if signal == "logs":
            return self._handle_logs(body, json=json)
        parse_body(body, ExportMetricsServiceRequest(), json=json)
        self.count("metric_requests")
        self.note_once(
            "metrics",
            "otel-jsonl serve: metrics are accepted and dropped (the file holds spans and log "
            "records); set OTEL_METRICS_EXPORTER=none in the app to stop sending them",
        )
        return ExportMetricsServiceResponse()

    def _handle_logs(self, body: bytes, *, json: bool) -> Message:
        request = ExportLogsServiceRequest()
        parse_body(body, request, json=json)
        records, rejected = decode_logs(request, self._resources)
        self._pipeline.submit("logs", records)
        self._count_rejected(rejected)
        response = ExportLogsServiceResponse()
        if rejected:
            response.partial_success.CopyFrom(
                ExportLogsPartialSuccess(
                    rejected_log_records=rejected,
                    error_message=f"{rejected} log records with a malformed trace or span id",
                )
            )
        return response

    def _count_rejected(self, n: int) -> None:
        if n:
            with self._lock:
                self.stats.rejected += n

    def count(self, what: str) -> None:
        """Count a request in ``stats`` (``throttled_requests``, ``bad_requests``, ...)."""
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)

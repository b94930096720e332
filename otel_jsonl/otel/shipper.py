"""The shipper: spans (or log records) in bounded batches through an SDK exporter, with one
retry loop that knows what each request met (:mod:`otel_jsonl.otel.transport`): a refused
connection said at once, a 413 halving the batch, ``Retry-After`` honoured, credentials
refused or a missing endpoint not retried, and a report that counts spans, batches and
attempts apart. Built by :mod:`otel_jsonl.otel.ship`, which re-exports it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace.export import SpanExporter

from .otlp_json import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_SIZE
from .transport import Attempts, Outcome, probe

__all__ = ["RetryPolicy", "ShipReport", "Shipper"]


@dataclass
class RetryPolicy:
    """The outer retry around the SDK exporter's own: ``attempts`` sends per batch at most,
    waiting ``initial_backoff`` seconds, doubling up to ``max_backoff``, and never retrying
    after ``max_time`` seconds from the batch's first attempt. Once a batch has failed for
    good, later batches get one attempt each until one gets through."""

    attempts: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    max_time: float = 120.0


@dataclass
class ShipReport:
    """What a :class:`Shipper` did: spans and batches sent and failed (each span and batch
    counted once, however often it was tried), requests made (``attempts``), batches halved
    after a 413 (``splits``), re-sends (``batches_retried``, and their spans), and the last
    error seen. ``refused`` is True when the backend refused the credentials; ``unit`` names
    what was shipped (``spans``, or ``log records`` for a log shipper: the ``spans_*`` counts
    count those)."""

    endpoint: str = ""
    unit: str = "spans"
    refused: bool = False
    unsupported: bool = False
    """The endpoint does not take this signal (HTTP 404/405/415/501, gRPC UNIMPLEMENTED): a
    trace-only backend's logs endpoint. Nothing more is sent to it."""
    spans_sent: int = 0
    spans_retried: int = 0
    spans_failed: int = 0
    batches_sent: int = 0
    batches_retried: int = 0
    batches_failed: int = 0
    attempts: int = 0
    splits: int = 0
    last_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.spans_failed == 0

    def summary(self) -> str:
        """One line: ``sent N spans in B batches to URL (A attempts, F failed)``."""
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        failed = f"{self.spans_failed} failed"
        if self.batches_failed:
            failed += f" in {self.batches_failed} batch{'es' if self.batches_failed != 1 else ''}"
        text = (
            f"sent {self.spans_sent} {self.unit} in {self.batches_sent} "
            f"batch{'es' if self.batches_sent != 1 else ''} to {self.endpoint} "
            f"({tries}, {failed})"
        )
        if self.splits:
            text += f"; {self.splits} batch{'es' if self.splits != 1 else ''} split after HTTP 413"
        if self.spans_failed and self.last_error:
            text += f"; last error: {self.last_error}"
        return text


class _Capture(logging.Handler):
    """Keeps the SDK exporters' log messages instead of letting them reach stderr."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            try:
                self.last = record.getMessage()
            except Exception:  # broad catch: a bad log format must not break shipping
                self.last = str(record.msg)


#: What the SDK exporters log when the backend refuses the credentials.
_REFUSED = re.compile(r"code: (401|403)\b|UNAUTHENTICATED|PERMISSION_DENIED")
#: ... and when the endpoint does not exist for this signal.
_UNSUPPORTED = re.compile(r"code: (404|405|415|501)\b|UNIMPLEMENTED")


def _estimate(item: Any) -> int:
    record = getattr(item, "log_record", None)
    if record is not None:  # a log record: its body and attributes
        body = record.body
        size = 128 + (len(body) if isinstance(body, str) else 256 if body is not None else 0)
        attrs = record.attributes or {}
        events: Sequence[Any] = ()
    else:
        size = 128 + len(item.name)
        attrs = item.attributes or {}
        events = item.events
    for key, value in attrs.items():
        size += len(key) + (len(value) if isinstance(value, (str, bytes)) else 16)
    for event in events:
        size += 64
        for value in (event.attributes or {}).values():
            size += len(value) if isinstance(value, (str, bytes)) else 16
    return size


class Shipper:
    """Sends spans through an SDK ``SpanExporter`` (or log records through a
    ``LogRecordExporter``, with ``unit="log records"``) in bounded batches with an outer retry.

    ``add()`` buffers a span and sends a batch once it holds ``batch_size`` spans or about
    ``batch_bytes`` bytes; ``close()`` sends the rest, shuts the exporter down and returns the
    :class:`ShipReport`. Export failures never raise; the SDK's log output is captured and its
    last message kept as ``report.last_error``. ``attempts`` (given to
    :func:`make_span_exporter` too) tells the shipper what each request met: then 413 halves
    the batch, ``Retry-After`` sets the wait, and a failure that cannot pass on retry (a
    certificate not trusted, a 400) is given up at once. ``notify`` is called with a line
    each time a batch is to be re-sent (the CLI prints it), so a user learns what is wrong
    before the waits.
    """

    def __init__(
        self,
        exporter: SpanExporter | LogRecordExporter,
        *,
        endpoint: str = "",
        unit: str = "spans",
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        attempts: Attempts | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.exporter = exporter
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.retry = retry or RetryPolicy()
        self.report = ShipReport(endpoint=endpoint, unit=unit)
        self._sleep = sleep
        self._clock = clock
        self.attempts = attempts
        self._notify = notify
        self._batch: list[Any] = []
        self._bytes = 0
        self._down = False
        self._closed = False
        self._capture = _Capture()
        self._loggers = [logging.getLogger("opentelemetry.exporter")]
        self._saved: list[bool] = []

    def __enter__(self) -> Shipper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, span: Any) -> None:
        """Buffer ``span``; send the batch when it is full."""
        self._batch.append(span)
        self._bytes += _estimate(span)
        if len(self._batch) >= self.batch_size or self._bytes >= self.batch_bytes:
            self.flush()

    def add_all(self, spans: Iterable[Any]) -> None:
        """Buffer and send every span of ``spans``."""
        for span in spans:
            self.add(span)

    def flush(self) -> None:
        """Send what is buffered now."""
        if not self._batch:
            return
        batch, self._batch, self._bytes = self._batch, [], 0
        self._send(batch)

    def _mute(self) -> None:
        self._saved = []
        for logger in self._loggers:
            self._saved.append(logger.propagate)
            logger.addHandler(self._capture)
            logger.propagate = False

    def _unmute(self) -> None:
        for logger, propagate in zip(self._loggers, self._saved, strict=True):
            logger.removeHandler(self._capture)
            logger.propagate = propagate
        self._saved = []

    def _export(self, batch: Sequence[Any]) -> Outcome | None:
        """One attempt: None when the batch got through, else what went wrong."""
        seen = self.attempts
        before = 0
        if seen is not None:
            refused = probe(seen)
            if refused is not None:
                self.report.attempts += 1
                self.report.last_error = refused.message
                return refused
            seen.last = None
            before = seen.count
        self._capture.last = None
        self._mute()
        try:
            result = self.exporter.export(batch)
        except Exception as exc:  # broad catch: an exporter must not raise; if it does, count it
            result = None
            self._capture.last = f"{type(exc).__name__}: {exc}"
        finally:
            self._unmute()
        made = seen.count - before if seen is not None else 0
        self.report.attempts += max(made, 1)
        # SpanExportResult or LogRecordExportResult: both name success SUCCESS.
        if getattr(result, "name", None) == "SUCCESS":
            return None
        outcome = seen.last if seen is not None else None
        if outcome is None:
            # The SDK's log exporter says each message once per 20 s: keep the last one said.
            said = self._capture.last or self.report.last_error or "export failed"
            # The SDK drops a request over its max_request_size (64 MiB) before sending it:
            # the same remedy as a 413, and no use sending it again as it is.
            too_big = "max_request_size" in said
            outcome = Outcome(said, status=413 if too_big else None, retryable=not too_big)
        self.report.last_error = outcome.message
        self._classify(outcome)
        return outcome

    def _classify(self, outcome: Outcome) -> None:
        status = outcome.status
        if status in (401, 403) or (status is None and _REFUSED.search(outcome.message)):
            self.report.refused = True
        elif status in (404, 405, 415, 501) or (
            status is None and _UNSUPPORTED.search(outcome.message)
        ):
            self.report.unsupported = True

    def send(self, batch: Sequence[Any]) -> bool:
        """Send ``batch`` now, with the retry policy; True when the backend accepted it."""
        return self._send(list(batch))

    def _send(self, batch: list[Any]) -> bool:
        if self.report.unsupported:
            self.report.batches_failed += 1
            self.report.spans_failed += len(batch)
            return False
        policy = self.retry
        allowed = 1 if self._down else max(1, policy.attempts)
        began = self._clock()
        backoff = policy.initial_backoff
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                self.report.batches_retried += 1
                self.report.spans_retried += len(batch)
            outcome = self._export(batch)
            if outcome is None:
                self.report.batches_sent += 1
                self.report.spans_sent += len(batch)
                self._down = False
                return True
            if outcome.status == 413 and len(batch) > 1:
                # Too large for the receiver: halve it until the parts fit; a single span
                # that is still too large fails on its own.
                self.report.splits += 1
                half = len(batch) // 2
                first = self._send(batch[:half])
                second = self._send(batch[half:])
                return first and second
            report = self.report
            if not outcome.retryable or attempt >= allowed or report.refused or report.unsupported:
                break
            wait = outcome.retry_after if outcome.retry_after is not None else backoff
            if self._clock() - began + wait > policy.max_time:
                if outcome.retry_after is not None:
                    self.report.last_error = (
                        f"{outcome.message} (Retry-After: {wait:g} s, beyond the "
                        f"{policy.max_time:g} s retry limit)"
                    )
                break
            if self._notify is not None:
                self._notify(
                    f"{self.report.endpoint}: {outcome.message}; retrying in {wait:g} s "
                    f"(attempt {attempt + 1} of {allowed})"
                )
            self._sleep(wait)
            if outcome.retry_after is None:
                backoff = min(backoff * 2, policy.max_backoff)
        self.report.batches_failed += 1
        self.report.spans_failed += len(batch)
        if outcome.retryable:
            self._down = True
        return False

    def close(self) -> ShipReport:
        """Send the rest, shut the exporter down (twice is safe), return the report."""
        if self._closed:
            return self.report
        try:
            self.flush()
        finally:
            self._closed = True
            self._mute()
            try:
                self.exporter.shutdown()
            except Exception:  # broad catch: shutting down a broken exporter is best effort
                pass
            finally:
                self._unmute()
        return self.report

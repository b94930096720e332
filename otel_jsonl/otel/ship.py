"""Shipping spans (and log records) to an OTLP endpoint through the SDK's OTLP exporters.

Bounded batches go to the SDK's OTLP/HTTP-protobuf or OTLP/gRPC exporter (which reads the
``OTEL_EXPORTER_OTLP_*`` variables for whatever is not given). Over HTTP a recording session
(:mod:`otel_jsonl.otel.transport`) tells the shipper what each request met, so: a refused
connection is said at once as such; a 413 halves the batch until the parts fit; a 429/503 is
re-sent after its ``Retry-After``; everything else transient is retried with exponential
backoff, bounded in attempts and time. A backend that refuses the credentials (HTTP
401/403, gRPC UNAUTHENTICATED / PERMISSION_DENIED) is not retried: a wrong key stays wrong.
The SDK's log messages are captured, not printed.
"""

from __future__ import annotations

import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace.export import SpanExporter

from .otlp_json import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_SIZE
from .transport import Attempts, Outcome, RecordingSession, probe

__all__ = [
    "PROTOCOLS",
    "Attempts",
    "RetryPolicy",
    "ShipReport",
    "Shipper",
    "logs_endpoint_for",
    "make_log_exporter",
    "make_span_exporter",
    "resolve_endpoint",
    "resolve_protocol",
]

PROTOCOLS = ("http/protobuf", "grpc")


def resolve_protocol(protocol: str | None = None) -> str:
    """The OTLP protocol: ``protocol``, else ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, else
    ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``http/protobuf``."""
    value = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if value not in PROTOCOLS:
        raise ValueError(f"unsupported OTLP protocol {value!r} (use one of {', '.join(PROTOCOLS)})")
    return value


def resolve_endpoint(endpoint: str | None, protocol: str) -> str:
    """The URL spans go to. An explicit HTTP endpoint with no path gets ``/v1/traces``;
    without one, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (as it is) or
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (plus ``/v1/traces`` over HTTP), else the default
    ``http://localhost:4318/v1/traces`` (HTTP) or ``http://localhost:4317`` (gRPC)."""
    if endpoint is None:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if endpoint:
            return endpoint
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not base:
            return (
                "http://localhost:4318/v1/traces" if protocol != "grpc" else "http://localhost:4317"
            )
        if protocol == "grpc":
            return base
        return base.rstrip("/") + "/v1/traces"
    if protocol != "grpc":
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.path in ("", "/"):
            return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def _env_headers() -> dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    return dict(parse_env_headers(raw, liberal=True)) if raw else {}


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def _grpc_credentials(
    certificate: str | None, client_key: str | None, client_certificate: str | None
) -> Any:
    """TLS channel credentials from PEM files (None: the exporter's own defaults). A file not
    given as an option comes from its ``OTEL_EXPORTER_OTLP_(TRACES_)*`` variable, so a client
    certificate given alone is not dropped."""
    if certificate is None and client_key is None and client_certificate is None:
        return None
    import grpc  # type: ignore[import-untyped,unused-ignore]

    def env(name: str) -> str | None:
        return os.environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or os.environ.get(
            f"OTEL_EXPORTER_OTLP_{name}"
        )

    certificate = certificate or env("CERTIFICATE")
    client_key = client_key or env("CLIENT_KEY")
    client_certificate = client_certificate or env("CLIENT_CERTIFICATE")

    return grpc.ssl_channel_credentials(
        _read_file(certificate), _read_file(client_key), _read_file(client_certificate)
    )


def make_span_exporter(
    endpoint: str | None = None,
    *,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    timeout: float | None = None,
    certificate: str | None = None,
    client_key: str | None = None,
    client_certificate: str | None = None,
    insecure: bool | None = None,
    attempts: Attempts | None = None,
) -> SpanExporter:
    """The SDK's OTLP span exporter for ``protocol`` (see :func:`resolve_protocol`).

    Anything left as None is read by the SDK exporter from the ``OTEL_EXPORTER_OTLP_*``
    variables (endpoint, compression, timeout, certificate, client key and certificate);
    ``headers`` are added to those of ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``.
    ``compression`` is ``gzip`` or ``none``. ``attempts``, shared with a :class:`Shipper`, lets
    it see what each request met (see :mod:`otel_jsonl.otel.transport`). A certificate or
    key file that does not exist raises ValueError here, before anything is sent.
    """
    _check_files(certificate=certificate, client_key=client_key, client_cert=client_certificate)
    proto = resolve_protocol(protocol)
    url = resolve_endpoint(endpoint, proto) if endpoint is not None else None
    merged = {**_env_headers(), **(headers or {})} if headers else None
    if compression is not None and compression not in ("gzip", "none"):
        raise ValueError(f"unsupported compression {compression!r} (use gzip or none)")
    if proto == "grpc":
        import grpc  # type: ignore[import-untyped,unused-ignore]
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        credentials = _grpc_credentials(certificate, client_key, client_certificate)
        gcomp = None
        if compression is not None:
            gcomp = (
                grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.NoCompression
            )
        if attempts is not None:
            _probe_grpc(attempts, resolve_endpoint(endpoint, proto), timeout)
        return GrpcExporter(
            endpoint=url,
            insecure=insecure,
            credentials=credentials,
            headers=merged,
            timeout=timeout,
            compression=gcomp,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    hcomp = None
    if compression is not None:
        hcomp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
    return HttpExporter(
        endpoint=url,
        certificate_file=certificate,
        client_key_file=client_key,
        client_certificate_file=client_certificate,
        headers=merged,
        timeout=timeout,
        compression=hcomp,
        session=_recording_session(attempts, timeout),
    )


def _recording_session(attempts: Attempts | None, timeout: float | None) -> Any:
    """The session that tells the shipper what each request met (None: the SDK's own)."""
    if attempts is None or os.environ.get(_CREDENTIAL_PROVIDER_ENV):
        return None
    attempts.timeout = timeout or _env_timeout()
    return RecordingSession(attempts)


def _check_files(**paths: str | None) -> None:
    """Each TLS file, given or named by its variable, must exist: a missing one would fail
    every request, and be retried as if the backend were down."""
    for what, path in paths.items():
        name = {"client_cert": "CLIENT_CERTIFICATE"}.get(what, what.upper())
        label = what.replace("_", " ") + " file"
        for var in (f"OTEL_EXPORTER_OTLP_TRACES_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
            if path is None and os.environ.get(var):
                path, label = os.environ[var], f"{var}:"
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{label} {path}: no such file")


def _probe_grpc(attempts: Attempts, url: str, timeout: float | None) -> None:
    """Let the shipper check that something listens at a gRPC endpoint before each attempt."""
    target = urllib.parse.urlsplit(url if "//" in url else f"//{url}")
    if target.hostname:
        attempts.probe_address = (target.hostname, target.port or 4317)
    attempts.timeout = timeout or _env_timeout()


#: The SDK's own variable for a session factory; when it is set, its session is used.
_CREDENTIAL_PROVIDER_ENV = "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER"


def _env_timeout() -> float:
    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    try:
        return float(raw) if raw else 10.0
    except ValueError:
        return 10.0


def logs_endpoint_for(traces_endpoint: str, protocol: str) -> str:
    """The logs URL beside a traces URL: ``.../v1/traces`` becomes ``.../v1/logs`` over HTTP
    (``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` wins when set); gRPC uses the same address."""
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
    if explicit:
        return explicit
    if protocol == "grpc":
        return traces_endpoint
    parsed = urllib.parse.urlsplit(traces_endpoint)
    path = parsed.path
    if path.endswith("/v1/traces"):
        path = path[: -len("/v1/traces")] + "/v1/logs"
    else:
        path = path.rstrip("/") + "/v1/logs"
    return urllib.parse.urlunsplit(parsed._replace(path=path))


def make_log_exporter(
    endpoint: str,
    *,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    timeout: float | None = None,
    certificate: str | None = None,
    client_key: str | None = None,
    client_certificate: str | None = None,
    insecure: bool | None = None,
) -> LogRecordExporter:
    """The SDK's OTLP log exporter (HTTP/protobuf to ``endpoint`` as given, e.g. from
    :func:`logs_endpoint_for`, or gRPC's LogsService), with the same options as
    :func:`make_span_exporter`."""
    proto = resolve_protocol(protocol)
    merged = {**_env_headers(), **(headers or {})} if headers else None
    if compression is not None and compression not in ("gzip", "none"):
        raise ValueError(f"unsupported compression {compression!r} (use gzip or none)")
    if proto == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
            OTLPLogExporter as GrpcLogExporter,
        )

        credentials = None
        if certificate is not None:
            credentials = grpc.ssl_channel_credentials(
                _read(certificate), _read(client_key), _read(client_certificate)
            )
        gcomp = None
        if compression is not None:
            gcomp = (
                grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.NoCompression
            )
        return GrpcLogExporter(
            endpoint=endpoint,
            insecure=insecure,
            credentials=credentials,
            headers=merged,
            timeout=timeout,
            compression=gcomp,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    hcomp = None
    if compression is not None:
        hcomp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
    return HttpLogExporter(
        endpoint=endpoint,
        certificate_file=certificate,
        client_key_file=client_key,
        client_certificate_file=client_certificate,
        headers=merged,
        timeout=timeout,
        compression=hcomp,
    )


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


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

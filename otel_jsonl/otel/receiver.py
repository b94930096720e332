"""A local OTLP receiver: spans and log records that arrive over OTLP/HTTP or OTLP/gRPC are
written as event lines by :class:`~otel_jsonl.otel.exporter.JsonlSpanExporter` and
:class:`~otel_jsonl.otel.exporter.JsonlLogExporter`, so any app in any language writes the file an
in-process Python exporter would.

The one code path: a request body is decoded into the SDK's own ``ReadableSpan`` /
``ReadableLogRecord`` objects and handed to the exporters, with the same writer options (cap,
blobs, redaction, log join). A span received over OTLP becomes exactly the lines the in-process
exporter writes for it.

Transport, as the OTLP specification (1.x, "OTLP/HTTP" and "OTLP/gRPC") gives it:

- HTTP: ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics``; ``application/x-protobuf`` or
  ``application/json`` bodies (JSON ids as hex), ``Content-Encoding: gzip`` or ``deflate``;
  200 with an ``Export*ServiceResponse`` (``partial_success`` counts what was rejected), 400 for
  a body that does not decode, 413 over the size limit, 415 for another content type or
  encoding, 429 with ``Retry-After`` when the queue is full, 401 without the bearer token; error
  bodies are ``google.rpc.Status`` in the request's encoding. ``GET /healthz`` answers 200 once
  the receiver is up.
- gRPC: ``TraceService/Export``, ``LogsService/Export``, ``MetricsService/Export``;
  ``RESOURCE_EXHAUSTED`` with a ``RetryInfo`` when the queue is full (the SDK exporters wait the
  hinted delay and send again), ``INVALID_ARGUMENT`` for a body that does not decode.

Memory is bounded: decoded items wait in one bounded queue (requests past it are refused with
the retry hint, never buffered), bodies are limited in size (also after decompression), and the
number of open HTTP connections is capped. One writer thread drains the queue in arrival order,
so log records that arrive before their span join its ``llm_call`` line.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hmac
import ipaddress
import logging
import os
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import orjson
from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message  # type: ignore[import-untyped]
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.attributes import BoundedAttributes
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
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from ..record.writer import WriterOptions
from .exporter import JsonlLogExporter, JsonlSpanExporter
from .joiner import LogJoiner

__all__ = [
    "DEFAULT_GRPC",
    "DEFAULT_HTTP",
    "DEFAULT_MAX_BODY",
    "DEFAULT_QUEUE",
    "BodyError",
    "Receiver",
    "ReceiverStats",
    "decode_logs",
    "decode_spans",
    "is_loopback",
    "parse_address",
    "parse_body",
    "serve",
]

logger = logging.getLogger("otel_jsonl")

DEFAULT_HTTP = "127.0.0.1:4318"
DEFAULT_GRPC = "127.0.0.1:4317"
#: Largest request body, in bytes, as received and after decompression.
DEFAULT_MAX_BODY = 16 * 1024 * 1024
#: Spans and log records that may wait for the writer at once.
DEFAULT_QUEUE = 20_000
#: Seconds a refused sender is told to wait (HTTP ``Retry-After``, gRPC ``RetryInfo``).
DEFAULT_RETRY_AFTER = 1
#: Open HTTP connections at once; one more is answered 503 and closed.
MAX_CONNECTIONS = 64

_TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
_METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"

# Span.flags (OTLP 1.x): bits 0-7 are the W3C trace flags, bit 8 says whether bit 9 (the
# parent or link context is remote) is known.
_IS_REMOTE = 0x200


class BodyError(ValueError):
    """A request body that does not decode as the OTLP message it should be."""


# --- OTLP protobuf -> SDK objects ------------------------------------------------------------


def _value(v: AnyValue, *, seq: type = tuple) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "bool_value":
        return v.bool_value
    if which == "double_value":
        return v.double_value
    if which == "array_value":
        return seq(_value(x, seq=seq) for x in v.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value, seq=seq) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value
    return None


_SCALARS = frozenset({"string_value", "int_value", "bool_value", "double_value", "bytes_value"})


def _attrs(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    # This runs for every attribute of every span: the set field's name, then one getattr.
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        which = v.WhichOneof("value")
        if which in _SCALARS:
            out[kv.key] = getattr(v, which)
        else:
            out[kv.key] = _value(v)
    return out


def _bounded_attrs(kvs: Iterable[KeyValue], dropped: int) -> Any:
    attrs = _attrs(kvs)
    if not dropped:
        return attrs
    bounded = BoundedAttributes(attributes=attrs, immutable=False)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: list[Any], dropped: int) -> Any:
    if not dropped:
        return tuple(items)
    bl: BoundedList[Any] = BoundedList.from_seq(None, items)
    bl.dropped = dropped
    return bl


def _trace_state(raw: str) -> TraceState | None:
    return TraceState.from_header([raw]) if raw else None


class _Resources:
    """Resources and scopes by their encoded form, so a sender's repeated resource is one
    object (the exporter recognises a resource it already wrote by identity first)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._resources: dict[tuple[bytes, str], Resource] = {}
        self._scopes: dict[tuple[bytes, str], SdkScope] = {}
        self._lock = threading.Lock()

    def resource(self, pb: PbResource, schema_url: str) -> Resource:
        key = (pb.SerializeToString(deterministic=True), schema_url)
        with self._lock:
            found = self._resources.get(key)
        if found is None:
            found = Resource(_attrs(pb.attributes), schema_url or None)
            with self._lock:
                if len(self._resources) >= self.limit:
                    self._resources.clear()
                self._resources[key] = found
        return found

    def scope(self, pb: InstrumentationScope, schema_url: str) -> SdkScope:
        key = (pb.SerializeToString(deterministic=True), schema_url)
        with self._lock:
            found = self._scopes.get(key)
        if found is None:
            found = SdkScope(pb.name, pb.version, schema_url or None, _attrs(pb.attributes) or None)
            with self._lock:
                if len(self._scopes) >= self.limit:
                    self._scopes.clear()
                self._scopes[key] = found
        return found


_SHARED_RESOURCES = _Resources()

# The Python SDK (1.45) does not send a span's trace flags (the low byte of Span.flags is 0):
# read them as what its default sampler and id generator give, sampled with a random trace id.
# Only sampled spans are exported, so 0 itself never describes an exported span.
_UNSENT_FLAGS = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
_STATUS = {1: Status(StatusCode.OK), 0: Status(StatusCode.UNSET)}
_KINDS = {k.value + 1: k for k in SpanKind}


def decode_spans(
    request: ExportTraceServiceRequest, resources: _Resources | None = None
) -> tuple[list[ReadableSpan], int]:
    """The spans of ``request`` as SDK ``ReadableSpan`` objects, and how many were rejected
    (no valid trace or span id).

    A span's trace flags are the low byte of ``flags``; 0 there (the Python SDK does not fill
    it) is read as sampled with a random trace id (see ``_UNSENT_FLAGS``). A scope keeps its
    version as sent (the SDK's tracers have ``""`` for none).
    """
    cache = resources or _SHARED_RESOURCES
    spans: list[ReadableSpan] = []
    rejected = 0
    for rs in request.resource_spans:
        resource = cache.resource(rs.resource, rs.schema_url)
        for ss in rs.scope_spans:
            scope = cache.scope(ss.scope, ss.schema_url) if ss.HasField("scope") else None
            for s in ss.spans:
                tid, sid = s.trace_id, s.span_id
                if len(tid) != 16 or len(sid) != 8:
                    rejected += 1
                    continue
                trace_id = int.from_bytes(tid, "big")
                span_id = int.from_bytes(sid, "big")
                if not trace_id or not span_id:
                    rejected += 1
                    continue
                flags = s.flags
                trace_flags = TraceFlags(flags & 0xFF or _UNSENT_FLAGS)
                state = _trace_state(s.trace_state)
                context = SpanContext(trace_id, span_id, False, trace_flags, state)
                parent = None
                if len(s.parent_span_id) == 8:
                    parent_id = int.from_bytes(s.parent_span_id, "big")
                    if parent_id:
                        parent = SpanContext(
                            trace_id, parent_id, bool(flags & _IS_REMOTE), trace_flags
                        )
                code = s.status.code
                if code == 2:
                    status = Status(StatusCode.ERROR, s.status.message or None)
                else:
                    status = _STATUS.get(code, _STATUS[0])
                events = [
                    Event(
                        e.name,
                        _bounded_attrs(e.attributes, e.dropped_attributes_count),
                        e.time_unix_nano,
                    )
                    for e in s.events
                ]
                links = []
                for link in s.links:
                    if len(link.trace_id) != 16 or len(link.span_id) != 8:
                        continue
                    lctx = SpanContext(
                        int.from_bytes(link.trace_id, "big"),
                        int.from_bytes(link.span_id, "big"),
                        bool(link.flags & _IS_REMOTE),
                        TraceFlags(link.flags & 0xFF),
                        _trace_state(link.trace_state),
                    )
                    links.append(
                        Link(lctx, _bounded_attrs(link.attributes, link.dropped_attributes_count))
                    )
                spans.append(
                    ReadableSpan(
                        name=s.name,
                        context=context,
                        parent=parent,
                        resource=resource,
                        attributes=_bounded_attrs(s.attributes, s.dropped_attributes_count),
                        events=_bounded_list(events, s.dropped_events_count),
                        links=_bounded_list(links, s.dropped_links_count),
                        kind=_KINDS.get(s.kind, SpanKind.INTERNAL),
                        status=status,
                        start_time=s.start_time_unix_nano,
                        end_time=s.end_time_unix_nano,
                        instrumentation_scope=scope,
                    )
                )
    return spans, rejected


def decode_logs(
    request: ExportLogsServiceRequest, resources: _Resources | None = None
) -> tuple[list[ReadableLogRecord], int]:
    """The log records of ``request`` as SDK ``ReadableLogRecord`` objects, and how many were
    rejected (a trace or span id of the wrong length)."""
    cache = resources or _SHARED_RESOURCES
    records: list[ReadableLogRecord] = []
    rejected = 0
    for rl in request.resource_logs:
        resource = cache.resource(rl.resource, rl.schema_url)
        for sl in rl.scope_logs:
            scope = cache.scope(sl.scope, sl.schema_url) if sl.HasField("scope") else None
            for r in sl.log_records:
                tid, sid = r.trace_id, r.span_id
                if len(tid) not in (0, 16) or len(sid) not in (0, 8):
                    rejected += 1
                    continue
                severity = None
                if r.severity_number:
                    try:
                        severity = SeverityNumber(r.severity_number)
                    except ValueError:
                        severity = None
                record = LogRecord(
                    timestamp=r.time_unix_nano or None,
                    observed_timestamp=r.observed_time_unix_nano or None,
                    severity_text=r.severity_text or None,
                    severity_number=severity,
                    body=_value(r.body, seq=list) if r.HasField("body") else None,
                    attributes=_bounded_attrs(r.attributes, r.dropped_attributes_count),
                    event_name=r.event_name or None,
                )
                # Set after construction: the constructor takes ids only from a context.
                record.trace_id = int.from_bytes(tid, "big") if tid else 0
                record.span_id = int.from_bytes(sid, "big") if sid else 0
                record.trace_flags = TraceFlags(r.flags & 0xFF)
                records.append(ReadableLogRecord(record, resource, scope))
    return records, rejected


# --- OTLP JSON -> protobuf -------------------------------------------------------------------


def _hex_to_b64(obj: Any, key: str, nbytes: int) -> None:
    value = obj.get(key)
    if isinstance(value, str) and len(value) == 2 * nbytes:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            return  # not hex: maybe base64 (generic protobuf JSON), left to the parser
        obj[key] = base64.b64encode(raw).decode("ascii")


def _dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _fix_json_ids(data: Any) -> None:
    """OTLP JSON spells ids as hex, protobuf JSON as base64: rewrite them for the parser."""
    if not isinstance(data, dict):
        return
    for rs in _dicts(data.get("resourceSpans")):
        for ss in _dicts(rs.get("scopeSpans")):
            for span in _dicts(ss.get("spans")):
                _hex_to_b64(span, "traceId", 16)
                _hex_to_b64(span, "spanId", 8)
                _hex_to_b64(span, "parentSpanId", 8)
                for link in _dicts(span.get("links")):
                    _hex_to_b64(link, "traceId", 16)
                    _hex_to_b64(link, "spanId", 8)
    for rl in _dicts(data.get("resourceLogs")):
        for sl in _dicts(rl.get("scopeLogs")):
            for record in _dicts(sl.get("logRecords")):
                _hex_to_b64(record, "traceId", 16)
                _hex_to_b64(record, "spanId", 8)


def parse_body(body: bytes, message: Message, *, json: bool) -> None:
    """Fill ``message`` from a protobuf or OTLP JSON body; :class:`BodyError` when it does not
    decode."""
    try:
        if json:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise BodyError("the JSON body is not an object")
            _fix_json_ids(data)
            json_format.ParseDict(data, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except BodyError:
        raise
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, ValueError) as exc:
        kind = "JSON" if json else "protobuf"
        raise BodyError(
            f"the body is not a valid {type(message).__name__} ({kind}): {exc}"
        ) from None


# --- addresses -------------------------------------------------------------------------------


def parse_address(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair; None for ``none``."""
    text = text.strip()
    if text.lower() == "none":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"expected HOST:PORT or 'none', got {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    number = int(port)
    if number > 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host, number


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


# --- the queue and the writer ----------------------------------------------------------------


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


class _Full(Exception):
    """The queue has no room for this batch now."""


class _Closed(Exception):
    """The receiver is stopping."""


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
        """Queue ``items``; raises :class:`_Full` or :class:`_Closed`."""
        n = len(items)
        if not n:
            return
        with self._cond:
            if self._closed:
                raise _Closed
            # A batch larger than the whole queue still goes in when the queue is empty, so
            # a sender with big batches is slowed down, never refused forever.
            if self._pending and self._pending + n > self.capacity:
                raise _Full
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


# --- the receiver ----------------------------------------------------------------------------

_SIGNALS = {
    "/v1/traces": "traces",
    "/v1/logs": "logs",
    "/v1/metrics": "metrics",
}


class Receiver:
    """An OTLP receiver writing spans and log records as event lines (see the module docstring).

    ``path`` or ``stream`` is where lines go; ``options`` (:class:`WriterOptions`: cap, blobs,
    redaction, ...) are handed unchanged to the exporters. ``http`` and
    ``grpc`` are ``(host, port)`` or None (off); port 0 picks a free one (see
    :attr:`http_address`). A host that is not loopback needs ``token`` (clients send
    ``Authorization: Bearer TOKEN``) or ``insecure_listen``. ``on_note`` gets one-time notes
    (metrics dropped). Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        http: tuple[str, int] | None = ("127.0.0.1", 4318),
        grpc: tuple[str, int] | None = ("127.0.0.1", 4317),
        token: str | None = None,
        insecure_listen: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
        queue_size: int = DEFAULT_QUEUE,
        retry_after: int = DEFAULT_RETRY_AFTER,
        on_note: Callable[[str], None] | None = None,
        options: WriterOptions | None = None,
    ) -> None:
        if http is None and grpc is None:
            raise ValueError("both OTLP/HTTP and OTLP/gRPC are off: nothing to listen on")
        if max_body <= 0 or queue_size <= 0 or retry_after < 0:
            raise ValueError("max_body and queue_size must be positive, retry_after not negative")
        for address in (http, grpc):
            if (
                address is not None
                and not token
                and not insecure_listen
                and not is_loopback(address[0])
            ):
                raise ValueError(
                    f"{address[0]} is not a loopback address: give a token (--token; "
                    "clients send 'Authorization: Bearer TOKEN') or allow an open listener "
                    "explicitly (--insecure-listen)"
                )
        self.token = token
        self.max_body = max_body
        self.retry_after = retry_after
        self.on_note = on_note
        self.stats = ReceiverStats()
        self._http_address = http
        self._grpc_address = grpc
        self._resources = _Resources()
        self._noted: set[str] = set()
        self._lock = threading.Lock()
        # One file, one writer, one log joiner: the pair configure() builds in a process.
        self.span_exporter = JsonlSpanExporter(
            path, stream=stream, joiner=LogJoiner(), options=options
        )
        self.log_exporter = JsonlLogExporter.sharing(self.span_exporter)
        self._pipeline = _Pipeline(self.span_exporter, self.log_exporter, queue_size, self.stats)
        self._http: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self._stopped = False

    # -- life cycle

    def start(self) -> Receiver:
        """Bind the listeners and start serving (OSError when an address is taken)."""
        try:
            if self._http_address is not None:
                self._http = _HttpServer(self._http_address, self)
                self._http_thread = threading.Thread(
                    target=self._http.serve_forever,
                    kwargs={"poll_interval": 0.2},
                    name="otel-jsonl-http",
                    daemon=True,
                )
                self._http_thread.start()
            if self._grpc_address is not None:
                self._grpc, port = _start_grpc(self._grpc_address, self)
                self._grpc_address = (self._grpc_address[0], port)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def http_address(self) -> tuple[str, int] | None:
        """The bound OTLP/HTTP (host, port), or None when off."""
        if self._http is None:
            return None
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    @property
    def grpc_address(self) -> tuple[str, int] | None:
        """The bound OTLP/gRPC (host, port), or None when off."""
        return self._grpc_address if self._grpc is not None else None

    def stop(self, timeout: float = 30.0) -> ReceiverStats:
        """Stop listening, let requests in flight finish, write everything queued, close the
        file. Twice is safe."""
        with self._lock:
            if self._stopped:
                return self.stats
            self._stopped = True
        if self._grpc is not None:
            self._grpc.stop(grace=min(5.0, timeout)).wait(timeout)
        if self._http is not None:
            self._http.shutdown()
            self._http.close_all(timeout=min(5.0, timeout))
            if self._http_thread is not None:
                self._http_thread.join(timeout)
        if not self._pipeline.drain(timeout):
            logger.warning("otel-jsonl serve: the writer did not finish within %.0f s", timeout)
        self.span_exporter.shutdown()
        self.log_exporter.shutdown()
        return self.stats

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what both transports share

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
        """Decode and queue one export request; return its response message.

        Raises :class:`BodyError` (bad body), :class:`_Full` (queue full) or :class:`_Closed`.
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
            logs_request = ExportLogsServiceRequest()
            parse_body(body, logs_request, json=json)
            records, rejected = decode_logs(logs_request, self._resources)
            self._pipeline.submit("logs", records)
            self._count_rejected(rejected)
            logs_response = ExportLogsServiceResponse()
            if rejected:
                logs_response.partial_success.CopyFrom(
                    ExportLogsPartialSuccess(
                        rejected_log_records=rejected,
                        error_message=f"{rejected} log records with a malformed trace or span id",
                    )
                )
            return logs_response
        metrics_request = ExportMetricsServiceRequest()
        parse_body(body, metrics_request, json=json)
        with self._lock:
            self.stats.metric_requests += 1
        self.note_once(
            "metrics",
            "otel-jsonl serve: metrics are accepted and dropped (the file holds spans and log "
            "records); set OTEL_METRICS_EXPORTER=none in the app to stop sending them",
        )
        return ExportMetricsServiceResponse()

    def _count_rejected(self, n: int) -> None:
        if n:
            with self._lock:
                self.stats.rejected += n

    def count(self, what: str) -> None:
        """Count a refused request (``throttled_requests`` or ``bad_requests``)."""
        with self._lock:
            setattr(self.stats, what, getattr(self.stats, what) + 1)


def _status_body(code: int, message: str, *, json: bool) -> bytes:
    if json:
        return orjson.dumps({"code": code, "message": message})
    return bytes(status_pb2.Status(code=code, message=message).SerializeToString())


# --- OTLP/HTTP -------------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: dict[socket.socket, bool] = {}  # socket -> busy with a request
        self._conn_lock = threading.Lock()
        self.closing = False
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            full = len(self._connections) >= MAX_CONNECTIONS
            if not full:
                self._connections[request] = False
        if full:
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Retry-After: 1\r\nConnection: close\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def set_busy(self, request: socket.socket, busy: bool) -> None:
        with self._conn_lock:
            if request in self._connections:
                self._connections[request] = busy

    def close_all(self, timeout: float) -> None:
        """Stop accepting; close idle keep-alive connections; wait for busy ones."""
        self.closing = True
        self.server_close()
        deadline = time.monotonic() + timeout
        while True:
            with self._conn_lock:
                idle = [s for s, busy in self._connections.items() if not busy]
                left = len(self._connections)
            for sock in idle:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if not left or time.monotonic() > deadline:
                return
            time.sleep(0.02)


class _TooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-jsonl"
    timeout = 30  # seconds a client may stay silent mid-request or between requests
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a receiver under load would otherwise print a line per request."""

    def handle_one_request(self) -> None:
        # An idle keep-alive connection is closed at shutdown; a busy one finishes first.
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.server.set_busy(self.request, True)
        try:
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(501, f"Unsupported method ({self.command!r})")
                return
            method()
            self.wfile.flush()
        except (OSError, TimeoutError):
            self.close_connection = True
        finally:
            self.server.set_busy(self.request, False)
            if self.server.closing:
                self.close_connection = True

    def _reply(
        self,
        status: int,
        body: bytes,
        *,
        json: bool,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if json else "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if close or self.server.closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _error(
        self,
        status: int,
        code: int,
        message: str,
        *,
        json: bool,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self._reply(
            status, _status_body(code, message, json=json), json=json, headers=headers, close=close
        )

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/readyz", "/"):
            receiver = self.server.receiver
            status = 503 if self.server.closing else 200
            body = orjson.dumps(
                {
                    "status": "stopping" if self.server.closing else "ok",
                    "queued": receiver._pipeline.pending,
                    "spans": receiver.stats.spans,
                    "logs": receiver.stats.logs,
                }
            )
            self._reply(status, body, json=True)
            return
        self._error(404, code_pb2.NOT_FOUND, f"no such path: {path}", json=True)

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > limit:
                    raise _TooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)  # the CRLF after the chunk
        length = self.headers.get("Content-Length")
        if length is None:
            raise ValueError("no Content-Length")
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > limit:
            raise _TooLarge
        return self.rfile.read(n)

    def do_POST(self) -> None:
        receiver = self.server.receiver
        path = self.path.split("?", 1)[0]
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        json = ctype == "application/json"
        signal = _SIGNALS.get(path)
        if signal is None:
            self._error(404, code_pb2.NOT_FOUND, f"no such path: {path}", json=json, close=True)
            return
        if not receiver.authorized(self.headers.get("Authorization")):
            self._error(
                401,
                code_pb2.UNAUTHENTICATED,
                "a bearer token is required",
                json=json,
                headers={"WWW-Authenticate": 'Bearer realm="otel-jsonl"'},
                close=True,
            )
            return
        try:
            body = self._read_body(receiver.max_body)
        except _TooLarge:
            receiver.count("bad_requests")
            self._error(
                413,
                code_pb2.RESOURCE_EXHAUSTED,
                f"the body is larger than {receiver.max_body} bytes",
                json=json,
                close=True,
            )
            return
        except ValueError as exc:
            receiver.count("bad_requests")
            self._error(411, code_pb2.INVALID_ARGUMENT, str(exc), json=json, close=True)
            return
        if not json and ctype not in ("application/x-protobuf", "application/protobuf"):
            receiver.count("bad_requests")
            self._error(
                415,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported content type {ctype or '(none)'!r}: send application/x-protobuf "
                "or application/json",
                json=False,
            )
            return
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            body = _decompress(body, encoding, receiver.max_body)
        except _TooLarge:
            receiver.count("bad_requests")
            self._error(
                413,
                code_pb2.RESOURCE_EXHAUSTED,
                f"the decompressed body is larger than {receiver.max_body} bytes",
                json=json,
            )
            return
        except LookupError:
            receiver.count("bad_requests")
            self._error(
                415,
                code_pb2.INVALID_ARGUMENT,
                f"unsupported content encoding {encoding!r}: send gzip, deflate or none",
                json=json,
            )
            return
        except (OSError, EOFError, zlib.error) as exc:
            receiver.count("bad_requests")
            self._error(400, code_pb2.INVALID_ARGUMENT, f"bad {encoding} body: {exc}", json=json)
            return
        try:
            response = receiver.handle(signal, body, json=json)
        except BodyError as exc:
            receiver.count("bad_requests")
            self._error(400, code_pb2.INVALID_ARGUMENT, str(exc), json=json)
            return
        except _Full:
            receiver.count("throttled_requests")
            self._error(
                429,
                code_pb2.RESOURCE_EXHAUSTED,
                "the receiver's queue is full; retry later",
                json=json,
                headers={"Retry-After": str(receiver.retry_after)},
            )
            return
        except _Closed:
            self._error(
                503,
                code_pb2.UNAVAILABLE,
                "the receiver is stopping",
                json=json,
                headers={"Retry-After": str(receiver.retry_after)},
                close=True,
            )
            return
        if json:
            out = json_format.MessageToJson(response, indent=None).encode()
        else:
            out = response.SerializeToString()
        self._reply(200, out, json=json)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("identity", "none", ""):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise LookupError(encoding)
    d = zlib.decompressobj(wbits)
    out = d.decompress(body, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise _TooLarge
    if not d.eof:
        raise EOFError("truncated compressed body")
    return out


# --- OTLP/gRPC -------------------------------------------------------------------------------


def _start_grpc(address: tuple[str, int], receiver: Receiver) -> tuple[Any, int]:
    import grpc  # type: ignore[import-untyped]
    from google.protobuf.duration_pb2 import Duration  # type: ignore[import-untyped]
    from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]

    retry = RetryInfo(retry_delay=Duration(seconds=receiver.retry_after)).SerializeToString()

    def method(signal: str) -> Any:
        def export(body: bytes, context: Any) -> bytes:
            metadata = dict(context.invocation_metadata() or ())
            if not receiver.authorized(metadata.get("authorization")):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "a bearer token is required")
            try:
                return bytes(receiver.handle(signal, body, json=False).SerializeToString())
            except BodyError as exc:
                receiver.count("bad_requests")
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except _Full:
                receiver.count("throttled_requests")
                # The SDK exporters read this key and wait the delay it gives.
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry),))
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED, "the receiver's queue is full; retry later"
                )
            except _Closed:
                context.abort(grpc.StatusCode.UNAVAILABLE, "the receiver is stopping")
            raise AssertionError("unreachable: context.abort raises")

        # No (de)serializers: the handler gets the raw bytes, so a body that does not decode
        # is answered INVALID_ARGUMENT by us rather than failing inside grpc.
        return grpc.unary_unary_rpc_method_handler(export)

    handlers = [
        grpc.method_handlers_generic_handler(service, {"Export": method(signal)})
        for service, signal in (
            (_TRACE_SERVICE, "traces"),
            (_LOGS_SERVICE, "logs"),
            (_METRICS_SERVICE, "metrics"),
        )
    ]
    server = grpc.server(
        ThreadPoolExecutor(max_workers=4, thread_name_prefix="otel-jsonl-grpc"),
        handlers=handlers,
        options=[
            ("grpc.max_receive_message_length", receiver.max_body),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=MAX_CONNECTIONS,
    )
    host, port = address
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(target)
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {target} (gRPC): {exc}") from None
    if not bound:
        raise OSError(f"cannot listen on {target} (gRPC)")
    server.start()
    return server, int(bound)


# --- running until told to stop --------------------------------------------------------------


def serve(
    receiver: Receiver,
    *,
    on_ready: Callable[[Receiver], None] | None = None,
    stop: threading.Event | None = None,
    timeout: float = 30.0,
) -> ReceiverStats:
    """Start ``receiver`` and serve until SIGTERM or SIGINT (or ``stop`` is set); then stop
    listening, write everything received and close the file. Returns what was written.

    ``on_ready`` is called once the listeners are bound. The signal handlers are installed
    only when called from the main thread, and the previous ones are restored on return.
    """
    stop = stop if stop is not None else threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        receiver.start()
        if on_ready is not None:
            on_ready(receiver)
        while not stop.wait(0.5):
            pass
    finally:
        try:
            receiver.stop(timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return receiver.stats

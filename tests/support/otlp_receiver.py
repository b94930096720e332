"""A small OTLP/HTTP receiver on 127.0.0.1 for tests: it can fail on purpose, stop, and restart.

``OtlpReceiver`` parses each ``POST /v1/traces`` body (protobuf ``ExportTraceServiceRequest``,
gzip or plain) and keeps the spans it accepted, and each ``POST /v1/logs`` body
(``ExportLogsServiceRequest``) and keeps its log records. ``prefix`` puts both paths under
another root (Langfuse: ``/api/public/otel``); ``authorization`` makes it answer 401 to a
request whose ``Authorization`` header is not exactly that value (nothing kept); any other path
(and ``/v1/logs`` with ``accept_logs=False``, a trace-only backend) gets 404, a body that is not
protobuf 400. ``fail_next(n)`` answers the next ``n`` requests
with 503 (nothing kept), optionally with a ``Retry-After`` header; ``max_body`` answers 413 to a
larger request body (as a collector's or proxy's size limit does); ``tls`` serves HTTPS with the
given server context. ``log`` keeps (time, body bytes, status) of every request. ``stop()``
closes the socket so connections are refused; ``start()``
listens again on the same port. Every wait is bounded.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["OtlpReceiver"]


def _strings(attributes: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in attributes if kv.value.HasField("string_value")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OtlpReceiver:
    """An OTLP/HTTP-protobuf trace receiver on loopback (see the module docstring)."""

    def __init__(
        self,
        port: int = 0,
        *,
        prefix: str = "",
        authorization: str | None = None,
        accept_logs: bool = True,
        tls: ssl.SSLContext | None = None,
        max_body: int | None = None,
    ) -> None:
        self.port = port
        self.tls = tls
        self.max_body = max_body
        #: (monotonic time, body bytes, status answered) of every request, in arrival order.
        self.log: list[tuple[float, int, int]] = []
        self._retry_after: str | None = None
        self.prefix = prefix.rstrip("/")
        self.authorization = authorization
        self.accept_logs = accept_logs
        self.spans: list[Span] = []
        self.logs: list[LogRecord] = []
        self.resources: list[dict[str, str]] = []
        """The string attributes of each resource received (spans and logs)."""
        self.paths: list[str] = []
        self.unauthorized = 0
        self.requests = 0
        self.failed_requests = 0
        self.headers: list[dict[str, str]] = []
        self._fail = 0
        self._fail_status = 503
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The full traces URL, ``http://127.0.0.1:PORT[PREFIX]/v1/traces``."""
        return f"{self.base_url}/v1/traces"

    @property
    def logs_endpoint(self) -> str:
        """The full logs URL, ``http://127.0.0.1:PORT[PREFIX]/v1/logs``."""
        return f"{self.base_url}/v1/logs"

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:PORT`` and the prefix."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.prefix}"

    def fail_next(self, n: int, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (and ``Retry-After: retry_after``
        when given) and keep nothing from them."""
        with self._lock:
            self._fail = n
            self._fail_status = status
            self._retry_after = retry_after

    def span_ids(self) -> list[tuple[str, str]]:
        """(trace id, span id) in hex of every span accepted, in arrival order."""
        with self._lock:
            return [(s.trace_id.hex(), s.span_id.hex()) for s in self.spans]

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: bytes = b"",
        retry_after: str | None = None,
    ) -> None:
        handler.send_response(status)
        if retry_after is not None:
            handler.send_header("Retry-After", retry_after)
        if payload:
            handler.send_header("Content-Type", "application/x-protobuf")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload:
            handler.wfile.write(payload)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        path = handler.path.split("?", 1)[0]
        signal = {f"{self.prefix}/v1/traces": "traces", f"{self.prefix}/v1/logs": "logs"}.get(path)
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        retry_after = None
        with self._lock:
            self.requests += 1
            self.paths.append(path)
            self.headers.append({k.lower(): v for k, v in handler.headers.items()})
            if signal is None or (signal == "logs" and not self.accept_logs):
                status = 404
            elif (
                self.authorization is not None
                and handler.headers.get("Authorization") != self.authorization
            ):
                self.unauthorized += 1
                status = 401
            elif self._fail > 0:
                self._fail -= 1
                self.failed_requests += 1
                status = self._fail_status
                retry_after = self._retry_after
            elif self.max_body is not None and len(body) > self.max_body:
                self.failed_requests += 1
                status = 413
            else:
                status = 0
            self.log.append((time.monotonic(), len(body), status or 200))
        if status:
            self._reply(handler, status, retry_after=retry_after)
            return
        try:
            if signal == "traces":
                traces = ExportTraceServiceRequest()
                traces.ParseFromString(body)
            else:
                logs = ExportLogsServiceRequest()
                logs.ParseFromString(body)
        except DecodeError:
            self._reply(handler, 400)
            return
        with self._lock:
            if signal == "traces":
                for rs in traces.resource_spans:
                    self.resources.append(_strings(rs.resource.attributes))
                    for ss in rs.scope_spans:
                        self.spans.extend(ss.spans)
                payload = ExportTraceServiceResponse().SerializeToString()
            else:
                for rl in logs.resource_logs:
                    self.resources.append(_strings(rl.resource.attributes))
                    for sl in rl.scope_logs:
                        self.logs.extend(sl.log_records)
                payload = ExportLogsServiceResponse().SerializeToString()
        self._reply(handler, 200, payload)

    def start(self) -> OtlpReceiver:
        """Listen on 127.0.0.1 (the same port as before, after a stop)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        deadline = time.monotonic() + 5.0
        while True:
            try:
                self._server = _Server(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the socket: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuses(self) -> bool:
        """True when a connection to the port is refused right now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return False
        except OSError:
            return True

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

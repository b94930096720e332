"""A small OTLP/HTTP receiver on 127.0.0.1 for tests: it can fail on purpose, stop, and restart.

``OtlpReceiver`` parses each ``POST /v1/traces`` body (protobuf ``ExportTraceServiceRequest``,
gzip or plain) and keeps the spans it accepted. ``fail_next(n)`` answers the next ``n`` requests
with 503 (nothing kept), optionally with a ``Retry-After`` header; ``max_body`` answers 413 to a
larger request body (as a collector's or proxy's size limit does); ``tls`` serves HTTPS with the
given server context. ``stop()`` closes the socket so connections are refused; ``start()``
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

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["OtlpReceiver"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OtlpReceiver:
    """An OTLP/HTTP-protobuf trace receiver on loopback (see the module docstring)."""

    def __init__(
        self, port: int = 0, *, tls: ssl.SSLContext | None = None, max_body: int | None = None
    ) -> None:
        self.port = port
        self.tls = tls
        self.max_body = max_body
        self.spans: list[Span] = []
        self.requests = 0
        self.failed_requests = 0
        self.headers: list[dict[str, str]] = []
        #: (monotonic time, body bytes, status answered) of every request, in arrival order.
        self.log: list[tuple[float, int, int]] = []
        self._fail = 0
        self._fail_status = 503
        self._retry_after: str | None = None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The full traces URL, ``http(s)://127.0.0.1:PORT/v1/traces``."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1/traces"

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

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        retry_after = None
        with self._lock:
            self.requests += 1
            self.headers.append({k.lower(): v for k, v in handler.headers.items()})
            if self._fail > 0:
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
            handler.send_response(status)
            if retry_after is not None:
                handler.send_header("Retry-After", retry_after)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self._lock:
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    self.spans.extend(ss.spans)
        payload = ExportTraceServiceResponse().SerializeToString()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-protobuf")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

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

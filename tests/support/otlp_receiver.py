"""A small OTLP/HTTP receiver on 127.0.0.1 for tests: it can fail on purpose, stop, and restart.

``OtlpReceiver`` parses each ``POST /v1/traces`` body (protobuf ``ExportTraceServiceRequest``,
gzip or plain) and keeps the spans it accepted. ``fail_next(n)`` answers the next ``n`` requests
with 503 (nothing kept); ``stop()`` closes the socket so connections are refused; ``start()``
listens again on the same port. Every wait is bounded.
"""

from __future__ import annotations

import gzip
import socket
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

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.spans: list[Span] = []
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
        """The full traces URL, ``http://127.0.0.1:PORT/v1/traces``."""
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` and keep nothing from them."""
        with self._lock:
            self._fail = n
            self._fail_status = status

    def span_ids(self) -> list[tuple[str, str]]:
        """(trace id, span id) in hex of every span accepted, in arrival order."""
        with self._lock:
            return [(s.trace_id.hex(), s.span_id.hex()) for s in self.spans]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self._lock:
            self.requests += 1
            self.headers.append({k.lower(): v for k, v in handler.headers.items()})
            if self._fail > 0:
                self._fail -= 1
                self.failed_requests += 1
                status = self._fail_status
            else:
                status = 0
        if status:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
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

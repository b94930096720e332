"""The receiver's OTLP/HTTP transport (``http.server``, HTTP/1.1 keep-alive): ``POST
/v1/traces``, ``/v1/logs``, ``/v1/metrics`` with protobuf or JSON bodies, gzip or deflate,
Content-Length or chunked; ``GET /healthz``. Error bodies are ``google.rpc.Status`` in the
request's encoding, as OTLP/HTTP (1.x) asks."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf import json_format  # type: ignore[import-untyped]
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]

from .ingest import Ingest, QueueFull, Stopping
from .otlp_decode import BodyError

__all__ = ["MAX_CONNECTIONS", "HttpServer"]

#: Open HTTP connections at once; one more is answered 503 and closed.
MAX_CONNECTIONS = 64

_SIGNALS = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics"}


def _status_body(code: int, message: str, *, json: bool) -> bytes:
    if json:
        return orjson.dumps({"code": code, "message": message})
    return bytes(status_pb2.Status(code=code, message=message).SerializeToString())


class HttpServer(ThreadingHTTPServer):
    """OTLP/HTTP for ``ingest`` on ``address``: a thread per connection, at most
    :data:`MAX_CONNECTIONS` of them; :meth:`close_all` stops it."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], ingest: Ingest, max_body: int) -> None:
        self.ingest = ingest
        self.max_body = max_body
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
    """The body is over the size limit."""


class _LengthRequired(ValueError):
    """Neither Content-Length nor chunked transfer encoding."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-jsonl"
    timeout = 30  # seconds a client may stay silent mid-request or between requests
    server: HttpServer

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
            ingest = self.server.ingest
            status = 503 if self.server.closing else 200
            body = orjson.dumps(
                {
                    "status": "stopping" if self.server.closing else "ok",
                    "queued": ingest.queued,
                    "spans": ingest.stats.spans,
                    "logs": ingest.stats.logs,
                }
            )
            self._reply(status, body, json=True)
            return
        self._error(404, code_pb2.NOT_FOUND, f"no such path: {path}", json=True)

    def _read_body(self, limit: int) -> bytes:
        """The body (Content-Length or chunked); ValueError when it is malformed or cut."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            raise _LengthRequired("no Content-Length (or chunked transfer encoding)")
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > limit:
            raise _TooLarge
        body = self.rfile.read(n)
        if len(body) != n:
            raise ValueError("the body ended before its Content-Length")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise ValueError("the chunked body ended early")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, if any
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                raise _TooLarge
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ValueError("the chunked body ended early")
            chunks.append(chunk)
            self.rfile.readline(8)  # the CRLF after the chunk

    def do_POST(self) -> None:
        ingest = self.server.ingest
        path = self.path.split("?", 1)[0]
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        json = ctype == "application/json"
        signal = _SIGNALS.get(path)
        if signal is None:
            self._error(404, code_pb2.NOT_FOUND, f"no such path: {path}", json=json, close=True)
            return
        if not ingest.authorized(self.headers.get("Authorization")):
            self._error(
                401,
                code_pb2.UNAUTHENTICATED,
                "a bearer token is required",
                json=json,
                headers={"WWW-Authenticate": 'Bearer realm="otel-jsonl"'},
                close=True,
            )
            return
        body = self._checked_body(ctype, json)
        if body is not None:
            self._export(signal, body, json)

    def _checked_body(self, ctype: str, json: bool) -> bytes | None:
        """The request body, read, size-checked and decompressed; None when it was refused
        (the answer is sent)."""
        limit = self.server.max_body
        try:
            body = self._read_body(limit)
        except _TooLarge:
            self._refuse(413, f"the body is larger than {limit} bytes", json, close=True)
            return None
        except ValueError as exc:
            status = 411 if isinstance(exc, _LengthRequired) else 400
            self._refuse(status, str(exc), json, close=True)
            return None
        if not json and ctype not in ("application/x-protobuf", "application/protobuf"):
            self._refuse(
                415,
                f"unsupported content type {ctype or '(none)'!r}: send application/x-protobuf "
                "or application/json",
                False,
            )
            return None
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            return _decompress(body, encoding, limit)
        except _TooLarge:
            self._refuse(413, f"the decompressed body is larger than {limit} bytes", json)
            return None
        except LookupError:
            message = f"unsupported content encoding {encoding!r}: send gzip, deflate or none"
            self._refuse(415, message, json)
            return None
        except (OSError, EOFError, zlib.error) as exc:
            self._refuse(400, f"bad {encoding} body: {exc}", json)
            return None

    def _refuse(self, status: int, message: str, json: bool, *, close: bool = False) -> None:
        self.server.ingest.count("bad_requests")
        code = code_pb2.RESOURCE_EXHAUSTED if status == 413 else code_pb2.INVALID_ARGUMENT
        self._error(status, code, message, json=json, close=close)

    def _export(self, signal: str, body: bytes, json: bool) -> None:
        ingest = self.server.ingest
        retry = {"Retry-After": str(ingest.retry_after)}
        try:
            response = ingest.handle(signal, body, json=json)
        except BodyError as exc:
            self._refuse(400, str(exc), json)
            return
        except QueueFull:
            ingest.count("throttled_requests")
            message = "the receiver's queue is full; retry later"
            self._error(429, code_pb2.RESOURCE_EXHAUSTED, message, json=json, headers=retry)
            return
        except Stopping:
            message = "the receiver is stopping"
            self._error(503, code_pb2.UNAVAILABLE, message, json=json, headers=retry, close=True)
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

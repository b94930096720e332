"""The local OTLP receiver behind ``otel-jsonl serve``: OTLP/HTTP and OTLP/gRPC in, trace lines out.

Spans and log records that arrive are written by
:class:`~otel_jsonl.otel.exporter.JsonlSpanExporter` and
:class:`~otel_jsonl.otel.exporter.JsonlLogExporter`, so any app in any language writes the file an
in-process Python exporter would. The one code path: a request body is decoded
(:mod:`~otel_jsonl.otel.otlp_decode`) into the SDK's own ``ReadableSpan`` /
``ReadableLogRecord`` objects and handed to the exporters (:mod:`~otel_jsonl.otel.ingest`), with
the same writer options (cap, blobs, redaction, log join). A span received over OTLP becomes
exactly the lines the in-process exporter writes for it.

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

import ipaddress
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import IO, Any

from ..record.writer import WriterOptions
from .ingest import DEFAULT_QUEUE, DEFAULT_RETRY_AFTER, Ingest, ReceiverStats
from .receiver_grpc import start_grpc
from .receiver_http import HttpServer

__all__ = [
    "DEFAULT_GRPC",
    "DEFAULT_HTTP",
    "DEFAULT_MAX_BODY",
    "DEFAULT_QUEUE",
    "Receiver",
    "ReceiverStats",
    "is_loopback",
    "parse_address",
    "serve",
]

DEFAULT_HTTP = "127.0.0.1:4318"
DEFAULT_GRPC = "127.0.0.1:4317"
#: Largest request body, in bytes, as received and after decompression.
DEFAULT_MAX_BODY = 16 * 1024 * 1024


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


class Receiver(Ingest):
    """An OTLP receiver writing spans and log records as event lines (see the module docstring).

    ``path`` or ``stream`` is where lines go; ``options`` (:class:`WriterOptions`: cap, blobs,
    redaction, ...) are handed unchanged to the exporters. ``http`` and ``grpc`` are
    ``(host, port)`` or None (off); port 0 picks a free one (see :attr:`http_address`). A host
    that is not loopback needs ``token`` (clients send ``Authorization: Bearer TOKEN``) or
    ``insecure_listen``. ``max_body`` limits a request (also decompressed), ``queue_size`` the
    spans and log records waiting for the writer. ``on_note`` gets one-time notes (metrics
    dropped). Use as a context manager, or :meth:`start` and :meth:`stop`.
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
        if max_body <= 0:
            raise ValueError("max_body must be positive")
        for address in (http, grpc):
            if address is not None and not (token or insecure_listen or is_loopback(address[0])):
                raise ValueError(
                    f"{address[0]} is not a loopback address: give a token (--token; "
                    "clients send 'Authorization: Bearer TOKEN') or allow an open listener "
                    "explicitly (--insecure-listen)"
                )
        super().__init__(
            path,
            stream=stream,
            token=token,
            queue_size=queue_size,
            retry_after=retry_after,
            on_note=on_note,
            options=options,
        )
        self.max_body = max_body
        self._http_address = http
        self._grpc_address = grpc
        self._http: HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self._stopped = False

    def start(self) -> Receiver:
        """Bind the listeners and start serving (OSError when an address is taken)."""
        try:
            if self._http_address is not None:
                self._http = HttpServer(self._http_address, self, self.max_body)
                self._http_thread = threading.Thread(
                    target=self._http.serve_forever,
                    kwargs={"poll_interval": 0.2},
                    name="otel-jsonl-http",
                    daemon=True,
                )
                self._http_thread.start()
            if self._grpc_address is not None:
                self._grpc, port = start_grpc(self._grpc_address, self, self.max_body)
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
        return self.close(timeout)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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

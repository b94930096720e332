"""A small OTLP/gRPC trace receiver on 127.0.0.1 for tests, plain or TLS (mutual TLS on
request), keeping the spans it accepted. Every wait is bounded."""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .tls import Certificates

__all__ = ["GrpcReceiver"]


class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc,unused-ignore]
    def __init__(self, receiver: GrpcReceiver) -> None:
        self.receiver = receiver

    def Export(self, request: Any, context: Any) -> Any:
        with self.receiver.lock:
            self.receiver.requests += 1
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    self.receiver.spans.extend(ss.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


class GrpcReceiver:
    """An OTLP/gRPC receiver on loopback; ``certs`` serves TLS with the test's server
    certificate, ``require_client_cert`` asks for a client certificate too."""

    def __init__(self, certs: Certificates | None = None, *, require_client_cert: bool = False):
        self.certs = certs
        self.require_client_cert = require_client_cert
        self.spans: list[Span] = []
        self.requests = 0
        self.lock = threading.Lock()
        self.port = 0
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        """``https://127.0.0.1:PORT`` (TLS) or ``http://127.0.0.1:PORT``."""
        scheme = "https" if self.certs is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> GrpcReceiver:
        """Listen on a free loopback port."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Servicer(self), server)
        if self.certs is None:
            self.port = server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials(
                [(self.certs.server_key.read_bytes(), self.certs.server_cert.read_bytes())],
                root_certificates=self.certs.ca.read_bytes() if self.require_client_cert else None,
                require_client_auth=self.require_client_cert,
            )
            self.port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop listening (waits at most 5 s for calls in flight)."""
        if self._server is not None:
            self._server.stop(grace=None).wait(timeout=5)
            self._server = None

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

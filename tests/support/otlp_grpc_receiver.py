"""A small OTLP/gRPC receiver on 127.0.0.1 for tests: TraceService and LogsService.

``OtlpGrpcReceiver`` keeps the spans and log records of every export it accepts; with
``authorization`` it answers UNAUTHENTICATED to a call whose ``authorization`` metadata is not
exactly that value. Every wait is bounded.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["OtlpGrpcReceiver"]


class OtlpGrpcReceiver:
    """OTLP/gRPC traces and logs on loopback (see the module docstring)."""

    def __init__(self, *, authorization: str | None = None) -> None:
        self.authorization = authorization
        self.spans: list[Span] = []
        self.logs: list[LogRecord] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._server: Any = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` (plain text)."""
        return f"http://127.0.0.1:{self.port}"

    def _allowed(self, context: Any, call: str) -> bool:
        with self._lock:
            self.calls.append(call)
        if self.authorization is None:
            return True
        metadata = dict(context.invocation_metadata())
        if metadata.get("authorization") == self.authorization:
            return True
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad credentials")
        return False

    def start(self) -> OtlpGrpcReceiver:
        """Listen on 127.0.0.1 on a free port."""
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                if receiver._allowed(context, "traces"):
                    with receiver._lock:
                        for rs in request.resource_spans:
                            for ss in rs.scope_spans:
                                receiver.spans.extend(ss.spans)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                if receiver._allowed(context, "logs"):
                    with receiver._lock:
                        for rl in request.resource_logs:
                            for sl in rl.scope_logs:
                                receiver.logs.extend(sl.log_records)
                return logs_service_pb2.ExportLogsServiceResponse()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (waits at most 5 s for calls in flight)."""
        if self._server is not None:
            self._server.stop(grace=None).wait(timeout=5)
            self._server = None

    def __enter__(self) -> OtlpGrpcReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The receiver's OTLP/gRPC transport: ``TraceService``, ``LogsService`` and
``MetricsService`` ``Export`` on a grpcio server (grpcio comes with the SDK's OTLP exporter).

The methods take the raw request bytes, so a body that does not decode is answered
``INVALID_ARGUMENT`` by the receiver rather than failing inside grpc. A full queue is
``RESOURCE_EXHAUSTED`` with a ``RetryInfo`` in the trailing metadata
(``google.rpc.retryinfo-bin``), which the SDK exporters read to wait before sending again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .ingest import Ingest, QueueFull, Stopping
from .otlp_decode import BodyError

__all__ = ["MAX_CALLS", "start_grpc"]

#: gRPC calls handled at once; more wait in grpc's queue up to this, then are refused.
MAX_CALLS = 64

_SERVICES = (
    ("opentelemetry.proto.collector.trace.v1.TraceService", "traces"),
    ("opentelemetry.proto.collector.logs.v1.LogsService", "logs"),
    ("opentelemetry.proto.collector.metrics.v1.MetricsService", "metrics"),
)


def _export_method(ingest: Ingest, signal: str, retry: bytes) -> Any:
    import grpc  # type: ignore[import-untyped]

    def export(body: bytes, context: Any) -> bytes:
        metadata = dict(context.invocation_metadata() or ())
        if not ingest.authorized(metadata.get("authorization")):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "a bearer token is required")
        try:
            return bytes(ingest.handle(signal, body, json=False).SerializeToString())
        except BodyError as exc:
            ingest.count("bad_requests")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except QueueFull:
            ingest.count("throttled_requests")
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry),))
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "the receiver's queue is full; retry later"
            )
        except Stopping:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the receiver is stopping")
        raise AssertionError("unreachable: context.abort raises")

    return grpc.unary_unary_rpc_method_handler(export)


def start_grpc(address: tuple[str, int], ingest: Ingest, max_body: int) -> tuple[Any, int]:
    """Serve OTLP/gRPC on ``address`` for ``ingest``; return the server and the bound port
    (OSError when the address cannot be bound)."""
    import grpc
    from google.protobuf.duration_pb2 import Duration  # type: ignore[import-untyped]
    from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]

    retry = RetryInfo(retry_delay=Duration(seconds=ingest.retry_after)).SerializeToString()
    handlers = [
        grpc.method_handlers_generic_handler(
            service, {"Export": _export_method(ingest, signal, retry)}
        )
        for service, signal in _SERVICES
    ]
    server = grpc.server(
        ThreadPoolExecutor(max_workers=4, thread_name_prefix="otel-jsonl-grpc"),
        handlers=handlers,
        options=[("grpc.max_receive_message_length", max_body), ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=MAX_CALLS,
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

"""The OTLP receiver (`otel-jsonl serve`): what arrives over OTLP is written exactly as the
in-process exporters write it; the HTTP and gRPC answers the OTLP specification gives.

The senders are the real OpenTelemetry SDK OTLP exporters (HTTP/protobuf and gRPC), fed by the
real openai-v2 instrumentation around the two-turn tool loop against the loopback provider
server; the same spans and log records also go to the in-process `JsonlSpanExporter` and
`JsonlLogExporter`, and the two files must be equal.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support.agent_loops import run_openai_loop
from support.fixtures import instrumented_openai_v2
from support.providers import ProviderServer
from test_instrumentations import SpanRecorder, check_loop

from otel_jsonl.exporter import JsonlLogExporter, JsonlSpanExporter, LogJoiner
from otel_jsonl.serve import Receiver, is_loopback, parse_address

LOOPBACK = ("127.0.0.1", 0)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A receiver on free loopback ports (HTTP and gRPC) writing `received.jsonl`."""
    with Receiver(tmp_path / "received.jsonl", http=LOOPBACK, grpc=LOOPBACK) as r:
        yield r


def _http_url(r: Receiver, path: str) -> str:
    assert r.http_address is not None
    host, port = r.http_address
    return f"http://{host}:{port}{path}"


def _grpc_target(r: Receiver) -> str:
    assert r.grpc_address is not None
    host, port = r.grpc_address
    return f"{host}:{port}"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
@pytest.mark.parametrize("capture", ["SPAN_ONLY", "EVENT_ONLY"], ids=["span", "event"])
def test_otlp_sdk_exporters_give_the_in_process_file(
    tmp_path: Path, openai_server: ProviderServer, protocol: str, capture: Any
) -> None:
    """The SDK's OTLP exporters into the receiver write the lines the in-process exporters do."""
    local = tmp_path / "in-process.jsonl"
    received = tmp_path / "received.jsonl"
    with Receiver(received, http=LOOPBACK, grpc=LOOPBACK) as r:
        if protocol == "grpc":
            span_out: Any = GrpcSpanExporter(endpoint=_grpc_target(r), insecure=True)
            log_out: Any = GrpcLogExporter(endpoint=_grpc_target(r), insecure=True)
        else:
            span_out = HttpSpanExporter(endpoint=_http_url(r, "/v1/traces"))
            log_out = HttpLogExporter(endpoint=_http_url(r, "/v1/logs"))
        resource = Resource.create({"service.name": "serve-test"})
        joiner = LogJoiner()
        tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        tracer_provider.add_span_processor(
            SimpleSpanProcessor(JsonlSpanExporter(local, joiner=joiner))
        )
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_out))
        logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(JsonlLogExporter(local, joiner=joiner))
        )
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_out))
        try:
            with instrumented_openai_v2(tracer_provider, logger_provider, capture=capture):
                run_openai_loop(
                    openai_server.openai_base_url,
                    recorder=SpanRecorder(tracer_provider.get_tracer("agent-app"), True),
                )
        finally:
            logger_provider.force_flush()
            tracer_provider.shutdown()
            logger_provider.shutdown()
    expected = _read(local)
    got = _read(received)
    check_loop(got, provider="openai", model="gpt-4o-mini", call_id="call_1", content=True)
    assert got == expected
    if capture == "EVENT_ONLY":
        assert all("logs" in line["otel"] for line in got if line["kind"] == "llm_call")
    assert r.stats.spans == sum(1 for line in got if "otel" in line)

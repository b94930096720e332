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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
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
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.agent_loops import run_openai_loop
from support.fixtures import instrumented_openai_v2
from support.providers import ProviderServer
from test_instrumentations import SpanRecorder, check_loop

from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from otel_jsonl.otel.joiner import LogJoiner
from otel_jsonl.otel.otlp_json import encode_traces_data
from otel_jsonl.otel.receiver import Receiver, is_loopback, parse_address
from otel_jsonl.record.writer import WriterOptions

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


# --- helpers for the protocol tests ------------------------------------------------------------


def make_spans(n: int, *, name: str = "chat gpt-4o-mini") -> list[ReadableSpan]:
    """``n`` finished spans from a real tracer: GenAI chat spans under one agent span."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "serve-test"}), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("serve-test", "1.0")
    with tracer.start_as_current_span("invoke_agent weather") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        for i in range(n - 1):
            with tracer.start_as_current_span(name) as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.usage.input_tokens": 10 + i,
                        "gen_ai.usage.output_tokens": 7,
                        "gen_ai.response.finish_reasons": ("stop",),
                        "gen_ai.output.messages": json.dumps(
                            [{"role": "assistant", "parts": [{"type": "text", "content": f"{i}"}]}]
                        ),
                    }
                )
    provider.shutdown()
    return list(memory.get_finished_spans())


def protobuf_body(spans: list[ReadableSpan]) -> bytes:
    """The body the SDK's OTLP/HTTP exporter sends for ``spans``."""
    return bytes(encode_spans(spans).SerializeToString())


def post(
    r: Receiver,
    path: str,
    body: bytes,
    content_type: str = "application/x-protobuf",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` to the receiver; the status, the headers (lowercase names), the body."""
    assert r.http_address is not None
    conn = http.client.HTTPConnection(*r.http_address, timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def status_of(body: bytes) -> status_pb2.Status:
    """The google.rpc.Status of an error body (protobuf)."""
    status = status_pb2.Status()
    status.ParseFromString(body)
    return status


def span_ids(path: Path) -> list[str]:
    """The span id of every span's line (the one with ``otel``) in a trace file."""
    return [line["span_id"] for line in _read(path) if "otel" in line]


# --- OTLP/HTTP -------------------------------------------------------------------------------


def test_protobuf_json_and_gzip_bodies_give_the_same_lines(tmp_path: Path) -> None:
    """One batch sent as protobuf, as OTLP JSON (hex ids) and gzipped gives the same file."""
    spans = make_spans(5)
    files = []
    bodies = [
        ("application/x-protobuf", protobuf_body(spans), {}),
        ("application/json", json.dumps(encode_traces_data(spans)).encode(), {}),
        (
            "application/x-protobuf",
            gzip.compress(protobuf_body(spans)),
            {"Content-Encoding": "gzip"},
        ),
    ]
    for i, (ctype, body, headers) in enumerate(bodies):
        out = tmp_path / f"{i}.jsonl"
        with Receiver(out, http=LOOPBACK, grpc=None) as r:
            status, got_headers, answer = post(r, "/v1/traces", body, ctype, headers)
        assert status == 200
        assert got_headers["content-type"] == ctype
        if ctype == "application/json":
            assert json.loads(answer) == {}
        else:
            response = ExportTraceServiceResponse()
            response.ParseFromString(answer)
            assert not response.HasField("partial_success")
        files.append(_read(out))
    assert len(span_ids(tmp_path / "0.jsonl")) == 5
    assert files[0] == files[1] == files[2]


def test_partial_success_counts_spans_without_ids(receiver: Receiver) -> None:
    """A span with a short trace id is rejected in partial_success; the others are written."""
    request = encode_spans(make_spans(3))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01\x02\x03\x04"
    status, _, answer = post(receiver, "/v1/traces", request.SerializeToString())
    assert status == 200
    response = ExportTraceServiceResponse()
    response.ParseFromString(answer)
    assert response.partial_success.rejected_spans == 1
    assert "trace or span id" in response.partial_success.error_message
    stats = receiver.stop()
    assert (stats.spans, stats.rejected) == (2, 1)


@pytest.mark.parametrize(
    ("body", "ctype", "headers", "status", "fragment"),
    [
        (b"\xff\xff\xff garbage", "application/x-protobuf", {}, 400, "not a valid"),
        (b"{not json", "application/json", {}, 400, "not a valid"),
        (b'{"resourceSpans": 7}', "application/json", {}, 400, "not a valid"),
        (b"hello", "text/plain", {}, 415, "unsupported content type"),
        (b"x", "application/x-protobuf", {"Content-Encoding": "br"}, 415, "content encoding"),
        (b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}, 400, "bad gzip"),
        (b"x" * 5000, "application/x-protobuf", {}, 413, "larger than 4096"),
        (
            gzip.compress(b"\0" * 100_000),
            "application/x-protobuf",
            {"Content-Encoding": "gzip"},
            413,
            "decompressed",
        ),
    ],
    ids=[
        "bad-protobuf",
        "bad-json",
        "wrong-json",
        "text",
        "brotli",
        "bad-gzip",
        "oversize",
        "gzip-bomb",
    ],
)
def test_bad_requests_get_their_status_and_the_server_keeps_serving(
    tmp_path: Path, body: bytes, ctype: str, headers: dict[str, str], status: int, fragment: str
) -> None:
    """A malformed, mistyped or oversize request gets its 4xx and a Status; the next one works."""
    out = tmp_path / "t.jsonl"
    with Receiver(out, http=LOOPBACK, grpc=None, max_body=4096) as r:
        got, _, answer = post(r, "/v1/traces", body, ctype, headers)
        assert got == status
        if ctype == "application/json":
            assert fragment in json.loads(answer)["message"]
        else:
            assert fragment in status_of(answer).message
        ok, _, _ = post(r, "/v1/traces", protobuf_body(make_spans(2)))
        assert ok == 200
    assert r.stats.bad_requests == 1
    assert len(span_ids(out)) == 2


def test_chunked_body_is_read(receiver: Receiver) -> None:
    """A body sent with chunked transfer encoding (Node's gzip stream does) is accepted."""
    body = gzip.compress(protobuf_body(make_spans(3)))
    assert receiver.http_address is not None
    conn = http.client.HTTPConnection(*receiver.http_address, timeout=10)
    pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
    conn.request(
        "POST",
        "/v1/traces",
        iter(pieces),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        encode_chunked=True,
    )
    assert conn.getresponse().status == 200
    conn.close()
    assert receiver.stop().spans == 3


def test_health_and_unknown_paths(receiver: Receiver) -> None:
    """GET /healthz answers 200 with counts; an unknown path is 404."""
    assert receiver.http_address is not None
    conn = http.client.HTTPConnection(*receiver.http_address, timeout=10)
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["status"] == "ok"
    conn.close()
    status, _, _ = post(receiver, "/v2/traces", b"")
    assert status == 404


def test_metrics_are_accepted_dropped_and_noted_once(tmp_path: Path) -> None:
    """/v1/metrics answers 200, writes nothing, and says so once per run."""
    notes: list[str] = []
    out = tmp_path / "t.jsonl"
    with Receiver(out, http=LOOPBACK, grpc=None, on_note=notes.append) as r:
        for _ in range(2):
            status, _, _ = post(r, "/v1/metrics", b"")
            assert status == 200
    assert len(notes) == 1
    assert "metrics are accepted and dropped" in notes[0]
    assert r.stats.metric_requests == 2
    assert not out.exists() or out.read_text() == ""


def test_token_is_checked_over_http_and_grpc(tmp_path: Path) -> None:
    """With a token, a request without the bearer header gets 401 / UNAUTHENTICATED."""
    import grpc

    out = tmp_path / "t.jsonl"
    body = protobuf_body(make_spans(2))
    with Receiver(out, http=LOOPBACK, grpc=LOOPBACK, token="s3cret") as r:
        status, headers, _ = post(r, "/v1/traces", body)
        assert status == 401
        assert headers["www-authenticate"].startswith("Bearer")
        status, _, _ = post(r, "/v1/traces", body, headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, _ = post(r, "/v1/traces", body, headers={"Authorization": "Bearer s3cret"})
        assert status == 200
        with grpc.insecure_channel(_grpc_target(r)) as channel:
            export = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
            )
            with pytest.raises(grpc.RpcError) as info:
                export(body, timeout=10)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            export(body, timeout=10, metadata=(("authorization", "Bearer s3cret"),))
    assert len(span_ids(out)) == 4


def test_non_loopback_needs_a_token_or_an_explicit_choice(tmp_path: Path) -> None:
    """Listening beyond loopback without a token or insecure_listen is refused before binding."""
    with pytest.raises(ValueError, match="not a loopback address"):
        Receiver(tmp_path / "t.jsonl", http=("0.0.0.0", 0), grpc=None)
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.0.2.1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:4318", ("127.0.0.1", 4318)),
        ("[::1]:4317", ("::1", 4317)),
        ("localhost:0", ("localhost", 0)),
        ("none", None),
        ("NONE", None),
    ],
)
def test_parse_address(text: str, expected: Any) -> None:
    """HOST:PORT, [IPv6]:PORT and none are read; anything else is a ValueError."""
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["4318", "host:", ":4318", "host:99999", "host:port"])
def test_parse_address_rejects(text: str) -> None:
    """A missing host or port, or a port out of range, is a ValueError."""
    with pytest.raises(ValueError, match=r"HOST:PORT|out of range"):
        parse_address(text)


def test_writer_options_pass_through(tmp_path: Path) -> None:
    """The receiver caps and redacts with the WriterOptions it is given, as the exporter does."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("tool") as span:
        span.set_attribute("gen_ai.operation.name", "execute_tool")
        span.set_attribute("gen_ai.tool.call.result", "key sk-proj-" + "a" * 40 + " " + "x" * 300)
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    options = WriterOptions(cap=100)
    local = tmp_path / "local.jsonl"
    exporter = JsonlSpanExporter(local, options=options)
    exporter.export(spans)
    exporter.shutdown()
    out = tmp_path / "received.jsonl"
    with Receiver(out, http=LOOPBACK, grpc=None, options=options) as r:
        assert post(r, "/v1/traces", protobuf_body(spans))[0] == 200
    got = _read(out)
    assert got == _read(local)
    (result,) = (line for line in got if line["kind"] == "tool_result")
    assert "sk-proj-" not in json.dumps(result)
    assert result["capped"]
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir())


# --- OTLP/gRPC -------------------------------------------------------------------------------


def test_grpc_bad_body_is_invalid_argument_and_serving_goes_on(receiver: Receiver) -> None:
    """A body that is not a request gets INVALID_ARGUMENT; the next call is written."""
    import grpc

    with grpc.insecure_channel(_grpc_target(receiver)) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
        with pytest.raises(grpc.RpcError) as info:
            export(b"\xff\xff\xff", timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        answer = export(b"", timeout=10)
    assert ExportLogsServiceResponse.FromString(answer) == ExportLogsServiceResponse()
    export_traces = None
    with grpc.insecure_channel(_grpc_target(receiver)) as channel:
        export_traces = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        )
        export_traces(protobuf_body(make_spans(2)), timeout=10)
    assert receiver.stop().spans == 2

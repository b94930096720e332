"""The OTLP receiver (`otel-jsonl serve`): what arrives over OTLP is written exactly as the
in-process exporters write it; the HTTP and gRPC answers the OTLP specification gives.

The senders are the real OpenTelemetry SDK OTLP exporters (HTTP/protobuf and gRPC), fed by the
real openai-v2 instrumentation around the two-turn tool loop against the loopback provider
server; the same spans and log records also go to the in-process `JsonlSpanExporter` and
`JsonlLogExporter`, and the two files must be equal.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import given, settings
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
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
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from support.agent_loops import run_openai_loop
from support.fixtures import instrumented_openai_v2
from support.providers import ProviderServer
from support.span_recorder import SpanRecorder
from test_instrumentations import check_loop
from test_otlp import spans as otlp_spans

from otel_jsonl.cli import main
from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from otel_jsonl.otel.joiner import LogJoiner
from otel_jsonl.otel.mapping import resource_id, span_to_events
from otel_jsonl.otel.otlp_decode import decode_spans, parse_body
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
    """One batch as protobuf, OTLP JSON (hex ids), gzip or deflate gives one file."""
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
        (
            "application/x-protobuf",
            zlib.compress(protobuf_body(spans)),
            {"Content-Encoding": "deflate"},
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
    assert files[0] == files[1] == files[2] == files[3]


def test_log_records_as_protobuf_and_as_json_give_the_same_lines(tmp_path: Path) -> None:
    """Log records as protobuf or OTLP JSON give the same lines, every field kept."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    span = NonRecordingSpan(SpanContext(0xABC, 0xDEF, False, TraceFlags(1)))
    provider.get_logger("app").emit(
        context=trace.set_span_in_context(span),
        event_name="gen_ai.client.inference.operation.details",
        body={"note": ["a", "b"], "n": 2},
        severity_number=SeverityNumber.INFO,
        attributes={"k": "v"},
    )
    provider.shutdown()
    request = encode_logs(memory.get_finished_logs())
    as_json = json_format.MessageToDict(request)
    for rl in as_json["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for record in sl["logRecords"]:
                for key in ("traceId", "spanId"):
                    record[key] = base64.b64decode(record[key]).hex()
    files = []
    for i, (ctype, body) in enumerate(
        [
            ("application/x-protobuf", request.SerializeToString()),
            ("application/json", json.dumps(as_json).encode()),
        ]
    ):
        out = tmp_path / f"{i}.jsonl"
        with Receiver(out, http=LOOPBACK, grpc=None) as r:
            assert post(r, "/v1/logs", body, ctype)[0] == 200
        files.append(_read(out))
    assert files[0] == files[1]
    (line,) = files[0]
    assert (line["kind"], line["event"], line["severity"]) == (
        "log",
        "gen_ai.client.inference.operation.details",
        "INFO",
    )
    assert (line["trace_id"], line["span_id"]) == (format(0xABC, "032x"), format(0xDEF, "016x"))
    assert line["body"] == {"note": ["a", "b"], "n": 2}
    assert line["attrs"] == {"k": "v"}


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
        key = "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"  # a run of one letter is a placeholder
        span.set_attribute("gen_ai.tool.call.result", f"key {key} " + "x" * 300)
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


# --- the command, under load -----------------------------------------------------------------


class ServeProcess:
    """``otel-jsonl serve`` in a subprocess on free loopback ports, its stderr collected."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "otel_jsonl", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.http = ""
        self.grpc = ""
        deadline = time.monotonic() + 60
        while not self.http:
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, self.stderr
            with contextlib.suppress(queue.Empty):
                line = self._lines.get(timeout=min(left, 1.0))
                if "OTLP/HTTP on" in line:
                    self.http = re.search(r"OTLP/HTTP on (http://[^\s;]+)", line).group(1)  # type: ignore[union-attr]
                    found = re.search(r"OTLP/gRPC on (\S+) ", line)
                    self.grpc = found.group(1) if found else ""

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self._lines.put(line)

    def peak_rss_kib(self) -> int:
        """The process's peak resident set size (VmHWM), in KiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``; wait (bounded) for the exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self._pump_thread.join(timeout=10)
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()


def send_spans(tracer_provider: TracerProvider, n: int, tag: str, payload: int = 0) -> None:
    """Create ``n`` chat spans (each its own trace, ``payload`` characters of output each) and
    flush them out."""
    tracer = tracer_provider.get_tracer("load")
    text = "x" * payload
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": i,
                    "sender": tag,
                    "payload": text,
                }
            )
    tracer_provider.shutdown()


def batch_provider(exporter: Any) -> TracerProvider:
    """A provider with a batch processor big enough that the sender itself drops nothing."""
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=20_000, max_export_batch_size=512, schedule_delay_millis=50
        )
    )
    return provider


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_command_serves_until_a_signal_then_writes_everything(tmp_path: Path, sig: int) -> None:
    """`otel-jsonl serve` prints where it listens, takes HTTP and gRPC, and stops cleanly."""
    out = tmp_path / "served.jsonl"
    server = ServeProcess("-o", str(out), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0")
    http_provider = batch_provider(HttpSpanExporter(endpoint=server.http + "/v1/traces"))
    grpc_provider = batch_provider(GrpcSpanExporter(endpoint=server.grpc, insecure=True))
    send_spans(http_provider, 30, "http")
    send_spans(grpc_provider, 20, "grpc")
    assert server.stop(sig) == 0, server.stderr
    lines = _read(out)
    senders = [line["otel"]["attrs"]["sender"] for line in lines if "otel" in line]
    assert sorted(senders) == ["grpc"] * 20 + ["http"] * 30
    assert "stopped; 50 spans, 0 log records written" in "".join(server.stderr)
    assert oct(out.stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_two_senders_ten_thousand_spans_nothing_lost_memory_bounded(tmp_path: Path) -> None:
    """Two senders, 10,000 spans in four rounds: each written once; once the queue has had
    two rounds to fill, the last two rounds leave peak RSS flat."""
    out = tmp_path / "served.jsonl"
    server = ServeProcess(
        "-o", str(out), "--http", "127.0.0.1:0", "--grpc", "none", "--queue", "2000", "--cap", "0"
    )
    payload = 3000  # 10,000 spans carry 30 MB: far more than the queue may hold
    peaks = [server.peak_rss_kib()]
    for round_ in ("1", "2", "3", "4"):
        senders = [
            threading.Thread(
                target=send_spans,
                args=(
                    batch_provider(HttpSpanExporter(endpoint=server.http + "/v1/traces")),
                    1250,
                    tag + round_,
                    payload,
                ),
            )
            for tag in ("a", "b")
        ]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(timeout=120)
            assert not thread.is_alive()
        peaks.append(server.peak_rss_kib())
    assert server.stop() == 0, server.stderr
    ids = span_ids(out)
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    # Holding the last two rounds (15 MB of payload, more as objects) would raise the peak by
    # well over 15 MB; a bounded queue leaves it near the one the first rounds reached. (How
    # full the queue gets in one round depends on how fast the writer drains it, so the
    # comparison starts after two.)
    assert peaks[4] - peaks[2] < 12 * 1024, peaks


def test_full_queue_answers_429_and_the_sdk_retries_bring_everything_in(tmp_path: Path) -> None:
    """A burst larger than the queue gets 429 / RESOURCE_EXHAUSTED; SDK retries deliver it all."""
    read_fd, write_fd = os.pipe()
    # The writer blocks once the pipe is full and nobody reads it: a slow consumer.
    sink = os.fdopen(write_fd, "wb")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_read_all(read_fd)), daemon=True)
    r = Receiver(stream=sink, http=LOOPBACK, grpc=LOOPBACK, queue_size=300, retry_after=1)
    r.start()
    try:
        assert r.grpc_address is not None
        providers = [
            batch_provider(HttpSpanExporter(endpoint=_http_url(r, "/v1/traces"))),
            batch_provider(GrpcSpanExporter(endpoint=_grpc_target(r), insecure=True)),
        ]
        senders = [
            threading.Thread(target=send_spans, args=(p, 2000, tag))
            for p, tag in zip(providers, ("http", "grpc"), strict=True)
        ]
        for thread in senders:
            thread.start()
        deadline = time.monotonic() + 60
        while r.stats.throttled_requests < 2:
            assert time.monotonic() < deadline, "the queue never filled"
            time.sleep(0.05)
        # 429s seen while nothing is read: raw requests too
        status, headers, body = post(r, "/v1/traces", protobuf_body(make_spans(400)))
        assert status == 429
        assert headers["retry-after"] == "1"
        assert status_of(body).code == 8  # RESOURCE_EXHAUSTED
        import grpc
        from google.rpc.error_details_pb2 import RetryInfo

        with grpc.insecure_channel(_grpc_target(r)) as channel:
            export = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
            )
            with pytest.raises(grpc.RpcError) as info:
                export(protobuf_body(make_spans(400)), timeout=10)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        hint = dict(info.value.trailing_metadata())["google.rpc.retryinfo-bin"]
        assert RetryInfo.FromString(hint).retry_delay.seconds == 1
        reader.start()
        for thread in senders:
            thread.join(timeout=120)
            assert not thread.is_alive()
    finally:
        r.stop()
        sink.close()
    reader.join(timeout=30)
    lines = [json.loads(line) for line in received[0].splitlines()]
    senders_seen = [line["otel"]["attrs"]["sender"] for line in lines if "otel" in line]
    assert sorted(senders_seen) == ["grpc"] * 2000 + ["http"] * 2000
    assert r.stats.throttled_requests >= 3


def _read_all(fd: int) -> bytes:
    chunks = []
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_command_refuses_an_open_address_and_a_taken_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An open address without a token exits 2; a taken port or unwritable file exits 1."""
    out = str(tmp_path / "t.jsonl")
    assert main(["serve", "-o", out, "--http", "0.0.0.0:0", "--grpc", "none"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "-o", out, "--http", f"127.0.0.1:{port}", "--grpc", "none"]) == 1
    assert "otel-jsonl: error: cannot listen" in capsys.readouterr().err
    unwritable = str(tmp_path / "file" / "t.jsonl")
    (tmp_path / "file").write_text("a file, not a directory")
    assert main(["serve", "-o", unwritable, "--http", "127.0.0.1:0", "--grpc", "none"]) == 1
    assert f"otel-jsonl: error: cannot write {unwritable}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"Content-Type: application/x-protobuf\r\n\r\n", 411),
        (b"Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (
            b"Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab",
            400,
        ),
    ],
    ids=["no-length", "bad-chunk-size", "cut-chunk"],
)
def test_bad_framing_is_answered_and_serving_goes_on(
    receiver: Receiver, head: bytes, status: int
) -> None:
    """No length is 411, a broken or cut chunked body 400; the next request works."""
    assert receiver.http_address is not None
    with socket.create_connection(receiver.http_address, timeout=10) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head)
        sock.shutdown(socket.SHUT_WR)
        answer = sock.makefile("rb").readline()
    assert answer.split()[1] == str(status).encode()
    assert post(receiver, "/v1/traces", protobuf_body(make_spans(2)))[0] == 200


# --- decoding, as a property -----------------------------------------------------------------


def sendable(span: ReadableSpan) -> ReadableSpan:
    """``span`` as an SDK exports it: sampled (only sampled spans are exported) and with ""
    for a scope version of None (OTLP strings have no absent value; SDK tracers use "")."""
    ctx, scope = span.context, span.instrumentation_scope
    return ReadableSpan(
        name=span.name,
        context=SpanContext(
            ctx.trace_id, ctx.span_id, False, TraceFlags(int(ctx.trace_flags) | 1), ctx.trace_state
        ),
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=InstrumentationScope(
            scope.name, scope.version or "", scope.schema_url, scope.attributes
        )
        if scope is not None
        else None,
    )


@settings(max_examples=150, deadline=None)
@given(generated=otlp_spans())
def test_decoded_span_maps_to_the_lines_of_the_original(generated: ReadableSpan) -> None:
    """Any span decoded from OTLP JSON or protobuf maps to exactly its own lines."""
    span = sendable(generated)
    body = json.dumps(encode_traces_data([span])).encode()
    request = ExportTraceServiceRequest()
    parse_body(body, request, json=True)
    (decoded,), rejected = decode_spans(request)
    assert rejected == 0
    rid = resource_id(span.resource)
    assert resource_id(decoded.resource) == rid
    expected = span_to_events(span, resource_ref=rid)
    assert span_to_events(decoded, resource_ref=rid) == expected
    again = ExportTraceServiceRequest()
    parse_body(request.SerializeToString(), again, json=False)
    (from_protobuf,), _ = decode_spans(again)
    assert span_to_events(from_protobuf, resource_ref=rid) == expected


@pytest.mark.slow
def test_command_rotates_its_output_as_asked(tmp_path: Path) -> None:
    """`serve --rotate-mb --keep --gzip` rotates the file it writes and keeps what was asked."""
    out = tmp_path / "served.jsonl"
    server = ServeProcess(
        "-o", str(out), "--http", "127.0.0.1:0", "--grpc", "none", "--cap", "0",
        "--rotate-mb", "0.05", "--keep", "2", "--gzip",
    )  # fmt: skip
    for i in range(6):  # six exports, each written whole: the file rotates between them
        send_spans(
            batch_provider(HttpSpanExporter(endpoint=server.http + "/v1/traces")), 30, f"r{i}", 2000
        )
    assert server.stop() == 0, server.stderr
    rotated = sorted(p.name for p in tmp_path.glob("served.*.jsonl*"))
    assert len(rotated) == 2, rotated  # more were rotated; --keep 2 kept two
    deadline = time.monotonic() + 30
    while not all(name.endswith(".gz") for name in rotated) and time.monotonic() < deadline:
        time.sleep(0.1)  # gzip of the last rotated file runs in the background
        rotated = sorted(p.name for p in tmp_path.glob("served.*.jsonl*"))
    assert all(name.endswith(".gz") for name in rotated), rotated
    assert out.stat().st_size <= 0.05 * 1024 * 1024 + 64 * 1024


def test_command_refuses_rotation_flags_that_cannot_apply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Keeping or gzipping without a rotation, or rotating stdout, is a usage error."""
    from otel_jsonl.cli import main

    assert main(["serve", "-o", "x.jsonl", "--keep", "3", "--http", "none", "--grpc", "none"]) == 2
    assert "need --rotate-mb or --rotate-daily" in capsys.readouterr().err
    assert main(["serve", "-o", "-", "--rotate-mb", "1"]) == 2
    assert "rotation needs an output file" in capsys.readouterr().err

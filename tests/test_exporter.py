"""JsonlSpanExporter and JsonlLogExporter: the exporter contract, configuration, joining, dedupe."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.agent_loops import run_anthropic_loop
from support.fixtures import anthropic_native_tracing
from support.providers import ProviderServer

from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from otel_jsonl.otel.joiner import LogJoiner


def _memory_provider() -> tuple[InMemorySpanExporter, TracerProvider]:
    """A real SDK provider whose finished spans are kept in memory (shut it down when done)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory, provider


@pytest.fixture
def spans() -> Iterator[list[ReadableSpan]]:
    """Ten finished GenAI spans of one trace, made by the real SDK."""
    memory, provider = _memory_provider()
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span(
        "invoke_agent a", attributes={"gen_ai.operation.name": "invoke_agent"}
    ):
        for i in range(9):
            with tracer.start_as_current_span(
                "chat m",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "m",
                    "gen_ai.response.id": f"r{i}",
                },
            ):
                pass
    yield list(memory.get_finished_spans())
    provider.shutdown()


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_export_writes_lines_with_ids_and_seq(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    """Each span becomes its events; run is the trace id and seq counts the run's steps."""
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    lines = _read(tmp_path / "t.jsonl")
    assert lines[0]["kind"] == "resource"
    steps = lines[1:]
    trace_id = format(spans[0].context.trace_id, "032x")
    assert {line["run"] for line in steps} == {trace_id}
    assert [line["seq"] for line in steps] == list(range(11))
    assert [line["kind"] for line in steps] == ["llm_call"] * 9 + ["input", "final"]
    # The recorder's key order, for people reading the file: ts, run, seq, kind first.
    assert all(list(line)[:4] == ["ts", "run", "seq", "kind"] for line in steps)
    assert all(line["otel"]["resource"] == lines[0]["id"] for line in steps if "otel" in line)
    assert (tmp_path / "t.jsonl").stat().st_mode & 0o777 == 0o600


def _chat_spans(count: int) -> list[ReadableSpan]:
    """Model-call spans of growing size (captured messages, a tool call, request parameters)."""
    memory, provider = _memory_provider()
    tracer = provider.get_tracer("t", "1")
    for i in range(count):
        messages = [{"role": "user", "parts": [{"type": "text", "content": "q" * (i * 97)}]}]
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "m",
            "gen_ai.request.temperature": 0.5,
            "gen_ai.response.id": f"r{i}",
            "gen_ai.usage.input_tokens": i,
            "gen_ai.input.messages": json.dumps(messages, separators=(",", ":")),
        }
        with tracer.start_as_current_span(f"chat {i}", attributes=attrs):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def test_batches_of_any_size_give_the_same_bytes(tmp_path: Path) -> None:
    """A large batch, then smaller ones, write the very bytes of one span per export (the
    batch buffer kept between batches never leaks an earlier batch's bytes)."""
    spans = _chat_spans(30)
    batched = JsonlSpanExporter(tmp_path / "a.jsonl")
    for batch in (spans[5:25], spans[:1], spans[1:5], spans[25:]):
        assert batched.export(batch) is SpanExportResult.SUCCESS
    batched.shutdown()
    single = JsonlSpanExporter(tmp_path / "b.jsonl")
    for span in spans[5:25] + spans[:5] + spans[25:]:
        assert single.export([span]) is SpanExportResult.SUCCESS
    single.shutdown()
    data = (tmp_path / "a.jsonl").read_bytes()
    assert data == (tmp_path / "b.jsonl").read_bytes()
    assert [line["kind"] for line in _read(tmp_path / "a.jsonl")] == ["resource"] + 30 * [
        "llm_call"
    ]


def test_nan_in_a_model_call_is_written_as_before(tmp_path: Path) -> None:
    """A model call whose message text holds NaN, or whose parameter is NaN, is written as the
    codec's careful encoding writes it (never orjson's ``null``), and a plain one (the quick
    encoding) too."""
    from otel_jsonl.otel.mapping import span_to_events
    from otel_jsonl.record import codec

    plain = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
    }
    nan_text = '[{"role":"user","parts":[{"type":"text","content":NaN}]}]'
    cases = [plain, dict(plain, **{"gen_ai.input.messages": nan_text})]
    cases.append(dict(plain, **{"gen_ai.request.temperature": float("nan")}))
    memory, provider = _memory_provider()
    for attrs in cases:
        with provider.get_tracer("t").start_as_current_span("chat m", attributes=attrs):
            pass
    made = list(memory.get_finished_spans())
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    assert exporter.export(made) is SpanExportResult.SUCCESS
    exporter.shutdown()
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines(keepends=True)[1:]
    for span, line in zip(made, lines, strict=True):  # each its own run: seq 0
        (event,) = span_to_events(span, resource_ref=json.loads(line)["otel"]["resource"])
        event["seq"] = 0
        assert line == codec.dumps_line(event)
    assert b'"content":"NaN"' in lines[1]
    assert b'"gen_ai.request.temperature":{"float":"NaN"}' in lines[2]
    provider.shutdown()


def test_a_stream_is_given_bytes_it_may_keep() -> None:
    """A stream that keeps what it is given keeps each batch's bytes, not a view of a buffer
    the next batch overwrites."""

    class Keeping(io.RawIOBase):
        def __init__(self) -> None:
            self.kept: list[Any] = []

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.kept.append(data)
            return len(data)

    spans = _chat_spans(6)
    stream = Keeping()
    exporter = JsonlSpanExporter(stream=stream)
    for span in reversed(spans):
        assert exporter.export([span]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert all(type(chunk) is bytes for chunk in stream.kept)
    lines = [json.loads(line) for chunk in stream.kept for line in chunk.splitlines()]
    assert [line.get("response_id") for line in lines] == [None] + [
        f"r{i}" for i in range(5, -1, -1)
    ]


def test_export_works_again_after_a_failed_write(tmp_path: Path) -> None:
    """A write that failed (the file closed behind the exporter) fails that batch only; the
    next batch, on a working file, is written whole."""
    spans = _chat_spans(4)
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    assert exporter.export(spans[:2]) is SpanExportResult.SUCCESS
    fd = exporter.writer._fd
    assert fd is not None
    os.close(fd)
    assert exporter.export(spans[2:3]) is SpanExportResult.FAILURE
    exporter.writer._fd = os.open(tmp_path / "t.jsonl", os.O_WRONLY | os.O_APPEND)
    assert exporter.export(spans[3:]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert [line.get("response_id") for line in _read(tmp_path / "t.jsonl")] == [
        None,
        "r0",
        "r1",
        "r3",
    ]


def test_empty_batch(tmp_path: Path) -> None:
    """An empty batch succeeds and writes nothing."""
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    assert exporter.export([]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert (tmp_path / "t.jsonl").read_bytes() == b""


def test_export_after_shutdown_fails(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    """Export after shutdown returns FAILURE; a second shutdown is harmless."""
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    exporter.shutdown()
    exporter.shutdown()
    assert exporter.export(spans) is SpanExportResult.FAILURE
    assert exporter.force_flush() is False


def test_stream_is_not_closed(spans: list[ReadableSpan]) -> None:
    """A stream given by the caller is written and flushed, never closed."""
    stream = io.StringIO()
    exporter = JsonlSpanExporter(stream=stream)
    assert exporter.export(spans[:1]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert not stream.closed
    assert [json.loads(x)["kind"] for x in stream.getvalue().splitlines()] == [
        "resource",
        "llm_call",
    ]


def test_closed_stream_returns_failure(spans: list[ReadableSpan], caplog: Any) -> None:
    """Writing to a stream closed behind the exporter's back fails without raising."""
    stream = io.BytesIO()
    exporter = JsonlSpanExporter(stream=stream)
    stream.close()
    assert exporter.export(spans) is SpanExportResult.FAILURE
    assert exporter.writer.dropped == 1
    exporter.shutdown()


def test_unwritable_path_never_raises(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    """A path that cannot be opened is counted as dropped at export, not raised."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    exporter = JsonlSpanExporter(blocker / "t.jsonl")
    assert exporter.export(spans) is SpanExportResult.FAILURE
    exporter.shutdown()


def test_eight_threads(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    """Eight threads exporting at once give whole lines and unique seqs per run."""
    path = tmp_path / "t.jsonl"
    exporter = JsonlSpanExporter(path)
    barrier = threading.Barrier(8)
    results: list[SpanExportResult] = []

    def work() -> None:
        barrier.wait(timeout=10)
        for _ in range(25):
            results.append(exporter.export(spans))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    exporter.shutdown()
    assert results == [SpanExportResult.SUCCESS] * 200
    lines = _read(path)
    steps = [line for line in lines if line["kind"] != "resource"]
    assert len(steps) == 200 * 11
    assert sorted(line["seq"] for line in steps) == list(range(200 * 11))


def test_zero_argument_construction_uses_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: list[ReadableSpan]
) -> None:
    """With no arguments the path, cap and redaction come from the environment."""
    path = tmp_path / "env" / "x.jsonl"
    monkeypatch.setenv("OTEL_EXPORTER_JSONL_PATH", str(path))
    monkeypatch.setenv("OTEL_JSONL_CAP", "0")
    monkeypatch.setenv("OTEL_JSONL_REDACT", "false")
    exporter = JsonlSpanExporter()
    assert exporter.writer.path == path
    assert exporter.writer.cap == 0
    assert exporter.writer.redactor is None
    exporter.shutdown()


def test_cap_and_redaction_apply(tmp_path: Path) -> None:
    """Long attribute values go to the blob store and secrets are redacted, as in the recorder."""
    memory, provider = _memory_provider()
    with provider.get_tracer("t").start_as_current_span(
        "s", attributes={"big": "x" * 10_000, "key": "sk-proj-Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU"}
    ):
        pass
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl", cap=100)
    exporter.export(memory.get_finished_spans())
    exporter.shutdown()
    provider.shutdown()
    text = (tmp_path / "t.jsonl").read_text("utf-8")
    assert "Xq7RbV2mK9pLw4TzN8cY3hJ6dF1sG5aQ0eU" not in text and "[REDACTED:openai_key:" in text
    kinds = [line["kind"] for line in _read(tmp_path / "t.jsonl")]
    assert "blob_ref" in kinds
    assert len(os.listdir(tmp_path / "blobs")) == 1


def _emit(logger_provider: LoggerProvider, span: trace.Span, name: str, body: Any) -> None:
    logger_provider.get_logger("l").emit(
        LogRecord(
            event_name=name,
            body=body,
            context=trace.set_span_in_context(span),
        )
    )


def test_logs_join_the_llm_call(tmp_path: Path) -> None:
    """Per-message log records emitted inside a span land on its llm_call, not as log lines."""
    path = tmp_path / "t.jsonl"
    joiner = LogJoiner()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path, joiner=joiner)))
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(JsonlLogExporter(path, joiner=joiner))
    )
    tracer = tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("chat", attributes={"gen_ai.operation.name": "chat"}) as span:
        _emit(logger_provider, span, "gen_ai.user.message", {"content": "hi"})
        _emit(
            logger_provider,
            span,
            "gen_ai.choice",
            {"index": 0, "finish_reason": "stop", "message": {"content": "yo"}},
        )
    # A record after its span was written becomes a log line carrying the span's ids.
    _emit(logger_provider, span, "gen_ai.choice", {"index": 1, "message": {"content": "late"}})
    tracer_provider.shutdown()
    logger_provider.shutdown()
    lines = _read(path)
    (llm,) = [line for line in lines if line["kind"] == "llm_call"]
    assert llm["input"] == [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    assert llm["output"][0]["parts"] == [{"type": "text", "content": "yo"}]
    assert llm["finish_reason"] == "stop"
    (log,) = [line for line in lines if line["kind"] == "log"]
    assert log["span_id"] == llm["span_id"]
    assert log["output"][0]["parts"] == [{"type": "text", "content": "late"}]


def test_joiner_is_bounded(tmp_path: Path) -> None:
    """Waiting records past max_pending, or never joined, are written as log lines."""
    path = tmp_path / "t.jsonl"
    joiner = LogJoiner(max_pending=2, timeout=0.0)
    log_exporter = JsonlLogExporter(path, joiner=joiner)
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    for _ in range(3):
        with tracer.start_as_current_span("x") as span:
            _emit(logger_provider, span, "gen_ai.user.message", {"content": "hi"})
    logger_provider.shutdown()
    assert [line["kind"] for line in _read(path)] == ["log"] * 3


def test_double_traced_call_gives_one_llm_call(
    tmp_path: Path, anthropic_server: ProviderServer
) -> None:
    """The Anthropic SDK's span and a second instrumentation's span of one call: one llm_call.

    The second instrumentation is an LLM span wrapped around the SDK call, as OpenLLMetry's and
    OpenInference's anthropic instrumentations do; both carry the same response id. The one
    exported first stays the llm_call; the other becomes a `span` with `duplicate_of`.
    """
    path = tmp_path / "t.jsonl"
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    tracer = provider.get_tracer("other.instrumentation")

    with anthropic_native_tracing(provider) as option:
        import anthropic

        original = anthropic.resources.messages.Messages.create

        def create(self: Any, *args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(
                "anthropic.chat",
                attributes={"gen_ai.operation.name": "chat", "gen_ai.system": "anthropic"},
            ) as span:
                response = original(self, *args, **kwargs)
                span.set_attribute("gen_ai.response.id", response.id)
                return response

        anthropic.resources.messages.Messages.create = create  # type: ignore[method-assign]
        try:
            run_anthropic_loop(anthropic_server.anthropic_base_url, open_telemetry=option)
        finally:
            anthropic.resources.messages.Messages.create = original  # type: ignore[method-assign]
    provider.shutdown()
    lines = _read(path)
    llm = [line for line in lines if line["kind"] == "llm_call"]
    dups = [line for line in lines if line.get("duplicate_of")]
    assert len(llm) == 2
    assert [line["otel"]["name"] for line in llm] == ["anthropic.messages.create"] * 2
    assert [line["duplicate_of"] for line in dups] == [line["span_id"] for line in llm]
    assert all(line["kind"] == "span" for line in dups)


def test_opentelemetry_instrument_entry_points(
    tmp_path: Path, openai_server: ProviderServer
) -> None:
    """`OTEL_TRACES_EXPORTER=jsonl OTEL_LOGS_EXPORTER=jsonl opentelemetry-instrument` works.

    Every installed openai instrumentation is switched on by the auto-instrumentation (the
    official one, OpenInference's and OpenLLMetry's), so each call is traced three times; the
    file still has one llm_call per model call.
    """
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            sys.path.insert(0, os.environ["TESTS_DIR"])
            from support.agent_loops import run_openai_loop
            print(run_openai_loop(os.environ["BASE_URL"]))
            """
        )
    )
    out = tmp_path / "traces" / "agent.jsonl"
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "jsonl",
        "OTEL_LOGS_EXPORTER": "jsonl",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_JSONL_PATH": str(out),
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
        "TESTS_DIR": str(Path(__file__).parent),
        "BASE_URL": openai_server.openai_base_url,
        "PYTHONWARNINGS": "ignore",
    }
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sunny" in proc.stdout
    lines = _read(out)
    llm = [line for line in lines if line["kind"] == "llm_call"]
    assert len(llm) == 2, [(line["kind"], line.get("otel", {}).get("name")) for line in lines]
    assert all(line["model"] == "gpt-4o-mini" and line["usage"]["input_tokens"] > 0 for line in llm)
    assert all(line["run"] == line["trace_id"] for line in llm)


def test_configure_flushes_at_exit(tmp_path: Path) -> None:
    """configure() in a short script: the batched spans are in the file when it exits."""
    out = tmp_path / "c.jsonl"
    script = tmp_path / "short.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import otel_jsonl
            from opentelemetry import trace
            otel_jsonl.configure({str(out)!r}, service_name="short")
            attrs = {{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}}
            with trace.get_tracer("x").start_as_current_span("chat m", attributes=attrs):
                pass
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = _read(out)
    assert [line["kind"] for line in lines] == ["resource", "llm_call"]
    assert lines[0]["attrs"]["service.name"] == "short"


def test_batch_processor_delivers(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    """Through a BatchSpanProcessor, force_flush puts every span in the file."""
    path = tmp_path / "t.jsonl"
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(JsonlSpanExporter(path)))
    with provider.get_tracer("t").start_as_current_span("s"):
        pass
    assert provider.force_flush(10_000)
    assert [line["kind"] for line in _read(path)] == ["resource", "span"]
    provider.shutdown()


def test_step_numbers_per_run_are_consecutive_and_bounded(tmp_path: Path) -> None:
    """Each run numbers its lines 0, 1, 2... across spans and batches (a tool span's two lines
    and an error line included, the error pointing at its step); past the bound, the least
    recently used run is forgotten and starts again at 0."""
    from opentelemetry.trace import Status, StatusCode

    from otel_jsonl.otel.exporter import _SeqCounter

    counter = _SeqCounter(max_runs=2)
    assert [counter.take("a"), counter.take("b"), counter.take("a", 3), counter.take("a")] == [
        0,
        0,
        1,
        4,
    ]
    assert counter.take("c") == 0  # "b" was the least recently used: forgotten
    assert [counter.take("a"), counter.take("b")] == [5, 0]

    memory, provider = _memory_provider()
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span(
        "invoke_agent a", attributes={"gen_ai.operation.name": "invoke_agent"}
    ):
        with tracer.start_as_current_span(
            "execute_tool t", attributes={"gen_ai.operation.name": "execute_tool"}
        ):
            pass
        with tracer.start_as_current_span(
            "chat m", attributes={"gen_ai.operation.name": "chat"}
        ) as s:
            s.set_status(Status(StatusCode.ERROR, "boom"))
    made = list(memory.get_finished_spans())
    exporter = JsonlSpanExporter(tmp_path / "t.jsonl")
    for span in made:
        assert exporter.export([span]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    lines = [line for line in _read(tmp_path / "t.jsonl") if line["kind"] != "resource"]
    assert [line["kind"] for line in lines] == [
        "tool_call",
        "tool_result",
        "llm_call",
        "error",
        "input",
        "final",
    ]
    assert [line["seq"] for line in lines] == list(range(6))
    assert lines[3]["step"] == 2
    provider.shutdown()

"""Real GenAI instrumentations through the exporters: the two-turn tool loop, as events.

Each test runs the real `openai` or `anthropic` client against the loopback provider server
(tests/support/providers.py) with one instrumentation switched on, exports through
`JsonlSpanExporter` and `JsonlLogExporter` into a file, and checks the events.

The instrumentations only emit the LLM spans. As a real instrumented app would, the loop's
steps open the other spans with the plain OpenTelemetry API (`SpanRecorder` below): an
`invoke_agent` span around the run and an `execute_tool` span around each tool execution, with
`gen_ai.tool.name`, `gen_ai.tool.call.id` and (when content is captured) the arguments and
result attributes. The LLM spans become children of the agent span.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support.agent_loops import run_anthropic_loop, run_openai_loop
from support.fixtures import (
    anthropic_native_tracing,
    instrumented_openai_v2,
    instrumented_openinference,
    instrumented_openllmetry,
)
from support.providers import ProviderServer
from support.span_recorder import SpanRecorder

from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from otel_jsonl.otel.joiner import LogJoiner


@dataclass
class JsonlTelemetry:
    """A tracer and a logger provider exporting into one JSONL file."""

    path: Path
    tracer_provider: TracerProvider
    logger_provider: LoggerProvider

    def lines(self) -> list[dict[str, Any]]:
        """Shut the providers down (logs first) and read the file back."""
        self.logger_provider.force_flush()
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def recorder(self, content: bool) -> SpanRecorder:
        """A `SpanRecorder` on this tracer provider."""
        return SpanRecorder(self.tracer_provider.get_tracer("agent-app"), content)


@pytest.fixture
def jsonl(tmp_path: Path) -> Iterator[JsonlTelemetry]:
    """Providers wired as `configure()` wires them, but not global."""
    path = tmp_path / "trace.jsonl"
    joiner = LogJoiner()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path, joiner=joiner)))
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(JsonlLogExporter(path, joiner=joiner))
    )
    yield JsonlTelemetry(path, tracer_provider, logger_provider)
    tracer_provider.shutdown()
    logger_provider.shutdown()


def _steps(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["kind"] not in ("resource", "blob_ref")]


def _parts(messages: Any, kind: str) -> list[dict[str, Any]]:
    return [
        p
        for m in messages or ()
        for p in m.get("parts", ())
        if isinstance(p, dict) and p.get("type") == kind
    ]


def check_loop(
    lines: list[dict[str, Any]],
    *,
    provider: str,
    model: str,
    call_id: str,
    content: bool,
    output_content: bool = True,
) -> None:
    """The events of the two-turn loop: two llm_calls, a tool call and result, the answer."""
    steps = _steps(lines)
    runs = {line["run"] for line in steps}
    assert len(runs) == 1, runs
    assert sorted(line["seq"] for line in steps if "seq" in line) == list(range(len(steps)))
    kinds = [line["kind"] for line in steps]
    assert kinds.count("llm_call") == 2, kinds
    assert kinds.count("tool_call") == 1
    assert kinds.count("tool_result") == 1
    assert kinds.count("input") == 1
    assert kinds.count("final") == 1
    assert "log" not in kinds, [line for line in steps if line["kind"] == "log"]
    llm = [line for line in steps if line["kind"] == "llm_call"]
    for call in llm:
        assert call["model"] == model
        assert call["provider"] == provider
        assert call["usage"]["input_tokens"] > 0
        assert call["usage"]["output_tokens"] > 0
        assert call["parent_id"] == next(s["span_id"] for s in steps if s["kind"] == "final")
    (tool_call,) = (s for s in steps if s["kind"] == "tool_call")
    (tool_result,) = (s for s in steps if s["kind"] == "tool_result")
    (final,) = (s for s in steps if s["kind"] == "final")
    assert tool_call["name"] == "get_weather"
    assert tool_call["id"] == call_id
    assert tool_result["id"] == call_id
    assert tool_call["seq"] < tool_result["seq"]
    if content:
        assert tool_call["args"] == {"city": "Lisbon"}
        assert "sunny" in json.dumps(tool_result["output"])
        assert "sunny" in final["text"]
        (answered,) = _parts(llm[1]["input"], "tool_call_response")
        assert answered["id"] == call_id
        if output_content:
            (asked,) = _parts(llm[0]["output"], "tool_call")
            assert asked["id"] == call_id
            assert asked["name"] == "get_weather"
            assert asked["arguments"] == {"city": "Lisbon"}
            assert "sunny" in _parts(llm[1]["output"], "text")[0]["content"]
    else:
        for call in llm:
            assert "input" not in call
            assert "output" not in call
        assert "args" not in tool_call
        assert "output" not in tool_result
        assert final.get("text") is None


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("capture", ["SPAN_ONLY", "EVENT_ONLY", None], ids=["span", "event", "off"])
def test_openai_v2(
    jsonl: JsonlTelemetry, openai_server: ProviderServer, capture: Any, stream: bool
) -> None:
    """Official openai-v2: content on the span, in log events, or off, gives the loop's events."""
    with instrumented_openai_v2(jsonl.tracer_provider, jsonl.logger_provider, capture=capture):
        run_openai_loop(
            openai_server.openai_base_url,
            stream=stream,
            recorder=jsonl.recorder(capture is not None),
        )
    lines = jsonl.lines()
    check_loop(
        lines, provider="openai", model="gpt-4o-mini", call_id="call_1", content=capture is not None
    )
    if capture == "EVENT_ONLY":
        llm = [line for line in lines if line["kind"] == "llm_call"]
        assert all(
            line["otel"]["logs"] == ["gen_ai.client.inference.operation.details"] for line in llm
        )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("content", [True, False], ids=["content", "hidden"])
def test_openinference(
    jsonl: JsonlTelemetry, openai_server: ProviderServer, content: bool, stream: bool
) -> None:
    """OpenInference openai: flattened messages and token counts give the loop's events."""
    with instrumented_openinference(
        jsonl.tracer_provider, hide_inputs=not content, hide_outputs=not content
    ):
        run_openai_loop(
            openai_server.openai_base_url, stream=stream, recorder=jsonl.recorder(content)
        )
    check_loop(
        jsonl.lines(), provider="openai", model="gpt-4o-mini", call_id="call_1", content=content
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("content", "use_attributes"),
    [(True, True), (False, True), (True, False)],
    ids=["attributes", "off", "log-events"],
)
def test_openllmetry(
    jsonl: JsonlTelemetry,
    openai_server: ProviderServer,
    content: bool,
    use_attributes: bool,
    stream: bool,
) -> None:
    """OpenLLMetry openai: content as attributes, as log events, or off.

    Streaming with log events, OpenLLMetry emits the `gen_ai.choice` record after the span
    ended, in the context around it (here the agent span): it cannot be joined to its call,
    so it is kept as a `log` line with the output normalised, and the `llm_call` has none.
    """
    with instrumented_openllmetry(
        jsonl.tracer_provider,
        jsonl.logger_provider,
        content=content,
        use_attributes=use_attributes,
    ):
        run_openai_loop(
            openai_server.openai_base_url, stream=stream, recorder=jsonl.recorder(content)
        )
    lines = jsonl.lines()
    orphans = stream and not use_attributes
    if orphans:
        logs = [line for line in lines if line["kind"] == "log"]
        assert [line["event"] for line in logs] == ["gen_ai.choice", "gen_ai.choice"]
        final = next(line for line in lines if line["kind"] == "final")
        assert all(line["span_id"] == final["span_id"] and line["output"] for line in logs)
        lines = [line for line in lines if line["kind"] != "log"]
    check_loop(
        lines,
        provider="openai",
        model="gpt-4o-mini",
        call_id="call_1",
        content=content,
        output_content=not orphans,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("content", [True, False], ids=["content", "off"])
def test_anthropic_native(
    jsonl: JsonlTelemetry, anthropic_server: ProviderServer, content: bool, stream: bool
) -> None:
    """The Anthropic SDK's own spans give the loop's events."""
    with anthropic_native_tracing(jsonl.tracer_provider, content=content) as option:
        run_anthropic_loop(
            anthropic_server.anthropic_base_url,
            stream=stream,
            recorder=jsonl.recorder(content),
            open_telemetry=option,
        )
    lines = jsonl.lines()
    check_loop(
        lines, provider="anthropic", model="claude-sonnet-4-6", call_id="toolu_1", content=content
    )
    llm = [line for line in lines if line["kind"] == "llm_call"]
    assert [line["finish_reason"] for line in llm] == ["tool_use", "end_turn"]


_DOUBLE_TRACED = """
import sys
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support.agent_loops import run_anthropic_loop
from support.providers import ProviderServer
from otel_jsonl.otel.exporter import JsonlSpanExporter

path, stream = sys.argv[1], sys.argv[2] == "sse"
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
AnthropicInstrumentor().instrument(tracer_provider=provider)
native = {"tracer_provider": provider, "traces": {"enabled": True, "content_mode": "content"}}
with ProviderServer() as server:
    print(run_anthropic_loop(server.anthropic_base_url, stream=stream, open_telemetry=native))
provider.shutdown()
"""


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_anthropic_native_beside_openllmetry_gives_one_llm_call_per_call(
    tmp_path: Path, stream: bool
) -> None:
    """The Anthropic SDK's own spans and OpenLLMetry's anthropic instrumentation trace each
    call twice, as two root spans in two traces; the file has one llm_call per model call and
    the other copy as a span line pointing at it. (A subprocess: the instrumentation patches
    the anthropic client for the whole process.)"""
    import subprocess
    import sys

    path = tmp_path / "double.jsonl"
    tests_dir = Path(__file__).resolve().parent
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            "-c",
            _DOUBLE_TRACED,
            str(path),
            "sse" if stream else "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tests_dir)},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    llm = [line for line in lines if line["kind"] == "llm_call"]
    copies = [line for line in lines if line.get("duplicate_of")]
    assert len(llm) == 2
    assert len(copies) == 2
    assert {c["duplicate_of"] for c in copies} == {line["span_id"] for line in llm}
    # The two copies of each call really were in different traces (no agent span around them).
    by_span = {line["span_id"]: line for line in llm}
    assert all(c["trace_id"] != by_span[c["duplicate_of"]]["trace_id"] for c in copies)
    assert {c["otel"]["name"] for c in copies} | {line["otel"]["name"] for line in llm} == {
        "anthropic.messages.create",
        "anthropic.chat",
    }

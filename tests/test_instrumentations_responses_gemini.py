"""Real instrumentations of the OpenAI Responses API and of Gemini, through the exporters.

Each test runs the real `openai` or `google-genai` client through the two-turn tool loop
(support/more_loops.py) against the loopback server with one instrumentation on and content
capture on, exports through `JsonlSpanExporter` and `JsonlLogExporter` into a file, and checks:
one `llm_call` per request the server saw (model, provider, usage), the `tool_call` paired with
its `tool_result`, the final answer, and replay at the second `llm_call`, in the API's own
format, equal to the request body the server received (compared as messages, tool calls and
results, with the call ids pairing). Agent and tool spans come from `support.span_recorder`, as
an instrumented app would open them.

The official `opentelemetry-instrumentation-google-genai` needs google-genai < 3 and a newer
util-genai than the test venv has: it runs in the venv scripts/install-genai-official.sh builds,
as a subprocess writing the JSONL file.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support.fixtures import (
    instrumented_openai_v2,
    instrumented_openinference,
    instrumented_openllmetry,
)
from support.more_loops import GEMINI_MODEL, RESPONSES_MODEL, run_gemini_loop, run_responses_loop
from support.providers import ProviderServer, RecordedRequest, Turn
from support.span_recorder import SpanRecorder

from otel_jsonl import validate_event
from otel_jsonl.analyze.replay import replay
from otel_jsonl.genai.messages import to_parts
from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
from otel_jsonl.otel.joiner import LogJoiner

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
TESTS = Path(__file__).parent
REPO = TESTS.parent
OFFICIAL_VENV = Path(os.environ.get("GENAI_OFFICIAL_VENV", REPO / ".genai-official-venv"))


class Telemetry:
    """A tracer and a logger provider exporting into one JSONL file, as `configure()` wires."""

    def __init__(self, path: Path) -> None:
        self.path = path
        joiner = LogJoiner()
        self.tracer_provider = TracerProvider(shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(
            SimpleSpanProcessor(JsonlSpanExporter(path, joiner=joiner))
        )
        self.logger_provider = LoggerProvider(shutdown_on_exit=False)
        self.logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(JsonlLogExporter(path, joiner=joiner))
        )
        self.recorder = SpanRecorder(self.tracer_provider.get_tracer("agent-app"), True)

    def lines(self) -> list[dict[str, Any]]:
        """Shut the providers down (logs first) and read the file back."""
        self.logger_provider.force_flush()
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        return read_lines(self.path)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def telemetry(tmp_path: Path) -> Iterator[Telemetry]:
    """A `Telemetry` writing tmp_path/trace.jsonl, shut down after the test."""
    t = Telemetry(tmp_path / "trace.jsonl")
    yield t
    t.tracer_provider.shutdown()
    t.logger_provider.shutdown()


# --- comparing a replay with the wire --------------------------------------------------------


def _canon_part(part: dict[str, Any]) -> dict[str, Any]:
    out = {"type": part.get("type")}
    if part.get("type") == "text":
        out["content"] = part.get("content")
    elif part.get("type") == "tool_call":
        args = part.get("arguments")
        out |= {
            "name": part.get("name"),
            "arguments": json.loads(args) if isinstance(args, str) else args,
        }
    elif part.get("type") == "tool_call_response":
        response = part.get("response")
        if isinstance(response, dict) and set(response) == {"result"}:
            response = response["result"]  # Gemini wraps a string result
        out["response"] = response
    return out


def canonical(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Messages as (role, parts) with call ids left out; tool turns merged as the APIs do."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        parts_message = to_parts(message)
        role = {"model": "assistant", "tool": "user"}.get(
            parts_message["role"], parts_message["role"]
        )
        parts = [_canon_part(p) for p in parts_message["parts"] if p.get("type") != "reasoning"]
        if out and out[-1][0] == role == "assistant":
            out[-1][1].extend(parts)
        else:
            out.append((role, parts))
    return out


def call_pairs(messages: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """(call id, result id) of each tool call and the result that follows it, in order."""
    parts = [p for m in messages for p in to_parts(m)["parts"]]
    calls = [p.get("id") for p in parts if p.get("type") == "tool_call"]
    results = [p.get("id") for p in parts if p.get("type") == "tool_call_response"]
    return list(zip(calls, results, strict=True))


def check_replay_responses(path: Path, step: int, call: RecordedRequest, *, exact: bool) -> None:
    payload = replay(path, step, format="responses")
    assert payload["instructions"] == call.body["instructions"]
    if exact:
        assert payload["input"] == call.body["input"]
    assert canonical(payload["input"]) == canonical(call.body["input"])
    pairs = call_pairs(payload["input"])
    assert pairs == call_pairs(call.body["input"]) and all(a == b for a, b in pairs)


def check_replay_gemini(path: Path, step: int, call: RecordedRequest, *, exact: bool) -> None:
    payload = replay(path, step, format="gemini")
    assert payload["systemInstruction"]["parts"] == call.body["systemInstruction"]["parts"]
    if exact:
        assert payload["contents"] == call.body["contents"]
    assert canonical(payload["contents"]) == canonical(call.body["contents"])
    assert all(a == b for a, b in call_pairs(payload["contents"]))


def check_run(
    lines: list[dict[str, Any]],
    server_calls: list[RecordedRequest],
    *,
    model: str,
    provider: str,
    call_id: str | None,
) -> list[dict[str, Any]]:
    """The loop's events; returns the llm_calls."""
    assert [problem for line in lines for problem in validate_event(line)] == []
    steps = [line for line in lines if line["kind"] not in ("resource", "blob_ref", "log")]
    assert len({line["run"] for line in steps}) == 1
    kinds = [line["kind"] for line in steps]
    llm = [line for line in steps if line["kind"] == "llm_call"]
    assert len(llm) == len(server_calls) == 2, kinds
    for line, call in zip(llm, server_calls, strict=True):
        assert line["model"] == model
        assert line["provider"] == provider
        assert call.usage is not None
        assert line["usage"]["input_tokens"] == call.usage.input_tokens
        assert line["usage"]["output_tokens"] == call.usage.output_tokens
    (tool_call,) = (s for s in steps if s["kind"] == "tool_call")
    (tool_result,) = (s for s in steps if s["kind"] == "tool_result")
    assert (tool_call["name"], tool_call.get("id"), tool_call["args"]) == (
        "get_weather",
        call_id,
        {"city": "Lisbon"},
    )
    assert tool_result.get("id") == call_id and tool_result["span_id"] == tool_call["span_id"]
    assert "sunny" in json.dumps(tool_result["output"])
    (final,) = (s for s in steps if s["kind"] == "final")
    assert final["text"].startswith("The weather in Lisbon:") and "sunny" in final["text"]
    asked = [p for m in llm[0]["output"] for p in to_parts(m)["parts"] if p["type"] == "tool_call"]
    assert [(p["name"], p["arguments"]) for p in asked] == [("get_weather", {"city": "Lisbon"})]
    return llm


# --- Responses API -------------------------------------------------------------------------


@STREAM
def test_responses_openinference(telemetry: Telemetry, stream: bool) -> None:
    """OpenInference `Response` spans: the raw request (`input.value`) is the step's input, so
    replay in the Responses format is exactly the body the client sent."""
    with instrumented_openinference(telemetry.tracer_provider), ProviderServer() as server:
        run_responses_loop(server.responses_base_url, stream=stream, recorder=telemetry.recorder)
        calls = server.calls
    lines = telemetry.lines()
    llm = check_run(lines, calls, model=RESPONSES_MODEL, provider="openai", call_id="call_1")
    assert [line["otel"]["name"] for line in llm] == ["Response", "Response"]
    assert [line["response_id"] for line in llm] == ["resp_1", "resp_2"]
    assert [line["finish_reason"] for line in llm] == ["tool_call", "stop"]
    check_replay_responses(telemetry.path, llm[1]["seq"], calls[1], exact=True)


@STREAM
def test_responses_openllmetry(telemetry: Telemetry, stream: bool) -> None:
    """OpenLLMetry `openai.response` spans: the tool call it labels with the item id `fc_1` is
    paired with the result's call id `call_1` in the next call's input."""
    with (
        instrumented_openllmetry(telemetry.tracer_provider, telemetry.logger_provider),
        ProviderServer() as server,
    ):
        run_responses_loop(server.responses_base_url, stream=stream, recorder=telemetry.recorder)
        calls = server.calls
    lines = telemetry.lines()
    llm = check_run(lines, calls, model=RESPONSES_MODEL, provider="openai", call_id="call_1")
    assert [line["otel"]["name"] for line in llm] == ["openai.response", "openai.response"]
    assert [line["response_id"] for line in llm] == ["resp_1", "resp_2"]
    (asked,) = [p for m in llm[1]["input"] for p in m["parts"] if p["type"] == "tool_call"]
    assert (asked["id"], asked["item_id"]) == ("call_1", "fc_1")
    # The raw attribute stays on the span, so the span comes back exactly.
    assert "gen_ai.input.messages" in llm[1]["otel"]["attrs"]
    check_replay_responses(telemetry.path, llm[1]["seq"], calls[1], exact=False)


@STREAM
def test_responses_official_openai_v2_emits_no_model_span(
    telemetry: Telemetry, stream: bool
) -> None:
    """The official openai-v2 2.4b0 does not instrument `responses.create`: no llm_call."""
    with (
        instrumented_openai_v2(telemetry.tracer_provider, telemetry.logger_provider),
        ProviderServer() as server,
    ):
        run_responses_loop(server.responses_base_url, stream=stream, recorder=telemetry.recorder)
        assert len(server.calls) == 2
    kinds = [line["kind"] for line in telemetry.lines()]
    assert "llm_call" not in kinds
    assert kinds.count("tool_call") == kinds.count("final") == 1


# --- Gemini --------------------------------------------------------------------------------


@pytest.fixture
def openinference_google_genai(telemetry: Telemetry) -> Iterator[None]:
    """OpenInference's google-genai instrumentation, on for one test."""
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


@STREAM
def test_gemini_openinference(
    telemetry: Telemetry, openinference_google_genai: None, stream: bool
) -> None:
    """OpenInference `GenerateContent` spans: the snake_case raw request becomes the step's
    input in the wire's camelCase, so replay in the Gemini format is the body sent."""
    with ProviderServer() as server:
        run_gemini_loop(server.gemini_base_url, stream=stream, recorder=telemetry.recorder)
        calls = server.calls
    lines = telemetry.lines()
    llm = check_run(lines, calls, model=GEMINI_MODEL, provider="google", call_id=None)
    assert [line["response_id"] for line in llm] == ["gemini-1", "gemini-2"]
    # The raw response is the output: the Gemini content in its wire form.
    assert [line["output"][0]["role"] for line in llm] == ["model", "model"]
    check_replay_gemini(telemetry.path, llm[1]["seq"], calls[1], exact=True)


def _official_venv() -> Path:
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"run scripts/install-genai-official.sh first ({OFFICIAL_VENV} is missing)")
    return python


@dataclass
class OfficialRun:
    lines: list[dict[str, Any]]
    path: Path
    calls: list[RecordedRequest]


@pytest.fixture(scope="module")
def official_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], OfficialRun]:
    """The loop under the official instrumentation, JSON and SSE, per capture mode: one
    subprocess per mode in the venv of scripts/install-genai-official.sh."""
    python = _official_venv()
    tmp = tmp_path_factory.mktemp("official")
    runs: dict[tuple[str, str], OfficialRun] = {}
    for capture in ("SPAN_ONLY", "EVENT_ONLY"):
        with ProviderServer() as json_server, ProviderServer() as sse_server:
            servers = {"json": json_server, "sse": sse_server}
            args = []
            for mode, server in servers.items():
                args += [server.gemini_base_url, str(tmp / f"{capture}-{mode}.jsonl"), mode]
            proc = subprocess.run(
                [str(python), str(TESTS / "support" / "gemini_official_run.py"), capture, *args],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.count("sunny") == 2, proc.stdout
            for mode, server in servers.items():
                path = tmp / f"{capture}-{mode}.jsonl"
                runs[capture, mode] = OfficialRun(read_lines(path), path, server.calls)
    return runs


@pytest.mark.parametrize("stream", ["json", "sse"])
@pytest.mark.parametrize("capture", ["SPAN_ONLY", "EVENT_ONLY"], ids=["span", "event"])
def test_gemini_official(
    official_runs: dict[tuple[str, str], OfficialRun], stream: str, capture: str
) -> None:
    """Official google-genai instrumentation (google-genai < 3): content on the span or in log
    records joined onto it; tool results as `response` objects in a `user` message. Gemini's
    call has no id: the instrumentation names it `get_weather_0`, and the tool span, which has
    none, takes that id (paired with the model's call by name and order)."""
    run = official_runs[capture, stream]
    lines, calls = run.lines, run.calls
    llm = check_run(lines, calls, model=GEMINI_MODEL, provider="gemini", call_id="get_weather_0")
    assert [line["response_id"] for line in llm] == ["gemini-1", "gemini-2"]
    assert [line["finish_reason"] for line in llm] == ["stop", "stop"]
    if capture == "EVENT_ONLY":
        assert all(line["otel"]["logs"] for line in llm)
    else:
        # It emits its details record even without event capture: kept as content-less logs.
        logs = [line for line in lines if line["kind"] == "log"]
        assert {line["span_id"] for line in logs} <= {line["span_id"] for line in llm}
    (answer,) = [
        p for m in llm[1]["input"] for p in m["parts"] if p["type"] == "tool_call_response"
    ]
    assert isinstance(answer["response"], dict)
    assert next(m for m in llm[1]["input"] if answer in m["parts"])["role"] == "user"
    check_replay_gemini(run.path, llm[1]["seq"], calls[1], exact=False)


REASONED = [
    Turn(
        text="Checking.",
        reasoning="Think.",
        tool_calls=Turn.call("get_weather", {"city": "Lisbon"}).tool_calls,
    ),
    Turn.reply("The weather in Lisbon: {tool_result}"),
]


@STREAM
def test_openinference_keeps_reasoning_and_thoughts(
    telemetry: Telemetry, openinference_google_genai: None, stream: bool
) -> None:
    """OpenInference's flattened messages drop Responses reasoning items and Gemini thought
    parts; the raw response they come from is the llm_call's output, so both are kept."""
    with instrumented_openinference(telemetry.tracer_provider), ProviderServer(REASONED) as server:
        run_responses_loop(server.responses_base_url, stream=stream, recorder=telemetry.recorder)
        server.extend(REASONED)
        run_gemini_loop(server.gemini_base_url, stream=stream, recorder=telemetry.recorder)
    llm = [line for line in telemetry.lines() if line["kind"] == "llm_call"]
    assert len(llm) == 4
    responses_output, gemini_output = llm[0]["output"], llm[2]["output"]
    assert [item["type"] for item in responses_output] == ["reasoning", "message", "function_call"]
    assert responses_output[0]["summary"] == [{"type": "summary_text", "text": "Think."}]
    assert gemini_output[0]["parts"][0] == {"text": "Think.", "thought": True}

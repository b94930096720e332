"""Tests for the loopback provider server, the agent loops and the instrumentation helpers."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anthropic
import openai
import pytest
from support.agent_loops import (
    SYSTEM_PROMPT,
    USER_PROMPT,
    get_weather,
    run_anthropic_loop,
    run_openai_loop,
)
from support.fixtures import (
    MemoryTelemetry,
    anthropic_native_tracing,
    instrumented_openai_v2,
    instrumented_openinference,
    instrumented_openllmetry,
)
from support.providers import (
    OUTPUT_TOKENS,
    ProviderServer,
    ToolCall,
    Turn,
    Usage,
    usage_for,
)

from otel_jsonl import Trace, validate_event

WEATHER = get_weather("Lisbon")
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


class Steps:
    """A recorder that keeps `(kind, fields)` pairs."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, /, **fields: Any) -> None:
        self.steps.append((kind, fields))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.steps]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [fields for k, fields in self.steps if k == kind]


def post(
    server: ProviderServer, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST `body` as JSON to the server; return status, lowercased headers and raw body."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        connection.request(
            "POST", path, data, {"content-type": "application/json", **(headers or {})}
        )
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def sse_data(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]


def sse_events(raw: bytes) -> list[str]:
    return [line[7:] for line in raw.decode().splitlines() if line.startswith("event: ")]


OPENAI_BODY: dict[str, Any] = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
}


# --- the loops against the server ----------------------------------------------------------


@STREAM
def test_openai_loop_answers_with_the_tool_result(
    openai_server: ProviderServer, stream: bool
) -> None:
    """The OpenAI loop calls the tool, sends its result back and returns the model's answer."""
    final = run_openai_loop(openai_server.openai_base_url, stream=stream)
    assert final == f"The weather in Lisbon: {WEATHER}"
    assert [r.path for r in openai_server.requests] == ["/v1/chat/completions"] * 2
    assert openai_server.remaining == 0


@STREAM
def test_anthropic_loop_answers_with_the_tool_result(
    anthropic_server: ProviderServer, stream: bool
) -> None:
    """The Anthropic loop calls the tool, sends its result back and returns the model's answer."""
    final = run_anthropic_loop(anthropic_server.anthropic_base_url, stream=stream)
    assert final == f"The weather in Lisbon: {WEATHER}"
    assert [r.path for r in anthropic_server.requests] == ["/v1/messages"] * 2


@STREAM
def test_openai_second_call_carries_the_tool_result_with_its_call_id(
    openai_server: ProviderServer, stream: bool
) -> None:
    """OpenAI call 2 holds the assistant's `call_1` and a tool message answering `call_1`."""
    run_openai_loop(openai_server.openai_base_url, stream=stream)
    first, second = openai_server.calls
    assert first.messages == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_PROMPT},
    ]
    assert second.messages[:2] == first.messages
    assistant, tool = second.messages[2:]
    assert assistant["role"] == "assistant"
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_1"]
    assert assistant["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": json.dumps({"city": "Lisbon"}),
    }
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": WEATHER}
    assert first.body["stream"] is True if stream else "stream" not in first.body


@STREAM
def test_anthropic_second_call_carries_the_tool_result_with_its_call_id(
    anthropic_server: ProviderServer, stream: bool
) -> None:
    """Anthropic call 2 holds the `toolu_1` tool_use and a tool_result for `toolu_1`."""
    run_anthropic_loop(anthropic_server.anthropic_base_url, stream=stream)
    first, second = anthropic_server.calls
    assert first.body["system"] == SYSTEM_PROMPT
    assert first.messages == [{"role": "user", "content": USER_PROMPT}]
    assert second.messages[1] == {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Lisbon"},
            }
        ],
    }
    assert second.messages[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": WEATHER}],
    }


@STREAM
def test_openai_loop_reports_the_servers_usage(openai_server: ProviderServer, stream: bool) -> None:
    """Usage is 10 input tokens per message and 7 output tokens, as the client reads it."""
    steps = Steps()
    run_openai_loop(openai_server.openai_base_url, stream=stream, recorder=steps)
    calls = steps.of("llm_call")
    assert [c["usage"] for c in calls] == [
        {"input_tokens": 20, "output_tokens": 7},
        {"input_tokens": 40, "output_tokens": 7},
    ]
    assert [r.usage for r in openai_server.calls] == [Usage(20, 7), Usage(40, 7)]


@STREAM
def test_anthropic_loop_reports_the_servers_usage(
    anthropic_server: ProviderServer, stream: bool
) -> None:
    """Anthropic usage counts the system prompt as a message, like OpenAI's."""
    steps = Steps()
    run_anthropic_loop(anthropic_server.anthropic_base_url, stream=stream, recorder=steps)
    calls = steps.of("llm_call")
    assert [c["usage"] for c in calls] == [
        {"input_tokens": 20, "output_tokens": 7},
        {"input_tokens": 40, "output_tokens": 7},
    ]
    assert [c["response_id"] for c in calls] == ["msg_1", "msg_2"]


def test_usage_for_counts_messages_and_system() -> None:
    """`usage_for` charges 10 tokens per message and per system prompt, output fixed."""
    assert usage_for({"messages": [1, 2, 3]}) == Usage(30, OUTPUT_TOKENS)
    assert usage_for({"system": "s", "messages": [1]}) == Usage(20, OUTPUT_TOKENS)
    assert usage_for({}).total_tokens == OUTPUT_TOKENS


@pytest.mark.parametrize("loop", ["openai", "anthropic"])
@STREAM
def test_recorder_sees_every_step_in_order(
    openai_server: ProviderServer, loop: str, stream: bool
) -> None:
    """The recorder gets input, llm_call, tool_call, tool_result, llm_call, final, ids paired."""
    steps = Steps()
    if loop == "openai":
        run_openai_loop(openai_server.openai_base_url, stream=stream, recorder=steps)
    else:
        run_anthropic_loop(openai_server.anthropic_base_url, stream=stream, recorder=steps)
    assert steps.kinds() == ["input", "llm_call", "tool_call", "tool_result", "llm_call", "final"]
    (call,) = steps.of("tool_call")
    (result,) = steps.of("tool_result")
    assert call["id"] == result["id"] == ("call_1" if loop == "openai" else "toolu_1")
    assert call["args"] == {"city": "Lisbon"}
    assert result["output"] == WEATHER
    assert steps.of("final") == [{"text": f"The weather in Lisbon: {WEATHER}"}]


@pytest.mark.parametrize("loop", ["openai", "anthropic"])
def test_loops_record_valid_events_through_trace_step(
    openai_server: ProviderServer, tmp_path: Path, loop: str
) -> None:
    """Passing the project's `Trace.step` as the recorder writes schema-valid lines."""
    path = tmp_path / "run.jsonl"
    trace = Trace(path, run_id="r1")
    if loop == "openai":
        run_openai_loop(openai_server.openai_base_url, stream=True, recorder=trace.step)
    else:
        run_anthropic_loop(openai_server.anthropic_base_url, stream=True, recorder=trace.step)
    trace.close()
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["kind"] for e in events] == [
        "input",
        "llm_call",
        "tool_call",
        "tool_result",
        "llm_call",
        "final",
    ]
    assert [validate_event(e) for e in events] == [[]] * 6


def test_model_is_echoed_and_ids_are_deterministic(openai_server: ProviderServer) -> None:
    """The response model is the requested one; response ids count the calls."""
    steps = Steps()
    run_openai_loop(openai_server.openai_base_url, recorder=steps, model="my-model")
    assert [c["response_id"] for c in steps.of("llm_call")] == ["chatcmpl-1", "chatcmpl-2"]
    assert [r.body["model"] for r in openai_server.calls] == ["my-model", "my-model"]


def test_headers_are_recorded(openai_server: ProviderServer) -> None:
    """Each client's credentials header is kept with its request."""
    run_openai_loop(openai_server.openai_base_url)
    assert openai_server.requests[0].headers["authorization"] == "Bearer test-key"
    openai_server.extend(
        [Turn.call("get_weather", {"city": "Lisbon"}, id="toolu_x"), Turn.reply("ok")]
    )
    run_anthropic_loop(openai_server.anthropic_base_url)
    headers = openai_server.requests[2].headers
    # anthropic 2.x sends the key as a bearer token; 0.x sent `x-api-key`.
    assert "test-key" in (headers.get("x-api-key") or headers["authorization"])
    assert "anthropic-version" in headers


def test_custom_script_and_tool_call_ids() -> None:
    """A script can name call ids, call several tools at once and answer without tools."""
    script = [
        Turn(
            tool_calls=(
                ToolCall("get_weather", {"city": "Lisbon"}, id="call_a"),
                ToolCall("get_weather", {"city": "Porto"}),
            )
        ),
        Turn.reply("done: {tool_result}"),
    ]
    with ProviderServer(script) as server:
        steps = Steps()
        final = run_openai_loop(server.openai_base_url, stream=True, recorder=steps)
    assert [c["id"] for c in steps.of("tool_call")] == ["call_a", "call_2"]
    assert final == f"done: {get_weather('Porto')}"


# --- wire format ---------------------------------------------------------------------------


def test_openai_path_without_v1_prefix_is_served(openai_server: ProviderServer) -> None:
    """`/chat/completions` is accepted like `/v1/chat/completions`."""
    status, _, raw = post(openai_server, "/chat/completions", OPENAI_BODY)
    assert status == 200
    assert json.loads(raw)["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_stream_splits_tool_arguments_and_ends_with_done(
    openai_server: ProviderServer, include_usage: bool
) -> None:
    """The SSE stream splits arguments over chunks, adds usage only on request, ends [DONE]."""
    body = {**OPENAI_BODY, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    status, headers, raw = post(openai_server, "/v1/chat/completions", body)
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    data = sse_data(raw)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    pieces = [tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls", [])]
    assert sum(1 for piece in pieces if piece) >= 2
    assert "".join(pieces) == json.dumps({"city": "Lisbon"})
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    usage = [c["usage"] for c in chunks if c.get("usage")]
    expected = [{"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}]
    assert usage == (expected if include_usage else [])


def test_anthropic_stream_has_the_real_event_sequence(anthropic_server: ProviderServer) -> None:
    """The Messages SSE stream sends message_start ... message_stop with a tool_use block."""
    body = {"model": "m", "max_tokens": 10, "stream": True, "messages": OPENAI_BODY["messages"]}
    status, _, raw = post(anthropic_server, "/v1/messages", body, {"anthropic-version": "x"})
    assert status == 200
    names = sse_events(raw)
    assert names[0] == "message_start"
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert names.count("content_block_delta") >= 2
    payloads = [json.loads(d) for d in sse_data(raw)]
    assert [p["type"] for p in payloads] == names
    message = payloads[0]["message"]
    assert (message["id"], message["model"], message["content"]) == ("msg_1", "m", [])
    assert message["stop_reason"] is None
    start = next(p for p in payloads if p["type"] == "content_block_start")
    assert start["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {},
    }
    delta = next(p for p in payloads if p["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == OUTPUT_TOKENS


# --- errors --------------------------------------------------------------------------------


def test_unknown_path_is_a_404_in_the_openai_shape(openai_server: ProviderServer) -> None:
    """An unknown path answers 404 with OpenAI's `{"error": {...}}` and the client raises."""
    client = openai.OpenAI(base_url=openai_server.openai_base_url, api_key="test-key")
    with client, pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="m", input="x")
    assert caught.value.status_code == 404
    body = json.loads(openai_server.requests[-1].raw)
    assert body["model"] == "m"
    status, _, raw = post(openai_server, "/v1/nowhere", {})
    assert status == 404
    error = json.loads(raw)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "not_found"
    assert "/v1/nowhere" in error["message"]
    assert openai_server.remaining == 2


def test_unknown_path_is_a_404_in_the_anthropic_shape(anthropic_server: ProviderServer) -> None:
    """An Anthropic request to an unknown path gets `{"type": "error", "error": {...}}`."""
    client = anthropic.Anthropic(base_url=anthropic_server.anthropic_base_url, api_key="test-key")
    with client, pytest.raises(anthropic.NotFoundError) as caught:
        client.models.list()
    assert caught.value.status_code == 404
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no route for GET /v1/models"},
    }


def test_script_exhaustion_is_a_500_that_is_not_retried() -> None:
    """A call past the script's end gets a 500 naming the cause, and the client does not retry."""
    with ProviderServer([Turn.reply("only one")]) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test-key")
        with client:
            client.chat.completions.create(**OPENAI_BODY)
            with pytest.raises(openai.InternalServerError, match="script exhausted"):
                client.chat.completions.create(**OPENAI_BODY)
        assert [r.status for r in server.requests] == [200, 500]
        assert server.requests[1].call is None


def test_loop_fails_clearly_when_the_script_runs_out() -> None:
    """A loop whose model keeps calling tools past the script raises the server's error."""
    script = [Turn.call("get_weather", {"city": "Lisbon"})]
    with (
        ProviderServer(script) as server,
        pytest.raises(anthropic.InternalServerError, match="script exhausted"),
    ):
        run_anthropic_loop(server.anthropic_base_url)


def test_non_json_body_is_a_400(openai_server: ProviderServer) -> None:
    """A body that is not a JSON object is refused and consumes no turn."""
    status, _, raw = post(openai_server, "/v1/chat/completions", b"not json")
    assert status == 400
    assert "JSON object" in json.loads(raw)["error"]["message"]
    assert openai_server.remaining == 2
    assert openai_server.requests[0].body is None


def test_close_is_idempotent_and_stops_serving() -> None:
    """`close()` twice is fine, and the port refuses connections afterwards."""
    server = ProviderServer()
    url = urlsplit(server.url)
    server.close()
    server.close()
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=2)
    with pytest.raises(OSError):
        connection.request("GET", "/")
    connection.close()


# --- instrumentations ----------------------------------------------------------------------


@pytest.mark.parametrize("capture", ["SPAN_ONLY", None])
@STREAM
def test_openai_v2_spans_and_content_on_spans(
    openai_server: ProviderServer,
    memory_telemetry: MemoryTelemetry,
    stream: bool,
    capture: Any,
) -> None:
    """openai-v2 makes one `chat MODEL` span per call; SPAN_ONLY puts messages on it."""
    tp, lp = memory_telemetry.tracer_provider, memory_telemetry.logger_provider
    with instrumented_openai_v2(tp, lp, capture=capture):
        run_openai_loop(openai_server.openai_base_url, stream=stream)
    spans = memory_telemetry.spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"] * 2
    attributes = dict(spans[1].attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == 40
    assert attributes["gen_ai.response.id"] == "chatcmpl-2"
    if capture is None:
        assert "gen_ai.input.messages" not in attributes
    else:
        messages = json.loads(str(attributes["gen_ai.input.messages"]))
        assert messages[-1]["parts"][0]["id"] == "call_1"
    assert memory_telemetry.logs() == []


def test_openai_v2_event_only_sends_content_to_logs(
    openai_server: ProviderServer, memory_telemetry: MemoryTelemetry
) -> None:
    """EVENT_ONLY leaves spans without content and emits one log record per call."""
    tp, lp = memory_telemetry.tracer_provider, memory_telemetry.logger_provider
    with instrumented_openai_v2(tp, lp, capture="EVENT_ONLY"):
        run_openai_loop(openai_server.openai_base_url)
    spans = memory_telemetry.spans()
    assert all("gen_ai.input.messages" not in (s.attributes or {}) for s in spans)
    logs = [entry.log_record for entry in memory_telemetry.logs()]
    assert [r.event_name for r in logs] == ["gen_ai.client.inference.operation.details"] * 2
    assert [r.span_id for r in logs] == [s.context.span_id for s in spans]


def test_openai_v2_is_off_after_the_block(
    openai_server: ProviderServer, memory_telemetry: MemoryTelemetry
) -> None:
    """Leaving the block uninstruments openai-v2 and restores the capture variable."""
    tp = memory_telemetry.tracer_provider
    with (
        instrumented_openai_v2(tp),
        pytest.raises(RuntimeError, match="already instrumented"),
        instrumented_openai_v2(tp),
    ):
        pass
    run_openai_loop(openai_server.openai_base_url)
    assert memory_telemetry.spans() == []


@STREAM
def test_openinference_spans_and_uninstrument(
    openai_server: ProviderServer, memory_telemetry: MemoryTelemetry, stream: bool
) -> None:
    """OpenInference makes `ChatCompletion` LLM spans with flattened messages, then turns off."""
    openai_server.extend(
        [Turn.call("get_weather", {"city": "Lisbon"}), Turn.reply("{tool_result}")]
    )
    with instrumented_openinference(memory_telemetry.tracer_provider):
        run_openai_loop(openai_server.openai_base_url, stream=stream)
    run_openai_loop(openai_server.openai_base_url, stream=stream)
    spans = memory_telemetry.spans()
    assert [s.name for s in spans] == ["ChatCompletion"] * 2
    attributes = dict(spans[1].attributes or {})
    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["llm.input_messages.3.message.tool_call_id"] == "call_1"
    assert attributes["llm.token_count.prompt"] == 40


@STREAM
def test_openllmetry_spans_and_uninstrument(
    openai_server: ProviderServer, memory_telemetry: MemoryTelemetry, stream: bool
) -> None:
    """OpenLLMetry makes `openai.chat` spans, and no span follows once the block is left."""
    openai_server.extend(
        [Turn.call("get_weather", {"city": "Lisbon"}), Turn.reply("{tool_result}")]
    )
    with instrumented_openllmetry(memory_telemetry.tracer_provider):
        run_openai_loop(openai_server.openai_base_url, stream=stream)
    run_openai_loop(openai_server.openai_base_url, stream=stream)
    spans = memory_telemetry.spans()
    assert [s.name for s in spans] == ["openai.chat"] * 2
    attributes = dict(spans[0].attributes or {})
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attributes["gen_ai.usage.total_tokens"] == 27
    assert "gen_ai.output.messages" in attributes


@pytest.mark.parametrize("content", [True, False])
@STREAM
def test_anthropic_native_spans(
    anthropic_server: ProviderServer,
    memory_telemetry: MemoryTelemetry,
    stream: bool,
    content: bool,
) -> None:
    """The SDK's own `anthropic.messages.create` spans carry messages only in content mode."""
    with anthropic_native_tracing(memory_telemetry.tracer_provider, content=content) as option:
        run_anthropic_loop(
            anthropic_server.anthropic_base_url, stream=stream, open_telemetry=option
        )
    spans = memory_telemetry.spans()
    assert [s.name for s in spans] == ["anthropic.messages.create"] * 2
    attributes = dict(spans[1].attributes or {})
    assert attributes["anthropic.message.stop_reason"] == "end_turn"
    assert attributes["gen_ai.usage.input_tokens"] == 40
    if content:
        messages = json.loads(str(attributes["gen_ai.input.messages"]))
        assert messages[-1]["parts"][0]["id"] == "toolu_1"
    else:
        assert "gen_ai.input.messages" not in attributes

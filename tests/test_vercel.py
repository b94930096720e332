"""The Vercel AI SDK's `ai.*` spans as steps: operations by `ai.operationId`, its prompt and
response attributes as parts messages, and the span back exactly from the lines.

The attribute values are those `ai` 6.0 wrote in tests/test_node_app.py's real run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_mapping import _round_trip, _through_file, assert_same_span

from otel_jsonl.genai.vercel import messages_to_parts, operation_of

SYSTEM = "You are a concise weather assistant."
TOOL_RESULT = '{"city":"Lisbon","conditions":"sunny","temperature_c":21}'
PROMPT_MESSAGES = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": [{"type": "text", "text": "What is the weather in Lisbon?"}]},
    {
        "role": "assistant",
        "content": [
            {
                "type": "tool-call",
                "toolCallId": "call_1",
                "toolName": "get_weather",
                "input": {"city": "Lisbon"},
            }
        ],
    },
    {
        "role": "tool",
        "content": [
            {
                "type": "tool-result",
                "toolCallId": "call_1",
                "toolName": "get_weather",
                "output": {"type": "text", "value": TOOL_RESULT},
            }
        ],
    },
]
COMMON = {"ai.telemetry.functionId": "weather-agent", "operation.name": "x weather-agent"}
DO_GENERATE = {
    **COMMON,
    "ai.operationId": "ai.generateText.doGenerate",
    "ai.model.provider": "openai.chat",
    "ai.model.id": "gpt-4o-mini",
    "ai.prompt.messages": json.dumps(PROMPT_MESSAGES[:2], separators=(",", ":")),
    "gen_ai.system": "openai.chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "ai.response.finishReason": "tool-calls",
    "ai.response.toolCalls": json.dumps(
        [{"toolCallId": "call_1", "toolName": "get_weather", "input": '{"city": "Lisbon"}'}],
        separators=(",", ":"),
    ),
    "gen_ai.response.finish_reasons": ("tool-calls",),
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.usage.input_tokens": 20,
    "gen_ai.usage.output_tokens": 7,
}
TOOL_CALL = {
    **COMMON,
    "ai.operationId": "ai.toolCall",
    "ai.toolCall.name": "get_weather",
    "ai.toolCall.id": "call_1",
    "ai.toolCall.args": '{"city":"Lisbon"}',
    "ai.toolCall.result": json.dumps(TOOL_RESULT),
}
GENERATE_TEXT = {
    **COMMON,
    "ai.operationId": "ai.generateText",
    "ai.prompt": json.dumps({"system": SYSTEM, "prompt": "What is the weather in Lisbon?"}),
    "ai.response.text": "The weather in Lisbon: sunny",
}


@pytest.fixture
def spans() -> Iterator[tuple[Any, InMemorySpanExporter]]:
    """A real tracer, and the exporter that keeps its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "a"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("ai", "6.0.325"), exporter
    provider.shutdown()


def _step(spans: tuple[Any, InMemorySpanExporter], attrs: dict[str, Any]) -> list[dict[str, Any]]:
    tracer, exporter = spans
    with tracer.start_as_current_span(str(attrs["ai.operationId"]), attributes=attrs):
        pass
    span: ReadableSpan = exporter.get_finished_spans()[-1]
    assert_same_span(span, _round_trip(span))
    return [line for line in _through_file(span) if line["kind"] != "error"]


@pytest.mark.parametrize(
    ("operation_id", "expected"),
    [
        ("ai.generateText.doGenerate", "chat"),
        ("ai.streamText.doStream", "chat"),
        ("ai.generateText", "invoke_agent"),
        ("ai.streamObject", "invoke_agent"),
        ("ai.toolCall", "execute_tool"),
        ("ai.embedMany.doEmbed", "embeddings"),
        ("ai.embed", None),
        ("something.else", None),
    ],
)
def test_operation_by_operation_id(operation_id: str, expected: str | None) -> None:
    """`ai.operationId` names the GenAI operation; unknown ones are not GenAI."""
    assert operation_of({"ai.operationId": operation_id}) == expected


def test_model_call_is_an_llm_call_with_parts(spans: Any) -> None:
    """A doGenerate span: model, provider, usage, its prompt and tool calls as parts."""
    (line,) = _step(spans, DO_GENERATE)
    assert line["kind"] == "llm_call"
    assert (line["model"], line["provider"], line["finish_reason"]) == (
        "gpt-4o-mini",
        "openai.chat",
        "tool-calls",
    )
    assert line["input"][0] == {"role": "system", "parts": [{"type": "text", "content": SYSTEM}]}
    assert line["output"] == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Lisbon"},
                }
            ],
            "finish_reason": "tool-calls",
        }
    ]


def test_tool_call_span_is_a_call_and_its_result(spans: Any) -> None:
    """An ai.toolCall span: tool_call with name, id and args; tool_result with the output."""
    call, result = _step(spans, TOOL_CALL)
    assert (call["kind"], call["name"], call["id"], call["args"]) == (
        "tool_call",
        "get_weather",
        "call_1",
        {"city": "Lisbon"},
    )
    assert (result["kind"], result["id"], result["output"]) == (
        "tool_result",
        "call_1",
        TOOL_RESULT,
    )
    assert "ai.toolCall.args" in result["otel"]["moved"]


def test_generate_text_span_is_the_run(spans: Any) -> None:
    """The outer generateText span: the run's input (system, prompt) and its final text."""
    first, final = _step(spans, GENERATE_TEXT)
    assert first["kind"] == "input"
    assert first["system"] == SYSTEM
    assert first["messages"][0]["parts"][0]["content"] == "What is the weather in Lisbon?"
    assert (final["kind"], final["text"]) == ("final", "The weather in Lisbon: sunny")


def test_messages_to_parts_current_and_older_forms() -> None:
    """ai >= 5 (`input`, typed `output`) and ai 4 (`args`, `result`) parts both convert."""
    current = messages_to_parts(json.dumps(PROMPT_MESSAGES))
    assert current is not None
    assert current[2]["parts"][0]["arguments"] == {"city": "Lisbon"}
    assert current[3]["parts"][0] == {
        "type": "tool_call_response",
        "id": "call_1",
        "response": TOOL_RESULT,
    }
    older = messages_to_parts(
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool-call", "toolCallId": "c", "toolName": "t", "args": {"a": 1}}
                ],
            },
            {
                "role": "tool",
                "content": [{"type": "tool-result", "toolCallId": "c", "result": {"ok": True}}],
            },
        ]
    )
    assert older == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c", "name": "t", "arguments": {"a": 1}}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "c", "response": {"ok": True}}],
        },
    ]
    assert messages_to_parts("not json") is None
    assert messages_to_parts([{"content": "no role"}]) is None

"""Tests for otel_jsonl.genai.responses_gemini_spans: Responses and Gemini spans <-> events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.fixtures import instrumented_openinference, instrumented_openllmetry
from support.more_loops import run_gemini_loop, run_responses_loop
from support.providers import ProviderServer, Turn
from test_mapping import _round_trip, _through_file, assert_same_span

from otel_jsonl.genai.responses_gemini_spans import (
    finish_reason,
    gemini_wire,
    pair_item_ids,
    provider_name,
)
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events
from otel_jsonl.record.trace import Trace

REASONED = [
    Turn(
        text="Hm.",
        reasoning="Think.",
        tool_calls=Turn.call("get_weather", {"city": "L"}).tool_calls,
    ),
    Turn.reply("ok"),
]


def _spans(run: Any, script: Any = None) -> list[Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with ProviderServer(script) as server:
        run(provider, server)
    provider.shutdown()
    spans = list(exporter.get_finished_spans())
    assert len(spans) == 2
    return spans


def _openllmetry_responses(provider: TracerProvider, server: ProviderServer) -> None:
    with instrumented_openllmetry(provider):
        run_responses_loop(server.responses_base_url)


def _openinference_responses(provider: TracerProvider, server: ProviderServer) -> None:
    with instrumented_openinference(provider):
        run_responses_loop(server.responses_base_url, stream=True)


def _openinference_gemini(provider: TracerProvider, server: ProviderServer) -> None:
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        run_gemini_loop(server.gemini_base_url)
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize(
    "run",
    [_openllmetry_responses, _openinference_responses, _openinference_gemini],
    ids=["openllmetry-responses", "openinference-responses", "openinference-gemini"],
)
@pytest.mark.parametrize("script", [None, REASONED], ids=["plain", "reasoning"])
def test_real_spans_round_trip_exactly(run: Any, script: Any) -> None:
    """Spans whose fields were derived (raw request and response, paired ids, model role,
    summary text) come back exactly from their lines: what a field does not hold stays."""
    for span in _spans(run, script):
        assert_same_span(span, _round_trip(span))


def test_openllmetry_reasoning_summary_reads_as_text() -> None:
    """OpenLLMetry's reasoning part holds the JSON of the summary list: read as its text."""
    first, _ = _spans(_openllmetry_responses, REASONED)
    (line,) = [e for e in _through_file(first) if e["kind"] == "llm_call"]
    (reasoning,) = [p for m in line["output"] for p in m["parts"] if p["type"] == "reasoning"]
    assert reasoning["content"] == "Think."
    assert "gen_ai.output.messages" in line["otel"]["attrs"]


def test_pair_item_ids_pairs_in_order_and_keeps_the_item_id() -> None:
    """Unanswered calls take the ids of unclaimed results in order; the old id is item_id."""

    def result(call_id: str) -> dict[str, Any]:
        part = {"type": "tool_call_response", "id": call_id, "response": "x"}
        return {"role": "tool", "parts": [part]}

    calls = [{"type": "tool_call", "id": f"fc_{i}", "name": "a", "arguments": {}} for i in (1, 2)]
    messages = [{"role": "assistant", "parts": calls}, result("call_1"), result("call_2")]
    paired = pair_item_ids(messages)
    calls = paired[0]["parts"]
    assert [(c["id"], c["item_id"]) for c in calls] == [("call_1", "fc_1"), ("call_2", "fc_2")]
    assert messages[0]["parts"][0]["id"] == "fc_1"  # the input is not changed


def test_pair_item_ids_leaves_paired_lists_alone() -> None:
    """A list whose calls are all answered comes back as the same object."""
    messages = [
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "c", "name": "a"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c", "response": ""}]},
    ]
    assert pair_item_ids(messages) is messages


def test_gemini_wire_camel_cases_structure_not_arguments() -> None:
    """Part keys become camelCase; tool arguments and results keep their own keys."""
    content = {
        "role": "model",
        "parts": [
            {"function_call": {"name": "f", "args": {"mime_type": 1}}, "thought_signature": "s"},
            {"function_response": {"name": "f", "response": {"file_uri": "u"}}},
            {"inline_data": {"mime_type": "image/png", "data": "AA=="}},
        ],
    }
    assert gemini_wire(content) == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "f", "args": {"mime_type": 1}}, "thoughtSignature": "s"},
            {"functionResponse": {"name": "f", "response": {"file_uri": "u"}}},
            {"inlineData": {"mimeType": "image/png", "data": "AA=="}},
        ],
    }


@pytest.mark.parametrize(
    ("reason", "asks", "expected"),
    [
        ("STOP", False, "stop"),
        ("STOP", True, "tool_call"),
        ("stop", True, "tool_call"),
        ("MAX_TOKENS", False, "length"),
        ("SAFETY", False, "content_filter"),
        ("tool_calls", True, "tool_calls"),
        (None, True, None),
    ],
)
def test_finish_reason_in_current_conventions(reason: Any, asks: bool, expected: Any) -> None:
    """Gemini's reasons are lower-cased to the conventions', and `stop` on a tool turn is
    `tool_call`."""
    parts = [{"type": "tool_call", "id": "c", "name": "f"}] if asks else [{"type": "text"}]
    assert finish_reason(reason, [{"role": "assistant", "parts": parts}]) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gemini", "gcp.gemini"),
        ("google", "gcp.gemini"),
        ("Gemini", "gcp.gemini"),
        ("openai", "openai"),
    ],
)
def test_provider_names(name: str, expected: str) -> None:
    """Gemini's provider names are written as the conventions' `gcp.gemini`."""
    assert provider_name(name) == expected


def _chat_spans(path: Path) -> list[Any]:
    spans = list(events_to_spans(ev for _, ev in read_events(path)))
    return [s for s in spans if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]


def test_converter_writes_gemini_runs_in_current_conventions(tmp_path: Path) -> None:
    """A recorded Gemini run becomes chat spans with `gcp.gemini`, `tool_call` on the tool turn
    (Gemini says STOP) and parts-form messages."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server, Trace(path, run_id="g1") as trace:
        run_gemini_loop(server.gemini_base_url, recorder=trace.step)
    first, second = _chat_spans(path)
    attrs = first.attributes or {}
    assert attrs["gen_ai.provider.name"] == "gcp.gemini"
    assert attrs["gen_ai.response.finish_reasons"] == ["tool_call"]
    (out,) = json.loads(str(attrs["gen_ai.output.messages"]))
    assert out["role"] == "assistant" and out["finish_reason"] == "tool_call"
    assert out["parts"][0]["type"] == "tool_call" and out["parts"][0]["arguments"] == {
        "city": "Lisbon"
    }
    assert (second.attributes or {})["gen_ai.response.finish_reasons"] == ["stop"]


def test_converter_merges_a_responses_output_into_one_message(tmp_path: Path) -> None:
    """A Responses output (reasoning, message and function_call items) is one assistant
    message in gen_ai.output.messages, and in the next call's gen_ai.input.messages."""
    script = [
        Turn(
            text="Checking.",
            reasoning="Think.",
            tool_calls=Turn.call("get_weather", {"city": "L"}).tool_calls,
        ),
        Turn.reply("ok"),
    ]
    path = tmp_path / "run.jsonl"
    with ProviderServer(script) as server, Trace(path, run_id="r1") as trace:
        run_responses_loop(server.responses_base_url, recorder=trace.step)
        body = server.calls[1].body
        # A line that carries its input, as the exporter writes for OpenInference's spans.
        trace.step("llm_call", model="m", input=body["input"], system=body["instructions"])
    first, _, third = _chat_spans(path)
    (out,) = json.loads(str((first.attributes or {})["gen_ai.output.messages"]))
    sent = json.loads(str((third.attributes or {})["gen_ai.input.messages"]))
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert [p["type"] for p in sent[1]["parts"]] == ["reasoning", "text", "tool_call"]
    assert [p["type"] for p in out["parts"]] == ["reasoning", "text", "tool_call"]
    assert out["parts"][2]["id"] == "call_1"
    assert out["finish_reason"] == "tool_call"


@pytest.mark.parametrize(
    "usage",
    [
        {"gen_ai.usage.text.input_tokens": 20},
        {"gen_ai.usage.input_tokens": 20, "gen_ai.usage.text.input_tokens": 20},
        {"gen_ai.usage.input_tokens": 30, "gen_ai.usage.text.input_tokens": 20},
    ],
    ids=["text-only", "both-equal", "both-differ"],
)
def test_text_input_tokens_read_when_no_total(usage: dict[str, int]) -> None:
    """`gen_ai.usage.text.input_tokens` gives the input tokens only when no total does, and
    the span comes back exactly either way."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "gemini", **usage}
    provider.get_tracer("t").start_span("chat g", attributes=attrs).end()
    (span,) = exporter.get_finished_spans()
    assert_same_span(span, _round_trip(span))
    expected = usage.get("gen_ai.usage.input_tokens", 20)
    (line,) = [e for e in _through_file(span) if e["kind"] == "llm_call"]
    assert line["usage"]["input_tokens"] == expected

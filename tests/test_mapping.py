"""Spans to events and back: the exact round trip, and every convention the mapping reads."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, TraceFlags, TraceState

from otel_jsonl.otel import mapping
from otel_jsonl.record import codec as _codec


@pytest.fixture
def tracer_spans() -> Iterator[tuple[Any, InMemorySpanExporter]]:
    """A real tracer with a resource and a scope, and the exporter that keeps its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "agent", "deployment.env": "test", "pid": 7}),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("my.scope", "1.2.3", schema_url="https://x/1", attributes={"a": 1})
    yield tracer, exporter
    provider.shutdown()


def _through_file(span: ReadableSpan) -> list[dict[str, Any]]:
    """Map a span, number it, and encode/decode its lines as the file would."""
    events = mapping.span_to_events(span, resource_ref=mapping.resource_id(span.resource))
    counter = iter(range(1000))
    mapping.number_events(events, lambda: next(counter))
    return [_codec.loads(_codec.dumps_line(e)) for e in events]


def _round_trip(span: ReadableSpan) -> ReadableSpan:
    resource = mapping.resource_from_event(
        _codec.loads(_codec.dumps_line(mapping.resource_event(span.resource)))
    )
    return mapping.events_to_span(
        _through_file(span), {mapping.resource_id(span.resource): resource}
    )


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, tuple):
        return type(b) is tuple and len(a) == len(b) and all(map(_same_value, a, b))
    return type(a) is type(b) and a == b


def assert_same_span(a: ReadableSpan, b: ReadableSpan) -> None:
    """Every part of a span, attribute types included."""
    assert a.name == b.name
    assert a.context == b.context
    assert a.context.trace_state == b.context.trace_state
    assert (a.parent and (a.parent.span_id, a.parent.is_remote)) == (
        b.parent and (b.parent.span_id, b.parent.is_remote)
    )
    assert a.kind == b.kind
    assert (a.start_time, a.end_time) == (b.start_time, b.end_time)
    assert a.status.status_code == b.status.status_code
    assert a.status.description == b.status.description
    for left, right in ((a.attributes, b.attributes),):
        assert set(left or {}) == set(right or {})
        for key, value in (left or {}).items():
            assert _same_value(value, (right or {})[key]), (key, value, (right or {})[key])
    assert [(e.name, e.timestamp) for e in a.events] == [(e.name, e.timestamp) for e in b.events]
    for ea, eb in zip(a.events, b.events, strict=True):
        assert set(ea.attributes or {}) == set(eb.attributes or {})
        for key, value in (ea.attributes or {}).items():
            assert _same_value(value, (eb.attributes or {})[key])
    assert [(link.context, dict(link.attributes or {})) for link in a.links] == [
        (link.context, dict(link.attributes or {})) for link in b.links
    ]
    assert a.instrumentation_scope == b.instrumentation_scope
    assert a.resource.attributes == b.resource.attributes
    assert a.resource.schema_url == b.resource.schema_url
    assert a.dropped_attributes == b.dropped_attributes
    assert json.loads(a.to_json()) == json.loads(b.to_json())


ALL_TYPES: dict[str, Any] = {
    "s": "text é",
    "empty": "",
    "b": True,
    "i": -42,
    "big": 2**62,
    "f": 1.5,
    "whole_float": 2.0,
    "nan": math.nan,
    "inf": math.inf,
    "ninf": -math.inf,
    "ss": ("a", "b"),
    "bs": (True, False),
    "is": (1, 2, 3),
    "fs": (1.0, 2.5, math.inf),
    "none": (),
}


def test_hand_built_tree_round_trips_exactly(tracer_spans: Any) -> None:
    """A tree with every attribute type, events, links, status and trace state comes back exact."""
    tracer, exporter = tracer_spans
    from opentelemetry import trace

    parent_ctx = trace.SpanContext(
        0x1234,
        0x5678,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("k", "v")]),
    )
    with tracer.start_as_current_span(
        "GET /weather",
        context=trace.set_span_in_context(trace.NonRecordingSpan(parent_ctx)),
        kind=SpanKind.SERVER,
        attributes=ALL_TYPES,
    ) as root:
        root.add_event("started", {"n": 1, "x": (1.5, math.nan)}, timestamp=123)
        with tracer.start_as_current_span(
            "chat gpt",
            kind=SpanKind.CLIENT,
            links=[Link(parent_ctx, {"why": "retry"})],
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt",
                "gen_ai.request.temperature": 0.0,
                "gen_ai.request.max_tokens": 10,
                "gen_ai.usage.input_tokens": 3,
                "gen_ai.usage.output_tokens": 4,
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "hi ü"}]}]
                ),
                "gen_ai.output.messages": '[{"role":"assistant","parts":[]} ]',
                **ALL_TYPES,
            },
        ) as chat:
            chat.set_status(Status(StatusCode.ERROR, "rate limited"))
            chat.record_exception(RuntimeError("429"))
        with tracer.start_as_current_span(
            "execute_tool t",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "t",
                "gen_ai.tool.call.id": "c",
                "gen_ai.tool.call.arguments": '{"a": [1, 2.0, "x"]}',
                "gen_ai.tool.call.result": "not json {",
            },
        ):
            pass
        root.set_status(Status(StatusCode.OK))
    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    for span in spans:
        assert_same_span(span, _round_trip(span))


def test_error_line_is_derived_and_does_not_make_a_span(tracer_spans: Any) -> None:
    """An ERROR span gives an error line pointing at its step, with no otel of its own."""
    tracer, exporter = tracer_spans
    with tracer.start_as_current_span("work") as span:
        span.set_status(Status(StatusCode.ERROR, "broken"))
    lines = _through_file(exporter.get_finished_spans()[0])
    assert [line["kind"] for line in lines] == ["span", "error"]
    error = lines[1]
    assert error["step"] == lines[0]["seq"]
    assert error["message"] == "broken"
    assert error["span_id"] == lines[0]["span_id"]
    assert "otel" not in error


def test_json_attribute_kept_raw_when_not_reproducible(tracer_spans: Any) -> None:
    """A JSON-string attribute whose exact text cannot be re-encoded stays in attrs too."""
    tracer, exporter = tracer_spans
    raw = '[{"role": "user",   "parts": []}]'
    with tracer.start_as_current_span(
        "chat", attributes={"gen_ai.operation.name": "chat", "gen_ai.input.messages": raw}
    ):
        pass
    (line,) = _through_file(exporter.get_finished_spans()[0])
    assert line["input"] == [{"role": "user", "parts": []}]
    assert line["otel"]["attrs"]["gen_ai.input.messages"] == raw
    assert "gen_ai.input.messages" not in line["otel"].get("moved", {})


def _one(
    tracer: Any, exporter: InMemorySpanExporter, attrs: dict[str, Any], events: Any = ()
) -> dict[str, Any]:
    with tracer.start_as_current_span("llm", attributes=attrs) as span:
        for name, event_attrs in events:
            span.add_event(name, event_attrs)
    span_ = exporter.get_finished_spans()[-1]
    lines = _through_file(span_)
    assert_same_span(span_, _round_trip(span_))
    return next(line for line in lines if "otel" in line)


def test_deprecated_names_read_current_written(tracer_spans: Any) -> None:
    """gen_ai.system and prompt/completion_tokens become provider and input/output_tokens."""
    tracer, exporter = tracer_spans
    line = _one(
        tracer,
        exporter,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "m",
            "gen_ai.usage.prompt_tokens": 5,
            "gen_ai.usage.completion_tokens": 6,
        },
    )
    assert line["provider"] == "openai"
    assert line["usage"] == {"input_tokens": 5, "output_tokens": 6}


def test_older_per_message_span_events(tracer_spans: Any) -> None:
    """gen_ai.user.message / gen_ai.choice span events become input and output messages."""
    tracer, exporter = tracer_spans
    line = _one(
        tracer,
        exporter,
        {"gen_ai.operation.name": "chat", "gen_ai.system": "openai"},
        [
            ("gen_ai.system.message", {"gen_ai.system": "openai", "content": "be brief"}),
            ("gen_ai.user.message", {"gen_ai.system": "openai", "content": "weather?"}),
            (
                "gen_ai.choice",
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": json.dumps(
                        {
                            "role": "assistant",
                            "tool_calls": [
                                {
                                    "id": "c1",
                                    "type": "function",
                                    "function": {"name": "w", "arguments": '{"city": "L"}'},
                                }
                            ],
                        }
                    ),
                },
            ),
        ],
    )
    assert [m["role"] for m in line["input"]] == ["system", "user"]
    assert line["input"][1]["parts"] == [{"type": "text", "content": "weather?"}]
    (out,) = line["output"]
    assert out["parts"][0]["type"] == "tool_call"
    assert out["parts"][0]["id"] == "c1"
    assert out["parts"][0]["arguments"] == {"city": "L"}
    assert line["finish_reason"] == "tool_calls"


def test_openinference_flattened(tracer_spans: Any) -> None:
    """OpenInference's span kind, flattened messages and token counts are read."""
    tracer, exporter = tracer_spans
    line = _one(
        tracer,
        exporter,
        {
            "openinference.span.kind": "LLM",
            "llm.system": "openai",
            "llm.model_name": "gpt",
            "llm.token_count.prompt": 9,
            "llm.token_count.completion": 2,
            "llm.token_count.total": 11,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "hi",
            "llm.input_messages.1.message.role": "tool",
            "llm.input_messages.1.message.tool_call_id": "c1",
            "llm.input_messages.1.message.content": "18C",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "c2",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "w",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
        },
    )
    assert line["kind"] == "llm_call"
    assert (line["provider"], line["model"]) == ("openai", "gpt")
    assert line["usage"] == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}
    assert line["input"][1]["parts"] == [
        {"type": "tool_call_response", "id": "c1", "response": "18C"}
    ]
    assert line["output"][0]["parts"][0]["id"] == "c2"


def test_openllmetry_indexed_prompt_and_completion(tracer_spans: Any) -> None:
    """OpenLLMetry's gen_ai.prompt.N.* / gen_ai.completion.N.* become messages."""
    tracer, exporter = tracer_spans
    line = _one(
        tracer,
        exporter,
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "hi",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "hello",
            "gen_ai.completion.0.finish_reason": "end_turn",
        },
    )
    assert line["operation"] == "chat"
    assert line["provider"] == "Anthropic"
    assert line["input"] == [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    assert line["output"][0]["parts"] == [{"type": "text", "content": "hello"}]
    assert line["finish_reason"] == "end_turn"


@pytest.mark.parametrize(
    ("op", "kind"),
    [
        ("embeddings", "embeddings"),
        ("retrieval", "retrieval"),
        ("create_agent", "span"),
        (None, "span"),
    ],
)
def test_other_operations(tracer_spans: Any, op: str | None, kind: str) -> None:
    """Embeddings and retrieval have their kinds; the rest is the generic span, all kept."""
    tracer, exporter = tracer_spans
    attrs: dict[str, Any] = {"x": 1}
    if op is not None:
        attrs["gen_ai.operation.name"] = op
    line = _one(tracer, exporter, attrs)
    assert line["kind"] == kind


def test_resource_line_round_trips() -> None:
    """A resource line gives back the same attributes and schema url; its id is stable."""
    resource = Resource({"service.name": "s", "n": 1.0, "l": ("a",)}, "https://schema")
    event = _codec.loads(_codec.dumps_line(mapping.resource_event(resource, run="r", ts=1.0)))
    back = mapping.resource_from_event(event)
    assert back.attributes == resource.attributes
    assert back.schema_url == resource.schema_url
    assert event["id"] == mapping.resource_id(resource) == mapping.resource_id(back)


attr_values = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.lists(st.text(max_size=5), max_size=4).map(tuple),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4).map(tuple),
    st.lists(st.floats(), max_size=4).map(tuple),
    st.lists(st.booleans(), max_size=4).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(
    attrs=st.dictionaries(st.text(min_size=1, max_size=12), attr_values, max_size=8),
    op=st.sampled_from([None, "chat", "execute_tool", "invoke_agent", "embeddings"]),
)
def test_generated_attributes_round_trip(attrs: dict[str, Any], op: str | None) -> None:
    """Any typed attributes on any kind of span survive span -> JSONL -> span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if op is not None:
        attrs = {**attrs, "gen_ai.operation.name": op}
    with provider.get_tracer("t").start_as_current_span("s", attributes=attrs):
        pass
    (span,) = exporter.get_finished_spans()
    assert_same_span(span, _round_trip(span))
    provider.shutdown()

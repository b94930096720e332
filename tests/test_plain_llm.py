"""The one-pass path for plain model-call spans gives the very lines of the general path, and
takes the spans it is meant for."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import SpanContext

from otel_jsonl.genai import plain_llm
from otel_jsonl.genai import spans as genai_spans
from otel_jsonl.otel import mapping
from otel_jsonl.record import codec


@contextmanager
def _general_path_only() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(genai_spans, "fill_plain_llm", lambda *args: False)
        yield


def _span(attrs: dict[str, Any], events: tuple[Event, ...] = ()) -> ReadableSpan:
    return ReadableSpan(
        "chat m",
        context=SpanContext(0xABC, 0xDEF, is_remote=False),
        attributes=attrs,
        events=events,
        start_time=1_000_000_123,
        end_time=2_000_000_456,
    )


def _lines(span: ReadableSpan) -> list[bytes]:
    return [codec.dumps_line(e) for e in mapping.span_to_events(span)]


OPENAI_V2 = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.2,
    "server.address": "api.openai.com",
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.response.model": "gpt-4o-mini-2024",
    "gen_ai.response.finish_reasons": ("tool_calls",),
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 3,
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "weather in Lisbon? ü"}]}],
        separators=(",", ":"),
    ),
    "gen_ai.output.messages": json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "tool_call", "id": "c1", "name": "w", "arguments": {}}],
                "finish_reason": "tool_call",
            }
        ],
        separators=(",", ":"),
    ),
}


def test_common_span_takes_the_one_pass_path() -> None:
    """An openai-v2 chat span with captured content is mapped by the one-pass path, and its
    lines are those of the general path."""
    span = _span(dict(OPENAI_V2))
    builder = genai_spans.FieldBuilder(OPENAI_V2, {"kind": "llm_call"})
    assert plain_llm.fill_plain_llm(builder, "chat", OPENAI_V2, False)
    assert builder.attrs == {
        "server.address": "api.openai.com",
        "gen_ai.response.finish_reasons": ("tool_calls",),
    }
    fast = _lines(span)
    with _general_path_only():
        assert _lines(span) == fast
    back = mapping.events_to_span([codec.loads(line) for line in fast])
    assert dict(back.attributes or {}) == OPENAI_V2
    restored = back.attributes or {}
    assert {k: type(v) for k, v in restored.items()} == {k: type(v) for k, v in OPENAI_V2.items()}


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"llm.model_name": "m"}, "an OpenInference name"),
        ({"gen_ai.prompt.0.content": "hi"}, "OpenLLMetry's indexed messages"),
        ({"ai.operationId": "ai.generateText.doGenerate"}, "the Vercel AI SDK"),
        ({"input.value": "{}"}, "OpenInference's raw input"),
        ({"gen_ai.input.messages": '[{"role":"user","content":"hi"}]'}, "OpenAI messages"),
        (
            {"gen_ai.output.messages": '[{"role":"model","parts":[{"type":"text"}]}]'},
            "Gemini's model role",
        ),
        ({"gen_ai.usage.input_tokens": True}, "a boolean count stays, but the path is exact"),
    ],
)
def test_other_conventions_take_the_general_path(extra: dict[str, Any], why: str) -> None:
    """Spans that name another convention or need normalising are declined (the builder
    untouched), and the general path maps them."""
    attrs = {**OPENAI_V2, **extra}
    builder = genai_spans.FieldBuilder(attrs, {"kind": "llm_call"})
    took = plain_llm.fill_plain_llm(builder, "chat", attrs, False)
    if not took:
        assert builder.main == {"kind": "llm_call"} and not builder.moved, why
        assert builder.attrs == attrs
    fast = _lines(_span(attrs))
    with _general_path_only():
        assert _lines(_span(attrs)) == fast, why


_scalars = st.one_of(
    st.text(max_size=6),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.sampled_from([math.nan, math.inf, 0.0, -0.0]),
    st.lists(st.text(max_size=4), max_size=3).map(tuple),
    st.lists(st.integers(0, 9), max_size=3).map(tuple),
)
_ids = st.one_of(st.none(), st.sampled_from(["c1", "c2", "c3"]), st.integers(0, 2))
_parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "content": st.text(max_size=8)}),
    st.fixed_dictionaries(
        {"type": st.just("text"), "content": st.just("ResponseFunctionToolCall(id='x')")}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_call"),
            "id": _ids,
            "name": st.sampled_from(["f", "g"]),
            "arguments": st.one_of(st.just({"a": 1}), st.just('{"a": 1}')),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_call_response"),
            "id": _ids,
            "response": st.text(max_size=5),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("tool_call_response"), "id": _ids, "result": st.just(1)}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("reasoning"),
            "content": st.sampled_from(
                ["plain", '[{"type":"summary_text","text":"s"}]', "[not json"]
            ),
        }
    ),
    st.just("not a part"),
)
_messages = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "assistant", "tool", "model", "system"]),
                "parts": st.lists(_parts, max_size=3),
            },
            optional={"finish_reason": st.sampled_from(["stop", "length", 3])},
        ),
        st.fixed_dictionaries({"role": st.just("user"), "content": st.text(max_size=5)}),
    ),
    max_size=3,
)


@st.composite
def _json_text(draw: st.DrawFn) -> str:
    value = draw(
        st.one_of(
            _messages,
            st.just(None),
            st.lists(st.one_of(st.text(max_size=4), st.just({"type": "text", "text": "t"}))),
        )
    )
    style = draw(st.sampled_from(["compact", "ascii", "spaced", "broken", "nan"]))
    if style == "broken":
        return json.dumps(value)[:-1] or "["
    if style == "nan":
        return '[{"role":"user","parts":[{"type":"text","content":NaN}]}]'
    if style == "spaced":
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=style == "ascii")


_KEYS = [
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.total_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.text.input_tokens",
    "gen_ai.response.finish_reasons",
    "gen_ai.request.temperature",
    "gen_ai.request.a/b~c",
    "gen_ai.request.",
    "server.address",
    "gen_ai.openai.request.service_tier",
    "llm.token_count.prompt",
    "anthropic.message.stop_reason",
    "openinference.span.kind",
]
_CONTENT_KEYS = ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"]


@st.composite
def _attributes(draw: st.DrawFn) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(_KEYS + _CONTENT_KEYS), unique=True, max_size=10)):
        if key in _CONTENT_KEYS:
            attrs[key] = draw(st.one_of(_json_text(), _scalars))
        elif key == "gen_ai.response.finish_reasons":
            attrs[key] = draw(st.one_of(_scalars, st.just(()), st.just(["stop"])))
        else:
            attrs[key] = draw(_scalars)
    op = draw(st.sampled_from(["chat", "text_completion", "generate_content", "completion"]))
    position = draw(st.integers(0, len(attrs)))
    items = list(attrs.items())
    items.insert(position, ("gen_ai.operation.name", op))
    return dict(items)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attrs=_attributes(), with_event=st.booleans())
def test_generated_spans_give_the_general_path_lines(
    attrs: dict[str, Any], with_event: bool
) -> None:
    """On generated model-call spans (current, deprecated and other conventions' names, every
    value type, messages in every form and JSON style), both paths write the same bytes."""
    events = (Event("gen_ai.user.message", {"content": "hi"}, timestamp=5),) if with_event else ()
    span = _span(attrs, events)
    fast = _lines(span)
    with _general_path_only():
        general = _lines(span)
    assert fast == general


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attrs=_attributes())
def test_native_step_lines_hold_no_nonfinite_float(attrs: dict[str, Any]) -> None:
    """A step line the one-pass path calls native holds no NaN or infinity, so the writer's
    encoding without looking for them gives the bytes of the careful one."""
    events, native = mapping.span_lines(_span(attrs))
    main = next(e for e in events if "otel" in e)
    if native:
        assert not codec._has_nonfinite(main)
        assert codec.dumps_decoded_line(main) == codec.dumps_line(main)


def test_native_tells_the_common_span_from_one_with_nan() -> None:
    """The common span's step line is native; one whose messages hold a NaN is not."""
    assert mapping.span_lines(_span(OPENAI_V2))[1]
    with_nan = dict(OPENAI_V2, **{"gen_ai.request.temperature": math.nan})
    events, native = mapping.span_lines(_span(with_nan))
    assert native and events[0]["otel"]["attrs"]["gen_ai.request.temperature"] == {"float": "NaN"}
    nan_text = '[{"role":"user","parts":[{"type":"text","content":NaN}]}]'
    events, native = mapping.span_lines(
        _span(dict(OPENAI_V2, **{"gen_ai.input.messages": nan_text}))
    )
    assert not native
    assert b"NaN" in codec.dumps_line(events[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attrs=_attributes())
def test_distinct_plans_move_as_the_checked_moves_do(attrs: dict[str, Any]) -> None:
    """A plan whose attributes fill distinct fields moves them without looking for a field
    already set, and gives the lines of the moves that look."""
    span = _span(attrs)
    fast = _lines(span)
    checked = plain_llm._move

    def always_checked(*args: Any) -> bool:
        return checked(*args[:4], False)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plain_llm, "_move", always_checked)
        assert _lines(span) == fast


def test_distinct_is_told_from_the_attribute_names() -> None:
    """Two attributes for one field (provider, a deprecated usage name) make a plan that
    looks for set fields; the openai-v2 span's plan does not."""
    assert plain_llm._plan(tuple(OPENAI_V2)).distinct  # type: ignore[union-attr]
    for extra in ("gen_ai.system", "gen_ai.usage.prompt_tokens"):
        plan = plain_llm._plan((*OPENAI_V2, extra))
        assert plan is not None and not plan.distinct, extra


def _with_input(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(OPENAI_V2, **{"gen_ai.input.messages": json.dumps(messages)})


def _call(call_id: str | None) -> dict[str, Any]:
    part = {"type": "tool_call", "id": call_id, "name": "f", "arguments": {}}
    return {"role": "assistant", "parts": [part]}


def _answer(call_id: str | None) -> dict[str, Any]:
    return {"role": "tool", "parts": [{"type": "tool_call_response", "id": call_id, "response": 1}]}


@pytest.mark.parametrize(
    ("messages", "plain"),
    [
        ([_call("c1"), _answer("c1")], True),
        ([_call("c1"), _call("c2"), _answer("c1"), _answer("c2")], True),
        ([_call("c1")], True),  # a call not answered yet: no answer to pair
        ([_answer("c9")], True),  # an answer alone: no call to pair
        ([_call("c1"), _answer("c1"), _answer("c9")], True),  # every call answered
        ([_call("c1"), _answer(None)], True),  # the answer without an id pairs with none
        ([_call("c1"), _answer("c9")], False),  # the Responses pairing renumbers these
        ([_call("c1"), _call("c2"), _answer("c2"), _answer("c9")], False),
        ([_call(None), _answer("c9")], False),
    ],
)
def test_tool_call_pairing_decides_the_path(messages: list[dict[str, Any]], plain: bool) -> None:
    """A model input whose tool calls the Responses pairing would renumber (a call without an
    answer beside an answer with an id of no call) is left to the general path; any other
    takes the one-pass path; both give the same lines."""
    attrs = _with_input(messages)
    builder = genai_spans.FieldBuilder(attrs, {"kind": "llm_call"})
    assert plain_llm.fill_plain_llm(builder, "chat", attrs, False) is plain
    fast = _lines(_span(attrs))
    with _general_path_only():
        assert _lines(_span(attrs)) == fast


@pytest.mark.parametrize(
    "raw",
    [
        '[{"role":"user","parts":[{"type":"tool_call","arguments":{"n":9e0}}]}]',
        '[{"role":"user","parts":[{"type":"text","content":"\\u00e9t\\u00e9"}]}]',
        '[{"role":"user","parts":[{"type":"text","content":"a\\/b"}]}] ',
    ],
)
def test_message_text_is_moved_only_when_orjson_writes_it_byte_for_byte(raw: str) -> None:
    """A message attribute that orjson would write differently (another number form, escapes
    it does not use), even in as many bytes, is not recorded as orjson's form (it stays in
    otel.attrs, or moves with the standard library's style that writes it) and comes back as
    the very string."""
    attrs = dict(OPENAI_V2, **{"gen_ai.input.messages": raw})
    events = mapping.span_to_events(_span(attrs))
    main = next(e for e in events if "otel" in e)
    where = main["otel"].get("moved", {}).get("gen_ai.input.messages")
    assert where is None or where[1] != "json/o", where
    back = mapping.events_to_span([codec.loads(codec.dumps_line(e)) for e in events])
    assert (back.attributes or {})["gen_ai.input.messages"] == raw

"""Tests for otel_jsonl.genai.responses and .gemini: Responses items and Gemini contents <->
GenAI parts, both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_jsonl.genai.gemini import from_gemini, is_gemini_content, parts_to_gemini
from otel_jsonl.genai.messages import to_anthropic, to_openai
from otel_jsonl.genai.responses import from_responses, is_responses_item, parts_to_responses

text = st.text(max_size=12)
ident = st.from_regex(r"[a-z]{1,4}_[0-9a-f]{1,6}", fullmatch=True)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=5), json_value, max_size=3)


def optional(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {key: v}))


# --- Responses -----------------------------------------------------------------------------

easy_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "developer"]), "content": text}
)


@st.composite
def typed_message(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(["user", "assistant", "system", "developer"]))
    kind = "output_text" if role == "assistant" else "input_text"
    parts: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        part: dict[str, Any] = {"type": kind, "text": draw(text)}
        if kind == "output_text":
            part["annotations"] = []
            part |= draw(optional("logprobs", st.just([])))
        parts.append(part)
    if role == "user" and draw(st.booleans()):
        parts.append({"type": "input_image", "image_url": "data:image/png;base64,AA=="})
    item: dict[str, Any] = {"type": "message", "role": role, "content": parts}
    item |= draw(optional("id", ident)) | draw(optional("status", st.just("completed")))
    return item


@st.composite
def function_call(draw: st.DrawFn) -> dict[str, Any]:
    raw = draw(
        st.one_of(arguments.map(json.dumps), arguments.map(lambda a: json.dumps(a, indent=1)), text)
    )
    item = {"type": "function_call", "call_id": draw(ident), "name": draw(ident), "arguments": raw}
    return item | draw(optional("id", ident)) | draw(optional("status", st.just("completed")))


@st.composite
def function_call_output(draw: st.DrawFn) -> dict[str, Any]:
    item = {"type": "function_call_output", "call_id": draw(ident), "output": draw(text)}
    return item | draw(optional("id", ident))


@st.composite
def reasoning(draw: st.DrawFn) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": t} for t in draw(st.lists(text, max_size=2))]
    item = {"type": "reasoning", "id": draw(ident), "summary": summary}
    return item | draw(optional("encrypted_content", text))


responses_item = st.one_of(
    easy_message, typed_message(), function_call(), function_call_output(), reasoning()
)


@given(st.lists(responses_item, max_size=6), st.none() | text)
def test_responses_input_round_trips_through_parts(
    items: list[dict[str, Any]], instructions: str | None
) -> None:
    """Any Responses input and instructions go to parts messages and back unchanged."""
    messages = from_responses(items, instructions)
    assert all("parts" in m for m in messages)
    expected: dict[str, Any] = {"input": items}
    if instructions is not None:
        expected["instructions"] = instructions
    assert parts_to_responses(messages) == expected


@given(text)
def test_responses_string_input_round_trips(value: str) -> None:
    """A plain string `input` comes back as that string."""
    assert parts_to_responses(from_responses(value, "sys")) == {
        "instructions": "sys",
        "input": value,
    }


def test_responses_items_become_genai_parts() -> None:
    """A function call keeps its call id as the part id and its item id aside; its output pairs."""
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}]},
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Lisbon"}',
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]
    system, user, thought, call, result = from_responses(items, "Be brief.")
    assert system["role"] == "system" and system["parts"][0]["content"] == "Be brief."
    assert user["parts"] == [{"type": "text", "content": "Weather?"}]
    assert thought["parts"][0]["type"] == "reasoning" and thought["parts"][0]["content"] == "t"
    assert call["role"] == "assistant"
    assert call["parts"][0] | {} == {
        "type": "tool_call",
        "id": "call_1",
        "item_id": "fc_1",
        "name": "get_weather",
        "arguments": {"city": "Lisbon"},
        "status": "completed",
    }
    assert result == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}],
    }
    chat = to_openai(from_responses(items, "Be brief."))
    assert chat[0] == {"role": "system", "content": "Be brief."}
    assert chat[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert [c["id"] for m in chat for c in m.get("tool_calls", [])] == ["call_1"]


def test_chat_parts_become_responses_items_with_call_ids() -> None:
    """Parts from a chat run become easy messages, function_call and function_call_output items."""
    parts = [
        {"role": "system", "parts": [{"type": "text", "content": "S"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Q"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {"type": "tool_call", "id": "call_9", "name": "f", "arguments": {"x": 1}},
            ],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_9", "response": {"ok": True}}],
        },
    ]
    assert parts_to_responses(parts) == {
        "instructions": "S",
        "input": [
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "Let me check."},
            {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": '{"x": 1}'},
            {"type": "function_call_output", "call_id": "call_9", "output": '{"ok": true}'},
        ],
    }


# --- Gemini --------------------------------------------------------------------------------


@st.composite
def gemini_part(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "thought", "signed", "call", "response", "blob"]))
    if kind == "text":
        return {"text": draw(text)}
    if kind == "thought":
        return {"text": draw(text), "thought": True}
    if kind == "signed":
        return {"text": draw(text), "thoughtSignature": draw(ident)}
    if kind == "call":
        call = {"name": draw(ident), "args": draw(arguments)} | draw(optional("id", ident))
        return {"functionCall": call}
    if kind == "response":
        answer = {"name": draw(ident), "response": draw(arguments)} | draw(optional("id", ident))
        return {"functionResponse": answer}
    return {"inlineData": {"mimeType": "image/png", "data": draw(ident)}}


gemini_content = st.fixed_dictionaries(
    {"parts": st.lists(gemini_part(), max_size=3)},
    optional={"role": st.sampled_from(["user", "model"])},
)
system_instruction = st.none() | st.fixed_dictionaries(
    {"parts": st.lists(st.builds(lambda t: {"text": t}, text), min_size=1, max_size=2)},
    optional={"role": st.just("user")},
)


@given(st.lists(gemini_content, max_size=6), system_instruction)
def test_gemini_contents_round_trip_through_parts(
    contents: list[dict[str, Any]], system: Any
) -> None:
    """Any Gemini contents and systemInstruction go to parts messages and back unchanged."""
    messages = from_gemini(contents, system)
    assert all(not is_gemini_content(m) for m in messages)
    expected: dict[str, Any] = {"contents": contents}
    if system is not None:
        expected["systemInstruction"] = system
    assert parts_to_gemini(messages) == expected


def test_gemini_tool_result_in_a_user_content_pairs_by_name() -> None:
    """A functionResponse without id becomes a tool_call_response carrying the tool's name."""
    contents = [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "L"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}
            ],
        },
    ]
    _, model, answer = from_gemini(contents)
    assert model["role"] == "assistant"
    assert model["parts"] == [
        {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "L"}}
    ]
    assert answer["role"] == "user"
    assert answer["parts"] == [
        {
            "type": "tool_call_response",
            "id": None,
            "name": "get_weather",
            "response": {"result": "sunny"},
        }
    ]


def test_chat_parts_become_gemini_contents_named_by_call_id() -> None:
    """A chat tool result (call id only) becomes a functionResponse named after its call."""
    parts = [
        {"role": "system", "parts": [{"type": "text", "content": "S"}]},
        {"role": "user", "parts": [{"type": "text", "content": "Q"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "f", "arguments": '{"x": 1}'}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "ok"}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_2", "response": {"a": 1}}],
        },
    ]
    assert parts_to_gemini(parts) == {
        "systemInstruction": {"parts": [{"text": "S"}], "role": "user"},
        "contents": [
            {"role": "user", "parts": [{"text": "Q"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"id": "call_1", "name": "f", "args": {"x": 1}}}],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": "call_1",
                            "name": "f",
                            "response": {"result": "ok"},
                        }
                    },
                    {"functionResponse": {"id": "call_2", "name": None, "response": {"a": 1}}},
                ],
            },
        ],
    }


def test_gemini_run_replays_as_anthropic_and_chat() -> None:
    """Gemini contents through parts give chat and Anthropic requests with the tool pairing."""
    contents = [
        {"role": "user", "parts": [{"text": "Q"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "f", "args": {}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"id": "c1", "name": "f", "response": {"result": "r"}}}],
        },
    ]
    messages = from_gemini(contents, {"parts": [{"text": "S"}]})
    anthropic = to_anthropic(messages)
    assert anthropic["system"] == "S"
    assert anthropic["messages"][1]["content"][0]["id"] == "c1"
    assert anthropic["messages"][2]["content"][0]["tool_use_id"] == "c1"
    chat = to_openai(messages)
    assert chat[-1]["role"] == "tool" and chat[-1]["tool_call_id"] == "c1"


@given(responses_item)
def test_detection_tells_responses_items_from_gemini_contents(item: dict[str, Any]) -> None:
    """A typed Responses item is never taken for a Gemini content."""
    assert not is_gemini_content(item)
    assert is_responses_item(item) == ("type" in item)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "human", "content": "hi"},
        {"type": "ai", "content": "hello", "tool_calls": []},
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]},
    ],
    ids=["langchain-human", "langchain-ai", "anthropic-message"],
)
def test_other_typed_messages_are_not_responses_items(message: dict[str, Any]) -> None:
    """LangChain's and Anthropic's typed messages are not taken for Responses items."""
    assert not is_responses_item(message)

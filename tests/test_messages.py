"""Tests for otel_jsonl.messages: conversions between GenAI parts, OpenAI and Anthropic forms."""

from __future__ import annotations

from typing import Any

import pytest

from otel_jsonl.genai.messages import form_of, system_text, to_anthropic, to_openai, to_parts

PARTS_CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Lisbon?"}]},
    {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "c1",
                "name": "get_weather",
                "arguments": {"city": "Lisbon"},
            }
        ],
        "finish_reason": "tool_call",
    },
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "18C"}]},
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c2", "response": {"a": 1}}]},
]


@pytest.mark.parametrize(
    ("message", "form"),
    [
        ({"role": "user", "parts": []}, "parts"),
        ({"role": "user", "content": "hi"}, "common"),
        ({"role": "system", "content": "be brief"}, "openai"),
        ({"role": "tool", "tool_call_id": "c1", "content": "x"}, "openai"),
        ({"role": "assistant", "tool_calls": []}, "openai"),
        ({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}, "anthropic"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}, "openai"),
        ({"role": "user", "content": [{"type": "text", "text": "hi"}]}, "common"),
    ],
)
def test_form_of(message: dict[str, Any], form: str) -> None:
    """Each message is recognised as the form it is written in."""
    assert form_of(message) == form


def test_to_openai_from_parts() -> None:
    """Parts become OpenAI messages: system first, tool calls as JSON strings, one tool message
    per result, no content key on a tool-calling assistant message."""
    assert to_openai(PARTS_CONVERSATION, "Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Lisbon?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18C"},
        {"role": "tool", "tool_call_id": "c2", "content": '{"a": 1}'},
    ]


def test_to_anthropic_from_parts_merges_tool_results() -> None:
    """Parts become an Anthropic payload: top-level system, tool_use blocks, and consecutive
    tool results merged into one user turn."""
    assert to_anthropic(PARTS_CONVERSATION, "Be brief.") == {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Lisbon?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "c1",
                        "name": "get_weather",
                        "input": {"city": "Lisbon"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "18C"},
                    {"type": "tool_result", "tool_use_id": "c2", "content": '{"a": 1}'},
                ],
            },
        ],
    }


def test_openai_round_trip_through_parts() -> None:
    """OpenAI messages to parts and back give the same messages."""
    original = to_openai(PARTS_CONVERSATION, "Be brief.")
    again = to_openai([to_parts(m) for m in original])
    assert again == original


def test_anthropic_round_trip_through_parts() -> None:
    """Anthropic messages to parts and back give the same payload."""
    original = to_anthropic(PARTS_CONVERSATION, "Be brief.")
    again = to_anthropic([to_parts(m) for m in original["messages"]], original["system"])
    assert again == original


def test_native_messages_pass_through() -> None:
    """A message already in the target form is kept as it is, None values dropped."""
    msg = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{ }"}}
        ],
    }
    assert to_openai([msg]) == [{"role": "assistant", "tool_calls": msg["tool_calls"]}]
    block = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
    }
    assert to_anthropic([block]) == {"messages": [block]}


def test_system_messages_lift_to_anthropic_system() -> None:
    """An OpenAI system message becomes Anthropic's top-level system prompt."""
    out = to_anthropic([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert out == {"system": "S", "messages": [{"role": "user", "content": "U"}]}


def test_to_parts_keeps_raw_arguments_that_are_not_json() -> None:
    """Tool arguments that are not JSON are kept as the raw string."""
    msg = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}}
        ],
    }
    assert to_parts(msg)["parts"] == [
        {"type": "tool_call", "id": "c", "name": "f", "arguments": "not json"}
    ]


@pytest.mark.parametrize(
    ("system", "text"),
    [
        (None, None),
        ("S", "S"),
        ([{"type": "text", "content": "a"}, {"type": "text", "content": "b"}], "a\n\nb"),
        ([{"type": "text", "text": "a"}], "a"),
    ],
)
def test_system_text(system: Any, text: str | None) -> None:
    """System prompts in any form become one string."""
    assert system_text(system) == text

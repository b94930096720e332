"""Tests for otel_jsonl.schema: the v1 event contract and its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from otel_jsonl import KINDS, validate_event
from otel_jsonl.schema import json_schema, usage_of

REPO = Path(__file__).resolve().parent.parent

# The article's recorder, with its lost ** restored: its lines must be valid events.
ARTICLE_LINES: list[dict[str, Any]] = [
    {
        "ts": 1.0,
        "run": "1a2b3c4d",
        "kind": "llm_call",
        "turn": 0,
        "content": {"role": "assistant", "content": None, "tool_calls": []},
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    },
    {"ts": 2.0, "run": "1a2b3c4d", "kind": "error", "tool": "t", "err": "boom"},
    {"ts": 3.0, "run": "1a2b3c4d", "kind": "tool_call", "name": "t", "args": {"a": 1}},
    {"ts": 4.0, "run": "1a2b3c4d", "kind": "tool_result", "id": "call_1", "output": "x"},
    {"ts": 5.0, "run": "1a2b3c4d", "kind": "final", "text": None},
]

BAD: list[tuple[dict[str, Any], str]] = [
    ({"ts": 1, "run": "r", "kind": "x", "seq": -1}, "'seq' must be a whole number >= 0"),
    ({"ts": 1, "run": "r", "kind": "x", "trace_id": "ABC"}, "'trace_id' must be 32 lowercase hex"),
    ({"ts": 1, "run": "r", "kind": "x", "span_id": "0" * 15}, "'span_id' must be 16 lowercase hex"),
    ({"ts": 1, "run": "r", "kind": "llm_call", "model": 3}, "llm_call: 'model' must be a string"),
    (
        {"ts": 1, "run": "r", "kind": "llm_call", "output": "hi"},
        "llm_call: 'output' must be an array",
    ),
    (
        {"ts": 1, "run": "r", "kind": "llm_call", "usage": {"input_tokens": -2}},
        "usage.input_tokens must be a whole number >= 0",
    ),
    (
        {"ts": 1, "run": "r", "kind": "tool_call", "id": 5},
        "tool_call: 'id' must be a string or null",
    ),
    (
        {"ts": 1, "run": "r", "kind": "blob_ref", "sha256": "xyz"},
        "blob_ref: 'sha256' must be 64 lowercase hex",
    ),
    ({"ts": 1, "run": "r", "kind": "input", "messages": {}}, "input: 'messages' must be an array"),
    (
        {"ts": 1, "run": "r", "kind": "x", "capped": {"/a": {"sha256": "no"}}},
        "capped /a: 'sha256' must be 64 lowercase hex",
    ),
]


@pytest.mark.parametrize("event", ARTICLE_LINES)
def test_article_recorder_lines_are_valid(event: dict[str, Any]) -> None:
    """Lines written by the article's twelve-line recorder are valid v1 events."""
    assert validate_event(event) == []
    jsonschema.validate(event, json_schema())


@pytest.mark.parametrize(("event", "reason"), BAD)
def test_invalid_events_are_explained_and_schema_agrees(event: dict[str, Any], reason: str) -> None:
    """validate_event names the problem, and the shipped JSON Schema rejects the same event."""
    problems = validate_event(event)
    assert any(reason in p for p in problems), problems
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, json_schema())


def test_schema_doc_example_lines_are_valid() -> None:
    """Every example line in docs/schema.md validates, and every kind has an example."""
    text = (REPO / "docs" / "schema.md").read_text()
    examples = [json.loads(line) for line in text.splitlines() if line.startswith('{"ts":')]
    assert examples
    for ev in examples:
        assert validate_event(ev) == [], ev
        jsonschema.validate(ev, json_schema())
    assert set(KINDS) <= {ev["kind"] for ev in examples}


def test_every_kind_is_documented() -> None:
    """docs/schema.md has a row for every kind the project writes."""
    text = (REPO / "docs" / "schema.md").read_text()
    for kind in KINDS:
        assert f"| `{kind}` |" in text, kind


def test_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The shipped schema file is itself a valid JSON Schema."""
    jsonschema.Draft202012Validator.check_schema(json_schema())


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        ),
        (
            {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 5},
            {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 5},
        ),
        (
            {"completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 4}},
            {"output_tokens": 9, "reasoning_tokens": 4},
        ),
        (None, {}),
        ({"input_tokens": "3"}, {}),
    ],
)
def test_usage_of_normalises_names(usage: Any, expected: dict[str, int]) -> None:
    """usage_of reads OpenAI, Anthropic and GenAI usage names into the current ones."""
    assert usage_of({"usage": usage}) == expected

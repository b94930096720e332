"""Tests for otel_jsonl.genai.frameworks and .run_steps: the agent frameworks' shapes, one by one.

The shapes are the ones the real bridges wrote in tests/test_frameworks.py (see
docs/notes/instrumentations.md); these tests pin each rule on its own.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_jsonl.genai.frameworks import (
    agent_fields,
    langchain_messages,
    repair_parts,
    tool_fields,
)
from otel_jsonl.genai.run_steps import RunSteps


def _call(call_id: Any, name: str = "get_weather", arguments: Any = None) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments or {}}


def _answer(call_id: Any, response: Any = "18C") -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


CANONICAL = [
    {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
    {"role": "assistant", "parts": [_call("call_1", arguments={"city": "Lisbon"})]},
    {"role": "tool", "parts": [_answer("call_1")]},
]


def test_canonical_parts_are_returned_as_they_are() -> None:
    """Messages already in the canonical parts form come back as the same object."""
    assert repair_parts(CANONICAL) is CANONICAL


def test_pydantic_ai_result_becomes_response() -> None:
    """A tool result under `result` (Pydantic AI, formats 5 and 6) is put under `response`."""
    messages = [{"role": "user", "parts": [{"type": "tool_call_response", "id": "c", "result": 1}]}]
    before = copy.deepcopy(messages)
    assert repair_parts(messages) == [{"role": "user", "parts": [_answer("c", 1)]}]
    assert messages == before


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [('{"city": "Lisbon"}', {"city": "Lisbon"}), ("not json", "not json"), ("[1]", "[1]")],
)
def test_json_text_arguments_become_an_object(arguments: str, expected: Any) -> None:
    """Arguments written as JSON text of an object become the object; other text stays."""
    (message,) = repair_parts([{"role": "assistant", "parts": [_call("c", arguments=arguments)]}])
    assert message["parts"][0]["arguments"] == expected


def test_responses_tool_call_repr_becomes_a_tool_call() -> None:
    """The official agents-v2 bridge's repr of a Responses function call is a tool_call part."""
    text = (
        "ResponseFunctionToolCall(arguments='{\"city\": \"Lisbon\"}', call_id='call_1', "
        "name='get_weather', type='function_call', id='fc_1', status='completed')"
    )
    (message,) = repair_parts([{"role": "assistant", "parts": [{"type": "text", "content": text}]}])
    assert message["parts"] == [_call("call_1", arguments={"city": "Lisbon"})]


_texts = st.text(max_size=8)
_parts = st.one_of(
    st.builds(lambda t: {"type": "text", "content": t}, _texts),
    st.builds(lambda i, a: _call(i, arguments=a), st.sampled_from(["c1", "c2", "fc_1"]), _texts),
    st.builds(
        lambda i, r: {"type": "tool_call_response", "id": i, "result": r},
        st.sampled_from(["c1", "call_1"]),
        _texts,
    ),
)
_messages = st.lists(
    st.builds(
        lambda role, parts: {"role": role, "parts": parts},
        st.sampled_from(["user", "assistant", "tool"]),
        st.lists(_parts, max_size=3),
    ),
    max_size=4,
)


@given(_messages)
def test_repair_is_idempotent(messages: list[dict[str, Any]]) -> None:
    """Repairing twice gives what repairing once gave, and never changes the input."""
    before = copy.deepcopy(messages)
    once = repair_parts(messages)
    assert repair_parts(once) == once
    assert messages == before


# --- LangChain ---------------------------------------------------------------------------------

LC_AI = {
    "lc": 1,
    "type": "constructor",
    "id": ["langchain", "schema", "messages", "AIMessage"],
    "kwargs": {
        "content": "",
        "tool_calls": [{"name": "get_weather", "args": {"city": "Lisbon"}, "id": "call_1"}],
    },
}
LC_TOOL = {
    "type": "tool",
    "data": {"content": "18C", "type": "tool", "name": "get_weather", "tool_call_id": "call_1"},
}


def test_langchain_messages_in_both_serialised_forms() -> None:
    """Constructor-form and type/data-form LangChain messages, and plain chat ones, as parts."""
    state = {"messages": [{"role": "user", "content": "weather?"}, LC_AI, LC_TOOL]}
    assert langchain_messages(json.dumps(state)) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
        {"role": "assistant", "parts": [_call("call_1", arguments={"city": "Lisbon"})]},
        {"role": "tool", "parts": [_answer("call_1")]},
    ]
    assert langchain_messages({"outputs": {"messages": [LC_TOOL]}}) is not None


@pytest.mark.parametrize("value", ['{"messages": []}', '{"other": 1}', "text", '[{"x": 1}]'])
def test_langchain_messages_refuses_other_values(value: str) -> None:
    """Anything that is not LangChain state with messages gives None."""
    assert langchain_messages(value) is None


def test_tool_fields_openinference_tool_message() -> None:
    """OpenInference: call id and content from the ToolMessage; the bare input is not args."""
    attrs = {"input.value": "Lisbon", "output.value": json.dumps(LC_TOOL)}
    assert tool_fields(attrs) == {"output": "18C", "id": "call_1", "args": None}


def test_tool_fields_openllmetry_wrapped_arguments() -> None:
    """OpenLLMetry: args from the callback's `inputs`, the call id from its `kwargs`."""
    args = {"input_str": "{'city': 'Lisbon'}", "inputs": {"city": "Lisbon"}, "kwargs": {}}
    args["kwargs"] = {"tool_call_id": "call_7"}
    result = {"output": {**LC_AI, "id": ["x", "ToolMessage"], "kwargs": LC_TOOL["data"]}}
    attrs = {
        "gen_ai.tool.call.arguments": json.dumps(args),
        "gen_ai.tool.call.result": json.dumps(result),
    }
    assert tool_fields(attrs) == {"output": "18C", "id": "call_1", "args": {"city": "Lisbon"}}
    assert tool_fields({"gen_ai.tool.call.arguments": '{"city": "Lisbon"}'}) is None


def test_agent_fields_pydantic_ai() -> None:
    """Pydantic AI: the run's input and answer from its conversation, usage summed."""
    conversation = [
        {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
        {"role": "assistant", "parts": [_call("c", arguments='{"city": "Lisbon"}')]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": "c", "result": "18C"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "18C in Lisbon"}]},
    ]
    attrs = {
        "pydantic_ai.all_messages": json.dumps(conversation),
        "final_result": "18C in Lisbon",
        "gen_ai.aggregated_usage.input_tokens": 60,
        "gen_ai.aggregated_usage.output_tokens": 14,
    }
    fields = agent_fields(attrs)
    assert fields is not None
    assert fields["messages"] == conversation[:1]
    assert fields["output"] == conversation[3:]
    assert fields["text"] == "18C in Lisbon"
    assert fields["usage"] == {"input_tokens": 60, "output_tokens": 14}


def test_agent_fields_langgraph_task() -> None:
    """OpenLLMetry's LangGraph workflow span: input and answer from its task state."""
    answer = {**LC_AI, "kwargs": {"content": "18C in Lisbon"}}
    attrs = {
        "gen_ai.task.input": json.dumps(
            {"inputs": {"messages": [{"role": "user", "content": "?"}]}}
        ),
        "gen_ai.task.output": json.dumps({"outputs": {"messages": [LC_AI, LC_TOOL, answer]}}),
    }
    fields = agent_fields(attrs)
    assert fields is not None
    assert fields["text"] == "18C in Lisbon"
    assert fields["messages"] == [{"role": "user", "parts": [{"type": "text", "content": "?"}]}]
    assert agent_fields({"gen_ai.agent.name": "x"}) is None


# --- across spans --------------------------------------------------------------------------------


def _llm(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "llm_call", "output": [{"role": "assistant", "parts": list(calls)}]}


def _tool(name: str, call_id: Any = None, args: Any = None) -> list[dict[str, Any]]:
    return [
        {"kind": "tool_call", "name": name, "id": call_id, "args": args},
        {"kind": "tool_result", "name": name, "id": call_id, "output": "x"},
    ]


def test_tool_spans_without_ids_pair_by_name_and_order() -> None:
    """Tool spans with no call id take the ids (and missing arguments) of the model's calls:
    the first waiting call of the same name, in order."""
    steps = RunSteps()
    steps.settle("r", [_llm(_call("a", "w"), _call("b", "t"), _call("c", "w", {"city": "P"}))])
    spans = [_tool("t"), _tool("w"), _tool("w")]
    for lines in spans:
        steps.settle("r", lines)
    assert [[line["id"] for line in lines] for lines in spans] == [
        ["b", "b"],
        ["a", "a"],
        ["c", "c"],
    ]
    assert spans[2][0]["args"] == {"city": "P"}


def test_tool_span_with_an_id_keeps_it_and_consumes_its_call() -> None:
    """A tool span that has a call id keeps it, and the call is no longer waiting."""
    steps = RunSteps()
    steps.settle("r", [_llm(_call("a", "w"), _call("b", "w"))])
    first, second = _tool("w", "b"), _tool("w")
    steps.settle("r", first)
    steps.settle("r", second)
    assert (first[1]["id"], second[1]["id"]) == ("b", "a")


def test_nested_agent_wrapper_without_content_adds_no_step() -> None:
    """An agent span above another agent span, with no content of its own, is a plain span;
    one with content stays an agent."""
    steps = RunSteps()
    assert steps.operation("r", "inner", "mid", "invoke_agent", {}) == "invoke_agent"
    assert steps.operation("r", "mid", "outer", None, {}) is None
    assert steps.operation("r", "outer", None, "invoke_agent", {}) is None
    steps.operation("r2", "inner", "outer", "invoke_agent", {})
    content = {"gen_ai.input.messages": "[]"}
    assert steps.operation("r2", "outer", None, "invoke_agent", content) == "invoke_agent"


def test_langchain_root_chain_is_the_agent_once_the_run_called_a_model() -> None:
    """OpenInference's LangChain root chain becomes the agent, but only in a run with calls."""
    attrs = {
        "openinference.span.kind": "CHAIN",
        "input.value": json.dumps({"messages": [{"role": "user", "content": "?"}]}),
    }
    steps = RunSteps()
    assert steps.operation("r", "root", None, None, attrs) is None
    steps.settle("r", [_llm(_call("a"))])
    assert steps.operation("r", "root", None, None, attrs) == "invoke_agent"
    assert steps.operation("r", "child", "root", None, attrs) is None


def test_agent_without_content_takes_the_runs_first_input_and_last_answer() -> None:
    """An agent's input and final with no content of their own take the run's first model
    input and last answer."""
    steps = RunSteps()
    asked = [{"role": "user", "parts": [{"type": "text", "content": "?"}]}]
    said = [{"role": "assistant", "parts": [{"type": "text", "content": "18C"}]}]
    steps.settle("r", [{"kind": "llm_call", "input": asked, "output": said}])
    lines = [{"kind": "input"}, {"kind": "final", "text": None}]
    steps.settle("r", lines)
    assert lines == [
        {"kind": "input", "messages": asked},
        {"kind": "final", "text": "18C", "output": said},
    ]


def test_runs_are_forgotten_past_the_bound() -> None:
    """Only the most recent runs are remembered."""
    steps = RunSteps(max_runs=2)
    for run in ("a", "b", "c"):
        steps.settle(run, [_llm(_call("x", "w"))])
    late = _tool("w")
    steps.settle("a", late)
    assert late[1]["id"] is None
    kept = _tool("w")
    steps.settle("c", kept)
    assert kept[1]["id"] == "x"


def test_a_run_is_forgotten_when_its_root_span_ends() -> None:
    """Once the root span of a run is written, the run's waiting calls are gone."""
    steps = RunSteps()
    steps.settle("r", [_llm(_call("x", "w"))])
    steps.end("r", "some-parent")
    kept = _tool("w")
    steps.settle("r", kept)
    assert kept[1]["id"] == "x"
    steps.settle("r", [_llm(_call("y", "w"))])
    steps.end("r", None)
    late = _tool("w")
    steps.settle("r", late)
    assert late[1]["id"] is None

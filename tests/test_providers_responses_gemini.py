"""Tests for the Responses API and Gemini wire formats of the loopback provider server."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from google.genai import errors
from support.agent_loops import API_KEY, SYSTEM_PROMPT, USER_PROMPT, get_weather
from support.more_loops import (
    GEMINI_MODEL,
    gemini_client,
    responses_tools,
    run_gemini_loop,
    run_responses_loop,
)
from support.providers import (
    INPUT_TOKENS_PER_MESSAGE,
    OUTPUT_TOKENS,
    REASONING_TOKENS,
    ProviderServer,
    Turn,
    Usage,
    usage_for,
)

WEATHER = get_weather("Lisbon")
FINAL = f"The weather in Lisbon: {WEATHER}"
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


@STREAM
def test_responses_loop_pairs_the_item_id_and_the_call_id(stream: bool) -> None:
    """Responses call 2 carries item `fc_1` with call id `call_1` and its function_call_output."""
    with ProviderServer() as server:
        assert run_responses_loop(server.responses_base_url, stream=stream) == FINAL
        first, second = server.calls
    assert [r.route for r in (first, second)] == ["responses", "responses"]
    assert first.body["instructions"] == SYSTEM_PROMPT
    assert first.body["input"] == [{"role": "user", "content": USER_PROMPT}]
    call, output = second.body["input"][1:]
    assert (call["type"], call["id"], call["call_id"], call["name"]) == (
        "function_call",
        "fc_1",
        "call_1",
        "get_weather",
    )
    assert json.loads(call["arguments"]) == {"city": "Lisbon"}
    assert output == {"type": "function_call_output", "call_id": "call_1", "output": WEATHER}
    assert second.usage == Usage(4 * INPUT_TOKENS_PER_MESSAGE, OUTPUT_TOKENS)


def test_responses_stream_accumulates_to_the_json_response() -> None:
    """The client's `responses.stream()` accumulator rebuilds the same output as the JSON reply."""
    script = [Turn(text="Checking.", reasoning="The user wants weather."), Turn.reply("ok")]
    outputs = []
    for stream in (False, True):
        with (
            ProviderServer(script) as server,
            openai.OpenAI(base_url=server.responses_base_url, api_key=API_KEY) as client,
        ):
            request: dict[str, Any] = {"model": "m", "input": "hi", "tools": responses_tools()}
            if stream:
                with client.responses.stream(**request) as events:
                    kinds = [event.type for event in events]
                    response = events.get_final_response()
                assert kinds[:2] == ["response.created", "response.in_progress"]
                assert kinds[-1] == "response.completed"
                assert "response.reasoning_summary_text.delta" in kinds
            else:
                response = client.responses.create(**request)
        outputs.append(response.model_dump(exclude_none=True, exclude={"created_at"}))
        assert response.output_text == "Checking."
        assert response.usage is not None
        assert response.usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS
    assert outputs[0]["output"] == outputs[1]["output"]
    assert [item["type"] for item in outputs[0]["output"]] == ["reasoning", "message"]


@pytest.mark.parametrize("api_version", ["v1beta", "v1"])
@STREAM
def test_gemini_loop_sends_the_function_response_back(stream: bool, api_version: str) -> None:
    """Gemini call 2 carries the model's functionCall and a user functionResponse, by name."""
    with ProviderServer() as server:
        final = run_gemini_loop(server.gemini_base_url, stream=stream, api_version=api_version)
        first, second = server.calls
    assert final == FINAL
    method = "streamGenerateContent" if stream else "generateContent"
    assert first.path == f"/{api_version}/models/{GEMINI_MODEL}:{method}"
    assert first.route == second.route == "gemini"
    assert first.body["systemInstruction"]["parts"] == [{"text": SYSTEM_PROMPT}]
    model_turn, answer = second.body["contents"][1:]
    assert model_turn == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Lisbon"}}}],
    }
    assert answer == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": WEATHER}}}],
    }


def test_gemini_call_id_is_sent_when_scripted() -> None:
    """A scripted call id goes out as `functionCall.id` and the loop answers with it."""
    script = [Turn.call("get_weather", {"city": "Lisbon"}, id="abc"), Turn.reply("ok")]
    with ProviderServer(script) as server:
        run_gemini_loop(server.gemini_base_url)
        second = server.calls[1]
    assert second.body["contents"][1]["parts"][0]["functionCall"]["id"] == "abc"
    assert second.body["contents"][2]["parts"][0]["functionResponse"]["id"] == "abc"


@STREAM
def test_gemini_thought_parts_and_thought_tokens(stream: bool) -> None:
    """A reasoning turn comes back as a thought part, with `thoughtsTokenCount` in the usage."""
    script = [Turn(text="Sunny.", reasoning="Think first.")]
    with ProviderServer(script) as server, gemini_client(server.gemini_base_url) as client:
        if stream:
            chunks = list(client.models.generate_content_stream(model="g", contents="hi"))
            parts = [p for c in chunks for p in c.candidates[0].content.parts]  # type: ignore[index,union-attr]
            usage = chunks[-1].usage_metadata
        else:
            response = client.models.generate_content(model="g", contents="hi")
            parts = response.candidates[0].content.parts  # type: ignore[index,union-attr,assignment]
            usage = response.usage_metadata
    assert "".join(p.text or "" for p in parts if p.thought) == "Think first."
    assert "".join(p.text or "" for p in parts if not p.thought) == "Sunny."
    assert usage is not None
    assert usage.thoughts_token_count == REASONING_TOKENS
    assert usage.total_token_count == INPUT_TOKENS_PER_MESSAGE + OUTPUT_TOKENS + REASONING_TOKENS


def test_gemini_unknown_model_method_is_a_gemini_404() -> None:
    """An unknown Gemini method gets a 404 in Gemini's error shape, which the client raises."""
    with ProviderServer() as server, gemini_client(server.gemini_base_url) as client:
        with pytest.raises(errors.ClientError) as caught:
            client.models.count_tokens(model="g", contents="hi")
        assert caught.value.code == 404
        assert caught.value.status == "NOT_FOUND"
        assert server.remaining == 2


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"input": "hi"}, 1),
        ({"input": [1, 2], "instructions": "s"}, 3),
        ({"contents": [1, 2, 3]}, 3),
        ({"contents": [1], "systemInstruction": {"parts": [{"text": "s"}]}}, 2),
    ],
)
def test_usage_for_counts_responses_input_and_gemini_contents(
    body: dict[str, Any], messages: int
) -> None:
    """`usage_for` counts Responses input items and Gemini contents, plus their system prompt."""
    assert usage_for(body) == Usage(INPUT_TOKENS_PER_MESSAGE * messages, OUTPUT_TOKENS)

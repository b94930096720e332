"""Tests for otel_jsonl.record.llm_call: provider responses and streams as llm_call steps."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import anthropic
import openai
import pytest
from support.agent_loops import API_KEY
from support.more_loops import gemini_client, gemini_tools, responses_tools
from support.providers import REASONING_TOKENS, ProviderServer, Turn

from otel_jsonl.record.llm_call import llm_call_fields
from otel_jsonl.testing import memory_trace

REASONED_CALL = Turn(
    text="Let me look.",
    reasoning="The user wants the weather.",
    tool_calls=Turn.call("get_weather", {"city": "Lisbon"}).tool_calls,
)


def _responses(stream: bool) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Record one Responses call; return the events, and the event types seen with and
    without the recording wrapper."""
    seen: dict[bool, list[str]] = {}
    trace, events = memory_trace()
    for wrapped in (False, True):
        with (
            ProviderServer([REASONED_CALL]) as server,
            openai.OpenAI(base_url=server.responses_base_url, api_key=API_KEY) as client,
        ):
            request: dict[str, Any] = {"model": "m", "input": "hi", "tools": responses_tools()}
            if not stream:
                response = client.responses.create(**request)
                seen[wrapped] = [item.type for item in response.output]
                if wrapped:
                    trace.step("llm_call", response=response)
                continue
            raw = client.responses.create(**request, stream=True)
            source = trace.stream(raw) if wrapped else raw
            with source as stream_events:
                seen[wrapped] = [event.type for event in stream_events]
    return events(), seen[False], seen[True]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_responses_response_is_an_llm_call(stream: bool) -> None:
    """A Response (or its stream, unchanged for the caller) gives one llm_call with the output
    items, usage with reasoning tokens, model, response id and finish reason."""
    events, plain, wrapped = _responses(stream)
    assert plain == wrapped
    (call,) = events
    assert call["kind"] == "llm_call"
    assert (call["model"], call["provider"], call["response_id"]) == ("m", "openai", "resp_1")
    assert call["finish_reason"] == "tool_call"
    assert [item["type"] for item in call["output"]] == ["reasoning", "message", "function_call"]
    function_call = call["output"][2]
    assert (function_call["id"], function_call["call_id"]) == ("fc_1", "call_1")
    assert call["usage"] == {
        "input_tokens": 10,
        "output_tokens": 7,
        "total_tokens": 17,
        "cache_read_input_tokens": 0,
        "reasoning_tokens": REASONING_TOKENS,
    }


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_gemini_response_is_an_llm_call(stream: bool) -> None:
    """A GenerateContentResponse (or its chunks, put back together) gives one llm_call: the
    content in its wire form, thoughts counted in the output tokens."""
    trace, events = memory_trace()
    with ProviderServer([REASONED_CALL]) as server, gemini_client(server.gemini_base_url) as c:
        config = {"tools": gemini_tools()}
        if stream:
            chunks = c.models.generate_content_stream(model="g", contents="hi", config=config)
            texts = [chunk.text for chunk in trace.stream(chunks, model="g")]
            assert "".join(t or "" for t in texts) == "Let me look."
        else:
            response = c.models.generate_content(model="g", contents="hi", config=config)
            trace.step("llm_call", response=response, model="g")
    (call,) = events()
    assert (call["model"], call["provider"], call["response_id"]) == ("g", "gcp.gemini", "gemini-1")
    assert call["operation"] == "generate_content"
    assert call["finish_reason"] == "STOP"
    assert call["output"] == [
        {
            "role": "model",
            "parts": [
                {"text": "The user wants the weather.", "thought": True},
                {"text": "Let me look."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Lisbon"}}},
            ],
        }
    ]
    assert call["usage"] == {
        "input_tokens": 10,
        "output_tokens": 7 + REASONING_TOKENS,
        "total_tokens": 10 + 7 + REASONING_TOKENS,
        "reasoning_tokens": REASONING_TOKENS,
    }


def test_chat_completion_and_anthropic_message_are_llm_calls() -> None:
    """A ChatCompletion and an Anthropic Message give the same fields their loops record."""
    with ProviderServer([Turn.call("f", {"x": 1}), Turn.reply("done")]) as server:
        with openai.OpenAI(base_url=server.openai_base_url, api_key=API_KEY) as client:
            completion = client.chat.completions.create(
                model="gpt", messages=[{"role": "user", "content": "hi"}]
            )
        with anthropic.Anthropic(base_url=server.anthropic_base_url, api_key=API_KEY) as a:
            message = a.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
            )
    chat = llm_call_fields(completion)
    assert chat["finish_reason"] == "tool_calls"
    assert chat["output"][0]["tool_calls"][0]["id"] == "call_1"
    assert chat["usage"] == {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17}
    claude = llm_call_fields(message.model_dump())
    assert (claude["provider"], claude["finish_reason"]) == ("anthropic", "end_turn")
    assert claude["output"] == [
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]}
    ]


def test_an_unknown_response_is_kept_whole() -> None:
    """A response of no known shape is kept under `response`, nothing lost."""
    assert llm_call_fields({"weird": 1}) == {"response": {"weird": 1}}


def test_a_response_that_cannot_be_read_never_raises() -> None:
    """A response whose model_dump fails is counted as dropped; step returns None."""

    class Broken:
        def model_dump(self, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    trace, events = memory_trace(strict=False)
    assert trace.step("llm_call", response=Broken()) is None
    assert trace.dropped == 1
    assert events() == []


def test_async_streams_are_recorded_too() -> None:
    """`async for` over an AsyncOpenAI Responses stream and a google-genai aio stream, through
    `trace.stream()`, records the same llm_calls as the sync streams."""
    trace, events = memory_trace()

    async def run(server: ProviderServer) -> list[str]:
        kinds: list[str] = []
        async with openai.AsyncOpenAI(
            base_url=server.responses_base_url, api_key=API_KEY
        ) as client:
            raw = await client.responses.create(
                model="m", input="hi", tools=responses_tools(), stream=True
            )
            async with trace.stream(raw) as stream:
                kinds.extend([event.type async for event in stream])
        gemini = gemini_client(server.gemini_base_url)
        chunks = await gemini.aio.models.generate_content_stream(
            model="g", contents="hi", config={"tools": gemini_tools()}
        )
        async for _ in trace.stream(chunks, model="g"):
            pass
        await gemini.aio.aclose()
        return kinds

    with (
        ProviderServer([REASONED_CALL, REASONED_CALL]) as server,
        # A thread of its own: an earlier test may leave an event loop running in this one.
        concurrent.futures.ThreadPoolExecutor(1) as pool,
    ):
        kinds = pool.submit(lambda: asyncio.run(run(server))).result(timeout=60)
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    responses_call, gemini_call = events()
    assert responses_call["response_id"] == "resp_1"
    assert [item["type"] for item in responses_call["output"]] == [
        "reasoning",
        "message",
        "function_call",
    ]
    assert gemini_call["response_id"] == "gemini-2"
    assert [list(p) for p in gemini_call["output"][0]["parts"]] == [
        ["text", "thought"],
        ["text"],
        ["functionCall"],
    ]


def test_a_chat_completions_stream_is_an_llm_call() -> None:
    """Chat Completions chunks through `trace.stream()` give the llm_call of the whole
    completion: the assistant message with its tool call, finish reason and usage."""
    trace, events = memory_trace()
    with (
        ProviderServer([Turn.call("get_weather", {"city": "Lisbon"})]) as server,
        openai.OpenAI(base_url=server.openai_base_url, api_key=API_KEY) as client,
    ):
        chunks = client.chat.completions.create(
            model="gpt",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        with trace.stream(chunks, provider="openai") as stream:
            assert sum(1 for _ in stream) > 3
    (call,) = events()
    assert (call["model"], call["response_id"], call["finish_reason"]) == (
        "gpt",
        "chatcmpl-1",
        "tool_calls",
    )
    (message,) = call["output"]
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
        }
    ]
    assert call["usage"] == {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17}

"""A two-turn tool-using agent loop, run with the real `openai` and `anthropic` clients.

The user asks for the weather in Lisbon; the model calls `get_weather`; the loop runs the tool
locally and sends the result back; the model answers. `recorder`, when given, is called as
`recorder(kind, **fields)` at each step (`input`, `llm_call`, `tool_call`, `tool_result`,
`final`), so the project's `Trace.step` can be passed as it is. Field names follow the event
schema (docs/schema.md): `llm_call` has `model`, `provider`, `response_id`, `output` (a list with
the provider's assistant message), `finish_reason` and `usage`; `tool_call` has `id`, `name` and
`args`; `tool_result` has `id`, `name` and `output`; `final` has `text`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import anthropic
import openai

__all__ = [
    "API_KEY",
    "MAX_TURNS",
    "SYSTEM_PROMPT",
    "TOOLS",
    "USER_PROMPT",
    "Recorder",
    "get_weather",
    "run_anthropic_loop",
    "run_openai_loop",
    "run_tool",
]

API_KEY = "test-key"
SYSTEM_PROMPT = "You are a concise weather assistant. Use the tools you are given."
USER_PROMPT = "What is the weather in Lisbon?"
MAX_TURNS = 4
"""A loop stops with an error after this many model calls without a final answer."""

_WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}
TOOLS: dict[str, str] = {"get_weather": "Current weather for a city."}
"""Tool names and descriptions offered to the model."""


class Recorder(Protocol):
    """What a loop calls at each step: `Trace.step` has this shape."""

    def __call__(self, kind: str, /, **fields: Any) -> object: ...


def get_weather(city: str) -> str:
    """The deterministic tool: a JSON string, the same for the same city."""
    return json.dumps({"city": city, "conditions": "sunny", "temperature_c": 21})


_HANDLERS: dict[str, Callable[..., str]] = {"get_weather": get_weather}


def run_tool(name: str, arguments: dict[str, Any]) -> str:
    """Run tool `name` locally; an unknown tool or bad arguments give an error string."""
    handler = _HANDLERS.get(name)
    if handler is None:
        return f"error: unknown tool {name!r}"
    try:
        return handler(**arguments)
    except TypeError as error:  # wrong arguments: the model sees the error, like a real loop
        return f"error: {error}"


def _ignore(kind: str, /, **fields: Any) -> None:
    """The recorder used when none is given."""


# --- OpenAI --------------------------------------------------------------------------------


def run_openai_loop(
    base_url: str,
    *,
    stream: bool = False,
    recorder: Recorder | None = None,
    model: str = "gpt-4o-mini",
) -> str:
    """Run the loop with `openai.OpenAI` at `base_url` (ending in `/v1`); return the final text."""
    record = recorder or _ignore
    tools: list[Any] = [
        {
            "type": "function",
            "function": {"name": name, "description": text, "parameters": _WEATHER_SCHEMA},
        }
        for name, text in TOOLS.items()
    ]
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_PROMPT},
    ]
    record("input", messages=json.loads(json.dumps(messages)))
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10.0) as client:
        for _ in range(MAX_TURNS):
            if stream:
                reply = _openai_streamed(client, model, messages, tools)
            else:
                completion = client.chat.completions.create(
                    model=model, messages=messages, tools=tools
                )
                choice = completion.choices[0]
                usage = completion.usage
                reply = {
                    "id": completion.id,
                    "message": choice.message.model_dump(exclude_none=True),
                    "finish_reason": choice.finish_reason,
                    "usage": usage and (usage.prompt_tokens, usage.completion_tokens),
                }
            message = reply["message"]
            input_tokens, output_tokens = reply["usage"] or (None, None)
            record(
                "llm_call",
                model=model,
                provider="openai",
                response_id=reply["id"],
                output=[message],
                finish_reason=reply["finish_reason"],
                usage={"input_tokens": input_tokens, "output_tokens": output_tokens},
            )
            messages.append(message)
            tool_calls = message.get("tool_calls") or []
            if not tool_calls:
                text = str(message.get("content") or "")
                record("final", text=text)
                return text
            for call in tool_calls:
                name = call["function"]["name"]
                arguments = json.loads(call["function"]["arguments"] or "{}")
                record("tool_call", id=call["id"], name=name, args=arguments)
                result = run_tool(name, arguments)
                record("tool_result", id=call["id"], name=name, output=result)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    raise RuntimeError(f"no final answer after {MAX_TURNS} model calls")


def _openai_streamed(
    client: openai.OpenAI, model: str, messages: list[Any], tools: list[Any]
) -> dict[str, Any]:
    """One streamed call, with the deltas put back together into an assistant message."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    reply: dict[str, Any] = {"id": None, "finish_reason": None, "usage": None}
    chunks = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=tools,
        stream=True,
        stream_options={"include_usage": True},
    )
    with chunks:
        for chunk in chunks:
            reply["id"] = chunk.id
            if chunk.usage is not None:
                reply["usage"] = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for choice in chunk.choices:
                reply["finish_reason"] = choice.finish_reason or reply["finish_reason"]
                text.append(choice.delta.content or "")
                for delta in choice.delta.tool_calls or []:
                    call = calls.setdefault(
                        delta.index,
                        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                    )
                    call["id"] = delta.id or call["id"]
                    if delta.function is not None:
                        call["function"]["name"] += delta.function.name or ""
                        call["function"]["arguments"] += delta.function.arguments or ""
    message: dict[str, Any] = {"role": "assistant"}
    if "".join(text):
        message["content"] = "".join(text)
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    reply["message"] = message
    return reply


# --- Anthropic -----------------------------------------------------------------------------


def run_anthropic_loop(
    base_url: str,
    *,
    stream: bool = False,
    recorder: Recorder | None = None,
    model: str = "claude-sonnet-4-6",
    open_telemetry: anthropic.OpenTelemetryOptions | None = None,
) -> str:
    """Run the loop with `anthropic.Anthropic` at `base_url`; return the final text.

    The default model is not `claude-sonnet-4-5`: the SDK warns that it is deprecated, and
    the test suite turns warnings into errors.

    `open_telemetry` is the client's own tracing option (see `anthropic_native_tracing`); when
    None the client follows the `ANTHROPIC_OPEN_TELEMETRY*` variables and the global provider.
    """
    record = recorder or _ignore
    tools: list[Any] = [
        {"name": name, "description": text, "input_schema": _WEATHER_SCHEMA}
        for name, text in TOOLS.items()
    ]
    messages: list[Any] = [{"role": "user", "content": USER_PROMPT}]
    record("input", system=SYSTEM_PROMPT, messages=json.loads(json.dumps(messages)))
    client = anthropic.Anthropic(
        base_url=base_url,
        api_key=API_KEY,
        max_retries=0,
        timeout=10.0,
        open_telemetry=open_telemetry,
    )
    with client:
        for _ in range(MAX_TURNS):
            request: dict[str, Any] = {
                "model": model,
                "max_tokens": 1024,
                "system": SYSTEM_PROMPT,
                "messages": messages,
                "tools": tools,
            }
            if stream:
                with client.messages.stream(**request) as events:
                    response = events.get_final_message()
            else:
                response = client.messages.create(**request)
            content = [block.model_dump(exclude_none=True) for block in response.content]
            record(
                "llm_call",
                model=model,
                provider="anthropic",
                response_id=response.id,
                output=[{"role": "assistant", "content": content}],
                finish_reason=response.stop_reason,
                usage={
                    "input_tokens": response.usage.input_tokens,
                    "output_tokens": response.usage.output_tokens,
                },
            )
            messages.append({"role": "assistant", "content": content})
            results: list[Any] = []
            for block in response.content:
                if block.type != "tool_use":
                    continue
                arguments = dict(block.input) if isinstance(block.input, dict) else {}
                record("tool_call", id=block.id, name=block.name, args=arguments)
                result = run_tool(block.name, arguments)
                record("tool_result", id=block.id, name=block.name, output=result)
                results.append({"type": "tool_result", "tool_use_id": block.id, "content": result})
            if not results:
                text = "".join(block.text for block in response.content if block.type == "text")
                record("final", text=text)
                return text
            messages.append({"role": "user", "content": results})
    raise RuntimeError(f"no final answer after {MAX_TURNS} model calls")

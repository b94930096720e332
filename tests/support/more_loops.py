"""The two-turn weather tool loop on the OpenAI Responses API and on Gemini, with the real clients.

Same loop, prompts, tool and recorder protocol as `support.agent_loops` (read its docstring):
the user asks for the weather in Lisbon, the model calls `get_weather`, the loop runs it and sends
the result back, the model answers. `recorder(kind, **fields)` is called at each step with the
event schema's fields; `llm_call.output` holds the provider's own output (Responses output items,
or a Gemini `content`).

Gemini contents are recorded in their wire form (camelCase, `model_dump(by_alias=True)`). Gemini
function calls may come without an `id` (the real API's usual case): the loop then records the
call and its result with `id` None, and answers with a `functionResponse` that carries the id
only when the model gave one, as a real loop does.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from google import genai
from google.genai import types

from support.agent_loops import (
    _WEATHER_SCHEMA,
    API_KEY,
    MAX_TURNS,
    SYSTEM_PROMPT,
    TOOLS,
    USER_PROMPT,
    Recorder,
    _ignore,
    run_tool,
)

__all__ = [
    "GEMINI_MODEL",
    "RESPONSES_MODEL",
    "gemini_tools",
    "responses_tools",
    "run_gemini_loop",
    "run_responses_loop",
]

RESPONSES_MODEL = "gpt-4.1-mini"
GEMINI_MODEL = "gemini-2.5-flash"


def responses_tools() -> list[Any]:
    """The tools as Responses API function tools."""
    return [
        {"type": "function", "name": name, "description": text, "parameters": _WEATHER_SCHEMA}
        for name, text in TOOLS.items()
    ]


def gemini_tools() -> list[types.Tool]:
    """The tools as one Gemini `Tool` with function declarations."""
    return [
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name=name, description=text, parameters_json_schema=_WEATHER_SCHEMA
                )
                for name, text in TOOLS.items()
            ]
        )
    ]


# --- Responses API -------------------------------------------------------------------------


def run_responses_loop(
    base_url: str,
    *,
    stream: bool = False,
    recorder: Recorder | None = None,
    model: str = RESPONSES_MODEL,
) -> str:
    """Run the loop with `openai.OpenAI().responses` at `base_url`; return the final text.

    Each turn's output items go back into `input` as the model returned them (ids included), and
    each tool result as a `function_call_output` item with the call's `call_id`.
    """
    record = recorder or _ignore
    items: list[Any] = [{"role": "user", "content": USER_PROMPT}]
    record("input", system=SYSTEM_PROMPT, messages=json.loads(json.dumps(items)))
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10.0) as client:
        for _ in range(MAX_TURNS):
            request: dict[str, Any] = {
                "model": model,
                "instructions": SYSTEM_PROMPT,
                "input": items,
                "tools": responses_tools(),
            }
            if stream:
                response = None
                with client.responses.create(**request, stream=True) as events:
                    for event in events:
                        if event.type == "response.completed":
                            response = event.response
                if response is None:
                    raise RuntimeError("the stream ended without response.completed")
            else:
                response = client.responses.create(**request)
            output = [item.model_dump(exclude_none=True) for item in response.output]
            usage = response.usage
            record(
                "llm_call",
                model=model,
                provider="openai",
                response_id=response.id,
                output=output,
                # The API has a status, not a finish reason: named as the conventions do.
                finish_reason="tool_call"
                if any(item.get("type") == "function_call" for item in output)
                else "stop",
                usage={
                    "input_tokens": usage and usage.input_tokens,
                    "output_tokens": usage and usage.output_tokens,
                },
            )
            items.extend(output)
            calls = [item for item in output if item.get("type") == "function_call"]
            if not calls:
                text = response.output_text
                record("final", text=text)
                return text
            for call in calls:
                arguments = json.loads(call["arguments"] or "{}")
                record("tool_call", id=call["call_id"], name=call["name"], args=arguments)
                result = run_tool(call["name"], arguments)
                record("tool_result", id=call["call_id"], name=call["name"], output=result)
                items.append(
                    {"type": "function_call_output", "call_id": call["call_id"], "output": result}
                )
    raise RuntimeError(f"no final answer after {MAX_TURNS} model calls")


# --- Gemini --------------------------------------------------------------------------------


def gemini_client(base_url: str, *, api_version: str = "v1beta") -> genai.Client:
    """A `google.genai.Client` for the loopback server at `base_url`."""
    return genai.Client(
        api_key=API_KEY,
        http_options=types.HttpOptions(base_url=base_url, api_version=api_version, timeout=10_000),
    )


def _dump(content: types.Content) -> dict[str, Any]:
    """A content as on the wire: camelCase keys, no nulls."""
    dumped: dict[str, Any] = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _merge_parts(parts: list[types.Part]) -> list[types.Part]:
    """Streamed parts put back together: neighbouring text pieces of one kind become one part."""
    merged: list[types.Part] = []
    for part in parts:
        last = merged[-1] if merged else None
        if (
            last is not None
            and part.text is not None
            and last.text is not None
            and bool(part.thought) == bool(last.thought)
            and part.function_call is None
        ):
            merged[-1] = last.model_copy(update={"text": last.text + part.text})
        else:
            merged.append(part)
    return merged


def run_gemini_loop(
    base_url: str,
    *,
    stream: bool = False,
    recorder: Recorder | None = None,
    model: str = GEMINI_MODEL,
    api_version: str = "v1beta",
) -> str:
    """Run the loop with `google.genai.Client().models` at `base_url`; return the final text."""
    record = recorder or _ignore
    contents: list[types.Content] = [
        types.Content(role="user", parts=[types.Part.from_text(text=USER_PROMPT)])
    ]
    record(
        "input",
        system=SYSTEM_PROMPT,
        messages=[_dump(c) for c in contents],
    )
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM_PROMPT,
        tools=gemini_tools(),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    client = gemini_client(base_url, api_version=api_version)
    with client:
        for _ in range(MAX_TURNS):
            if stream:
                parts: list[types.Part] = []
                last = None
                for chunk in client.models.generate_content_stream(
                    model=model, contents=contents, config=config
                ):
                    last = chunk
                    for candidate in chunk.candidates or []:
                        parts.extend(candidate.content.parts or [] if candidate.content else [])
                if last is None:
                    raise RuntimeError("the stream sent no chunk")
                content = types.Content(role="model", parts=_merge_parts(parts))
                finish = last.candidates[0].finish_reason if last.candidates else None
                response = last
            else:
                response = client.models.generate_content(
                    model=model, contents=contents, config=config
                )
                candidate = response.candidates[0] if response.candidates else None
                content = (candidate and candidate.content) or types.Content(role="model")
                finish = candidate and candidate.finish_reason
            usage = response.usage_metadata
            record(
                "llm_call",
                model=model,
                provider="gcp.gemini",
                response_id=response.response_id,
                output=[_dump(content)],
                finish_reason=finish and str(finish.value),
                usage={
                    "input_tokens": usage and usage.prompt_token_count,
                    "output_tokens": usage and usage.candidates_token_count,
                },
            )
            contents.append(content)
            answers: list[types.Part] = []
            for part in content.parts or []:
                call = part.function_call
                if call is None or not call.name:
                    continue
                call_id = call.id
                arguments = dict(call.args or {})
                record("tool_call", id=call_id, name=call.name, args=arguments)
                result = run_tool(call.name, arguments)
                record("tool_result", id=call_id, name=call.name, output=result)
                answers.append(
                    types.Part(
                        function_response=types.FunctionResponse(
                            id=call.id, name=call.name, response={"result": result}
                        )
                    )
                )
            if not answers:
                text = "".join(part.text or "" for part in content.parts or [] if not part.thought)
                record("final", text=text)
                return text
            contents.append(types.Content(role="user", parts=answers))
    raise RuntimeError(f"no final answer after {MAX_TURNS} model calls")

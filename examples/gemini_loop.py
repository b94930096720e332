"""The article's tool loop on Gemini (``google-genai``), every step recorded with ``Trace``.

The loop sends ``contents`` with a ``system_instruction``; the model's content (thought parts,
text, ``functionCall`` parts) goes back into ``contents`` as it came, and the tool results as
``functionResponse`` parts in a ``user`` content, named after their tool (Gemini's call ``id`` is
optional: the loop answers with it when the model gave one). ``trace.step("llm_call",
response=resp)`` records the model call from the ``GenerateContentResponse``: the content in its
wire form, usage (thought tokens included), model version, response id, finish reason. With
``--stream`` the chunks go through ``trace.stream()``, which records the same ``llm_call`` when
the stream ends. ``otel-jsonl replay FILE --step N --format gemini`` gives back what the model
was sent at step N.

Against Gemini::

    export GEMINI_API_KEY=...
    python examples/gemini_loop.py traces/gemini_loop.jsonl [--stream]
    otel-jsonl show traces/gemini_loop.jsonl

In the tests (tests/test_examples.py) ``GOOGLE_GEMINI_BASE_URL`` points the client at a loopback
server that speaks the Gemini wire format, with a dummy key. ``GEMINI_MODEL`` picks the model
(default ``gemini-2.5-flash``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from google import genai
from google.genai import types

from otel_jsonl import Trace

MODEL = os.environ.get("GEMINI_MODEL", "gemini-2.5-flash")
SYSTEM_PROMPT = "You are a concise travel assistant. Use the tools; never guess the weather."
USER_PROMPT = "Plan a rainy-day afternoon in Lisbon: what is the weather, and what is on?"
MAX_TURNS = 8  # an agent loop always has a turn limit
CAP = 4096  # bytes of tool output the model sees; the trace caps at the same size


def get_weather(city: str) -> str:
    return json.dumps({"city": city, "conditions": "light rain", "temperature_c": 17})


def list_events(city: str) -> str:
    # Large on purpose (about 7 KB): a listings page bigger than the cap.
    rows = [
        f"{10 + i // 12}:{i % 12 * 5:02d} {city}: gallery, museum or fado #{i}" for i in range(160)
    ]
    return "\n".join(rows)


HANDLERS = {"get_weather": get_weather, "list_events": list_events}
CONFIG = types.GenerateContentConfig(
    system_instruction=SYSTEM_PROMPT,
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name=name,
                    description=f"{name.replace('_', ' ')} for a city",
                    parameters_json_schema={
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                )
                for name in HANDLERS
            ]
        )
    ],
    # The loop runs the tools itself (and records them): no automatic function calling.
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)


def cap(text: str, limit: int = CAP) -> str:
    """The first ``limit`` UTF-8 bytes of ``text``, cut on a character boundary."""
    return text.encode()[:limit].decode("utf-8", "ignore")


def wire(content: types.Content) -> dict[str, Any]:
    """A content as the API sends it: camelCase keys, no nulls."""
    dumped: dict[str, Any] = content.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def generate(client: genai.Client, trace: Trace, contents: list[Any], stream: bool) -> Any:
    """One model call, recorded as an ``llm_call``; returns the model's content."""
    if not stream:
        response = client.models.generate_content(model=MODEL, contents=contents, config=CONFIG)
        trace.step("llm_call", response=response, model=MODEL)
        candidate = response.candidates[0] if response.candidates else None
        return (candidate and candidate.content) or types.Content(role="model", parts=[])
    parts: list[types.Part] = []
    # trace.stream() hands every chunk through unchanged and records the llm_call at the end.
    chunks = client.models.generate_content_stream(model=MODEL, contents=contents, config=CONFIG)
    for chunk in trace.stream(chunks, model=MODEL):
        for candidate in chunk.candidates or []:
            for part in (candidate.content and candidate.content.parts) or []:
                last = parts[-1] if parts else None
                if (
                    last is not None
                    and part.text is not None
                    and last.text is not None
                    and bool(part.thought) == bool(last.thought)
                ):
                    parts[-1] = last.model_copy(update={"text": last.text + part.text})
                else:
                    parts.append(part)
    return types.Content(role="model", parts=parts)


def run(client: genai.Client, trace: Trace, prompt: str = USER_PROMPT, stream: bool = False) -> str:
    """Run the loop for ``prompt``, recording every step; return the final answer."""
    contents: list[Any] = [{"role": "user", "parts": [{"text": prompt}]}]
    # 1. The real prompt: replay and diff start here.
    trace.step("input", system=SYSTEM_PROMPT, messages=contents)
    for _ in range(MAX_TURNS):
        content = generate(client, trace, contents, stream)  # 2. the model call, recorded
        contents.append(wire(content))
        answers: list[Any] = []
        for part in content.parts or []:
            call = part.function_call
            if call is None or not call.name:
                continue
            args = dict(call.args or {})
            # 3. Gemini's call id is optional: recorded as given (None pairs by name and order).
            trace.step("tool_call", id=call.id, name=call.name, args=args)
            try:
                output = HANDLERS[call.name](**args)
            except Exception as exc:  # a failing tool is reported to the model, not fatal
                trace.error(exc, tool=call.name)
                output = f"error: {exc}"
            # 4. Capped at 4 KB in the trace and for the model alike.
            trace.step("tool_result", id=call.id, name=call.name, output=output)
            answer: dict[str, Any] = {"name": call.name, "response": {"result": cap(output)}}
            if call.id:
                answer["id"] = call.id
            answers.append({"functionResponse": answer})
        if not answers:
            text = "".join(p.text or "" for p in content.parts or [] if not p.thought)
            trace.step("final", text=text)
            return text
        contents.append({"role": "user", "parts": answers})
    raise RuntimeError(f"no final answer after {MAX_TURNS} turns")


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--stream"]
    path = args[0] if args else "traces/gemini_loop.jsonl"
    # GEMINI_API_KEY (or GOOGLE_API_KEY) and GOOGLE_GEMINI_BASE_URL are read by the client.
    client = genai.Client(http_options=types.HttpOptions(timeout=60_000))
    with client, Trace(path) as trace:
        answer = run(client, trace, stream="--stream" in sys.argv[1:])
    print(answer)
    print(f"run {trace.run_id}: {path} (dropped {trace.dropped})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

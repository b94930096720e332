"""The article's tool loop on the OpenAI Responses API, every step recorded with ``Trace``.

The loop sends ``instructions`` and ``input`` items; the model's output items (reasoning,
messages, ``function_call`` items whose ``call_id`` differs from their item id) go back into
``input`` as they came, and each tool result as a ``function_call_output`` with the call id.
``trace.step("llm_call", response=resp)`` records the model call from the ``Response`` itself:
output items, usage (with cached and reasoning tokens), model, response id, finish reason.
With ``--stream`` the events are iterated through ``trace.stream()``, which records the same
``llm_call`` when the stream ends. ``otel-jsonl replay FILE --step N --format responses``
gives back what the model was sent at step N.

Against OpenAI::

    export OPENAI_API_KEY=sk-...
    python examples/responses_loop.py traces/responses_loop.jsonl [--stream]
    otel-jsonl show traces/responses_loop.jsonl

In the tests (tests/test_examples.py) ``OPENAI_BASE_URL`` points the client at a loopback
server that speaks the Responses wire format, with a dummy key. ``OPENAI_MODEL`` picks the
model (default ``gpt-4.1-mini``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import openai

from otel_jsonl import Trace

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4.1-mini")
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
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": name,
        "description": f"{name.replace('_', ' ')} for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    for name in HANDLERS
]


def cap(text: str, limit: int = CAP) -> str:
    """The first ``limit`` UTF-8 bytes of ``text``, cut on a character boundary."""
    return text.encode()[:limit].decode("utf-8", "ignore")


def create(client: openai.OpenAI, trace: Trace, items: list[Any], stream: bool) -> Any:
    """One model call, recorded as an ``llm_call``; returns the ``Response``."""
    request: dict[str, Any] = {
        "model": MODEL,
        "instructions": SYSTEM_PROMPT,
        "input": items,
        "tools": TOOLS,
    }
    if not stream:
        response = client.responses.create(**request)
        trace.step("llm_call", response=response)
        return response
    final = None
    # trace.stream() hands every event through unchanged and records the llm_call at the end.
    with trace.stream(client.responses.create(**request, stream=True)) as events:
        for event in events:
            if event.type == "response.output_text.delta":
                print(event.delta, end="", file=sys.stderr, flush=True)
            elif event.type == "response.completed":
                final = event.response
    if final is None:
        raise RuntimeError("the stream ended without response.completed")
    return final


def run(
    client: openai.OpenAI, trace: Trace, prompt: str = USER_PROMPT, stream: bool = False
) -> str:
    """Run the loop for ``prompt``, recording every step; return the final answer."""
    items: list[Any] = [{"role": "user", "content": prompt}]
    # 1. The real prompt: replay and diff start here.
    trace.step("input", system=SYSTEM_PROMPT, messages=items)
    for _ in range(MAX_TURNS):
        response = create(client, trace, items, stream)  # 2. the model call, recorded
        output = [item.model_dump(exclude_none=True) for item in response.output]
        items.extend(output)  # the output items go back as they came (ids, reasoning)
        calls = [item for item in output if item["type"] == "function_call"]
        if not calls:
            trace.step("final", text=response.output_text)
            return str(response.output_text)
        for call in calls:
            name, call_id = call["name"], call["call_id"]
            args = json.loads(call["arguments"] or "{}")
            # 3. The call id (not the item id) pairs the call with its result.
            trace.step("tool_call", id=call_id, name=name, args=args)
            try:
                output_text = HANDLERS[name](**args)
            except Exception as exc:  # a failing tool is reported to the model, not fatal
                trace.error(exc, tool=name)
                output_text = f"error: {exc}"
            # 4. Capped at 4 KB in the trace and for the model alike.
            trace.step("tool_result", id=call_id, name=name, output=output_text)
            items.append(
                {"type": "function_call_output", "call_id": call_id, "output": cap(output_text)}
            )
    raise RuntimeError(f"no final answer after {MAX_TURNS} turns")


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--stream"]
    path = args[0] if args else "traces/responses_loop.jsonl"
    # OPENAI_API_KEY and OPENAI_BASE_URL are read by the client.
    client = openai.OpenAI(max_retries=2, timeout=60.0)
    with client, Trace(path) as trace:
        answer = run(client, trace, stream="--stream" in sys.argv[1:])
    print(answer)
    print(f"run {trace.run_id}: {path} (dropped {trace.dropped})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

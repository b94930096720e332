"""A hand-written OpenAI tool loop, every step recorded with ``otel_jsonl.Trace``.

The article's loop, done right: the real prompt is recorded (so a replay starts from it, not
from a placeholder), every tool call carries its call id (so it pairs with its result), a large
tool output is capped to 4 KB for the model and in the trace (the full value goes to the blob
store beside the trace), and the file is closed in a ``finally`` (the ``with`` block) so a
crash mid-loop still leaves a readable trace.

Against OpenAI::

    export OPENAI_API_KEY=sk-...
    python examples/openai_loop.py traces/openai_loop.jsonl
    otel-jsonl show traces/openai_loop.jsonl

In the tests (tests/test_examples.py) ``OPENAI_BASE_URL`` points the client at a loopback
server that speaks the OpenAI wire format, with a dummy key. ``OPENAI_MODEL`` picks the model
(default ``gpt-4o-mini``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import openai

from otel_jsonl import Trace

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
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
        "function": {
            "name": name,
            "description": f"{name.replace('_', ' ')} for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    for name in HANDLERS
]


def cap(text: str, limit: int = CAP) -> str:
    """The first ``limit`` UTF-8 bytes of ``text``, cut on a character boundary."""
    return text.encode()[:limit].decode("utf-8", "ignore")


def run(client: openai.OpenAI, trace: Trace, prompt: str = USER_PROMPT) -> str:
    """Run the loop for ``prompt``, recording every step; return the final answer."""
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": prompt},
    ]
    # 1. The real prompt: replay and diff start here.
    trace.step("input", messages=messages)
    for _ in range(MAX_TURNS):
        resp = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        msg = resp.choices[0].message.model_dump(exclude_none=True)
        usage = resp.usage
        # 2. What the model answered, in its own (OpenAI) form, with the tokens it cost.
        trace.step(
            "llm_call",
            model=MODEL,
            provider="openai",
            response_id=resp.id,
            output=[msg],
            finish_reason=resp.choices[0].finish_reason,
            usage={"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
            if usage
            else None,
        )
        messages.append(msg)
        if not msg.get("tool_calls"):
            trace.step("final", text=msg.get("content"))
            return str(msg.get("content") or "")
        for call in msg["tool_calls"]:
            name, call_id = call["function"]["name"], call["id"]
            args = json.loads(call["function"]["arguments"] or "{}")
            # 3. The call id pairs the call with its result.
            trace.step("tool_call", id=call_id, name=name, args=args)
            try:
                output = HANDLERS[name](**args)
            except Exception as exc:  # a failing tool is reported to the model, not fatal
                trace.error(exc, tool=name)
                output = f"error: {exc}"
            # 4. The recorder caps the output at 4 KB (full value in blobs/); the model gets
            #    the same 4 KB, so a replay sends exactly what the model saw.
            trace.step("tool_result", id=call_id, name=name, output=output)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": cap(output)})
    raise RuntimeError(f"no final answer after {MAX_TURNS} turns")


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "traces/openai_loop.jsonl"
    # OPENAI_API_KEY and OPENAI_BASE_URL are read by the client.
    client = openai.OpenAI(max_retries=2, timeout=60.0)
    # The with block closes the trace in a finally; an exception escaping it is recorded as an
    # error step first. The recorder never raises into the loop (see trace.dropped).
    with client, Trace(path) as trace:
        answer = run(client, trace)
    print(answer)
    print(f"run {trace.run_id}: {path} (dropped {trace.dropped})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

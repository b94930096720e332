"""The same tool loop with the Anthropic client, every step recorded with ``otel_jsonl.Trace``.

What differs from examples/openai_loop.py is only the provider's shape: the system prompt is
a top-level parameter (recorded as the ``input`` step's ``system``), tool calls are
``tool_use`` blocks whose ``id`` pairs with the ``tool_result`` block sent back in a user
message. The recording rules are the same: the real prompt, call ids, output capped to 4 KB
for the model and in the trace, the file closed in a ``finally`` (the ``with`` block).

Against Anthropic::

    export ANTHROPIC_API_KEY=sk-ant-...
    python examples/anthropic_loop.py traces/anthropic_loop.jsonl
    otel-jsonl show traces/anthropic_loop.jsonl

In the tests (tests/test_examples.py) ``ANTHROPIC_BASE_URL`` points the client at a loopback
server that speaks the Anthropic wire format, with a dummy key. ``ANTHROPIC_MODEL`` picks the
model (default ``claude-sonnet-4-6``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anthropic

from otel_jsonl import Trace

MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-6")
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
        "name": name,
        "description": f"{name.replace('_', ' ')} for a city",
        "input_schema": {
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


def run(client: anthropic.Anthropic, trace: Trace) -> str:
    messages: list[Any] = [{"role": "user", "content": USER_PROMPT}]
    # 1. The real prompt, system prompt included: replay and diff start here.
    trace.step("input", system=SYSTEM_PROMPT, messages=messages)
    for _ in range(MAX_TURNS):
        resp = client.messages.create(
            model=MODEL, max_tokens=1024, system=SYSTEM_PROMPT, messages=messages, tools=TOOLS
        )
        content = [block.model_dump(exclude_none=True) for block in resp.content]
        # 2. What the model answered, in its own (Anthropic) form, with the tokens it cost.
        trace.step(
            "llm_call",
            model=MODEL,
            provider="anthropic",
            response_id=resp.id,
            output=[{"role": "assistant", "content": content}],
            finish_reason=resp.stop_reason,
            usage={
                "input_tokens": resp.usage.input_tokens,
                "output_tokens": resp.usage.output_tokens,
            },
        )
        messages.append({"role": "assistant", "content": content})
        results: list[Any] = []
        for block in resp.content:
            if block.type != "tool_use":
                continue
            args: dict[str, Any] = dict(block.input) if isinstance(block.input, dict) else {}
            # 3. The tool_use id pairs the call with its result.
            trace.step("tool_call", id=block.id, name=block.name, args=args)
            try:
                output = HANDLERS[block.name](**args)
            except Exception as exc:  # a failing tool is reported to the model, not fatal
                trace.error(exc, tool=block.name)
                output = f"error: {exc}"
            # 4. Capped at 4 KB in the trace (full value in blobs/) and for the model.
            trace.step("tool_result", id=block.id, name=block.name, output=output)
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": cap(output)})
        if not results:
            text = "".join(block.text for block in resp.content if block.type == "text")
            trace.step("final", text=text)
            return text
        messages.append({"role": "user", "content": results})
    raise RuntimeError(f"no final answer after {MAX_TURNS} turns")


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "traces/anthropic_loop.jsonl"
    # ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL are read by the client.
    client = anthropic.Anthropic(max_retries=2, timeout=60.0)
    # The with block closes the trace in a finally; an exception escaping it is recorded as an
    # error step first. The recorder never raises into the loop (see trace.dropped).
    with client, Trace(path) as trace:
        answer = run(client, trace)
    print(answer)
    print(f"run {trace.run_id}: {path} (dropped {trace.dropped})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

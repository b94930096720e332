"""Replay a recorded step into a fresh model call, then diff two runs that differ.

Three things the trace file is for, in order:

1. Record run A with the loop of examples/openai_loop.py.
2. Replay: take the messages the model saw at A's last model call (``otel_jsonl.replay()``
   rebuilds them from the recorded prompt, the model's turns and the tool results, with their
   call ids), change one tool result, and send them to the model again: "what would it have
   said if the weather had been different?"
3. Record run B with an edited prompt, and diff A and B (``otel_jsonl.diff_runs()``): the
   first divergence, then every difference, as data.

The same from the command line: ``otel-jsonl replay A.jsonl --step N`` and
``otel-jsonl diff A.jsonl B.jsonl``.

Against OpenAI (five model calls)::

    export OPENAI_API_KEY=sk-...
    python examples/replay_and_diff.py traces/run_a.jsonl traces/run_b.jsonl

In the tests (tests/test_examples.py) ``OPENAI_BASE_URL`` points the client at a loopback
server that speaks the OpenAI wire format, with a dummy key.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import openai
from openai_loop import MODEL, TOOLS, USER_PROMPT, run  # the loop of examples/openai_loop.py

from otel_jsonl import Trace, diff_runs, read_events, replay

WHAT_IF = json.dumps({"city": "Lisbon", "conditions": "heavy snow", "temperature_c": -3})
EDITED_PROMPT = USER_PROMPT + " I love museums."


def last_llm_call(path: str) -> int:
    """The step (``seq``) of the run's last model call."""
    return max(int(ev["seq"]) for _, ev in read_events(path, kind="llm_call"))


def weather_call_id(path: str) -> str:
    """The call id of the run's get_weather tool call."""
    return next(
        str(ev["id"])
        for _, ev in read_events(path, kind="tool_call")
        if ev["name"] == "get_weather"
    )


def main() -> int:
    path_a = sys.argv[1] if len(sys.argv) > 1 else "traces/run_a.jsonl"
    path_b = sys.argv[2] if len(sys.argv) > 2 else "traces/run_b.jsonl"
    with openai.OpenAI(max_retries=2, timeout=60.0) as client:
        # 1. Run A.
        with Trace(path_a) as trace:
            print(f"A: {run(client, trace)}")

        # 2. The exact messages of A's last model call, in OpenAI form, ready to send again.
        step = last_llm_call(path_a)
        messages: list[Any] = replay(path_a, step, format="openai")
        print(f"replayed step {step}: {len(messages)} messages")
        call_id = weather_call_id(path_a)
        for message in messages:
            if message.get("role") == "tool" and message.get("tool_call_id") == call_id:
                message["content"] = WHAT_IF  # the "what if": a different tool result
        resp = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        print(f"what if: {resp.choices[0].message.content}")

        # 3. Run B, with an edited prompt.
        with Trace(path_b) as trace:
            print(f"B: {run(client, trace, prompt=EDITED_PROMPT)}")

    # Call ids are new on every run: ignore every "id" key (a dotted pattern, ** = any depth).
    result = diff_runs(path_a, path_b, ignore=["**.id"])
    if result.equal:
        print("A and B are equal")
        return 0
    first = result.first
    assert first is not None
    print(f"first divergence at step {first.step}: {first.kind} {first.path}")
    for d in result.differences:
        print(f"  {d.kind} step {d.step} {d.path}: {d.a!r} -> {d.b!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo: a scripted two-turn, tool-using agent loop against a built-in fake model.

No API key and no network: :class:`FakeModel` answers like a chat model would (a tool call on
the first turn, a final answer that uses the tool results on the second), and the loop records
every step with :class:`~otel_jsonl.Trace` exactly as a real loop should: the real prompt as an
``input`` step, call ids on tool calls, a large tool output capped to the blob store, and the
file closed in ``finally``. Standard library only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from .record.trace import Trace

__all__ = ["SYSTEM_PROMPT", "USER_PROMPT", "FakeModel", "run_demo"]

SYSTEM_PROMPT = "You are a concise travel assistant. Use the tools; never guess the weather."
USER_PROMPT = "Plan a rainy-day afternoon in Lisbon. What is the weather, and what is on?"
MODEL = "fake-travel-1"
PROVIDER = "otel-jsonl-fake"


def _tokens(messages: list[dict[str, Any]]) -> int:
    # A stable stand-in for a tokenizer: one token per four bytes of JSON.
    return max(1, len(json.dumps(messages)) // 4)


class FakeModel:
    """A deterministic chat model: asks for tools on turn one, answers on turn two."""

    def __init__(self, latency: float = 0.0) -> None:
        self.calls = 0
        self.latency = latency

    def complete(self, system: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Return ``{"message": ..., "usage": ..., "finish_reason": ..., "id": ...}`` with the
        assistant message in the GenAI parts form."""
        self.calls += 1
        if self.latency:
            time.sleep(self.latency)  # a model takes a while; the trace shows how long
        tool_results = [
            p for m in messages for p in m["parts"] if p.get("type") == "tool_call_response"
        ]
        if not tool_results:
            parts: list[dict[str, Any]] = [
                {"type": "text", "content": "Let me check the weather and the listings."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Lisbon"},
                },
                {
                    "type": "tool_call",
                    "id": "call_2",
                    "name": "list_events",
                    "arguments": {"city": "Lisbon", "date": "today"},
                },
            ]
            finish = "tool_call"
        else:
            weather = next(str(p["response"]) for p in tool_results if p["id"] == "call_1")
            parts = [
                {
                    "type": "text",
                    "content": (
                        f"The forecast says: {weather}. Spend the afternoon at the Gulbenkian "
                        "Museum, "
                        "then fado at 19:30 in Alfama (from the listings)."
                    ),
                }
            ]
            finish = "stop"
        message = {"role": "assistant", "parts": parts, "finish_reason": finish}
        usage = {
            "input_tokens": _tokens([{"system": system}, *messages]),
            "output_tokens": 9 * len(parts),
        }
        return {
            "message": message,
            "usage": usage,
            "finish_reason": finish,
            "id": f"fake-resp-{self.calls}",
        }


def _get_weather(city: str) -> str:
    return f"{city}: 17°C, light rain until 18:00"


def _list_events(city: str, date: str) -> str:
    # Large on purpose: a listing page bigger than the 4 KB cap, so the demo shows capping.
    rows = [
        f"{h:02d}:{m:02d} {city} event #{i} ({date}) — museum, gallery or fado house"
        for i, (h, m) in enumerate((10 + k // 4, (k % 4) * 15) for k in range(120))
    ]
    rows.insert(38, "19:30 Fado night in Alfama, Tasca do Chico")
    return "\n".join(rows)


TOOLS: dict[str, Callable[..., str]] = {"get_weather": _get_weather, "list_events": _list_events}


def run_demo(
    path: str | os.PathLike[str] = "traces/demo.jsonl",
    *,
    run_id: str | None = None,
    latency: float = 0.05,
) -> Trace:
    """Run the scripted loop, recording to ``path``; return the closed :class:`Trace`.

    ``latency`` is how long the fake model takes per call (seconds), so the trace has
    durations worth looking at; tools take a fifth of it.
    """
    model = FakeModel(latency)
    messages: list[dict[str, Any]] = [
        {"role": "user", "parts": [{"type": "text", "content": USER_PROMPT}]}
    ]
    with Trace(path, run_id=run_id) as trace:
        trace.step("input", system=SYSTEM_PROMPT, messages=messages, agent="travel-demo")
        for turn in range(4):  # bounded: an agent loop always has a turn limit
            started = time.time()
            reply = model.complete(SYSTEM_PROMPT, messages)
            msg = reply["message"]
            trace.step(
                "llm_call",
                start=started,
                turn=turn,
                model=MODEL,
                provider=PROVIDER,
                output=[msg],
                usage=reply["usage"],
                finish_reason=reply["finish_reason"],
                response_id=reply["id"],
            )
            messages.append(msg)
            calls = [p for p in msg["parts"] if p["type"] == "tool_call"]
            if not calls:
                text = "".join(p["content"] for p in msg["parts"] if p["type"] == "text")
                trace.step("final", text=text)
                break
            results = []
            for call in calls:
                trace.step("tool_call", name=call["name"], id=call["id"], args=call["arguments"])
                started = time.time()
                try:
                    time.sleep(latency / 5)
                    output = TOOLS[call["name"]](**call["arguments"])
                except Exception as exc:  # broad: a tool error goes back to the model
                    trace.error(exc, tool=call["name"])
                    output = f"error: {exc}"
                trace.step(
                    "tool_result", start=started, id=call["id"], name=call["name"], output=output
                )
                # What the model sees next turn is capped like the trace: 4 KB.
                results.append(
                    {
                        "type": "tool_call_response",
                        "id": call["id"],
                        "response": output.encode()[:4096].decode("utf-8", "ignore"),
                    }
                )
            messages.append({"role": "tool", "parts": results})
    return trace

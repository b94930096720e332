"""Benchmark: what recording from a provider's response object and wrapping a stream cost.

Variants, interleaved in every repetition (order shuffled), each recording N model calls to a
fresh file with ``Trace`` (defaults):

- ``fields``: ``trace.step("llm_call", model=..., output=..., usage=...)`` with the fields a
  loop writes by hand (the baseline);
- ``responses``: ``trace.step("llm_call", response=r)`` with an OpenAI Responses ``Response``
  object (reasoning, message and function_call items);
- ``gemini``: the same with a google-genai ``GenerateContentResponse``;
- ``responses-stream`` / ``gemini-stream``: iterating the call's stream (Responses events, Gemini
  chunks; real SDK objects, parsed beforehand) through ``trace.stream()``, which records the
  ``llm_call`` at the end, against iterating it bare and recording by hand (``*-bare``).

The objects are built by the SDKs from the loopback server's wire format (tests/support), so
no network is used. Prints the median microseconds per model call and the median of
per-repetition ratios to ``fields`` (and of each stream variant to its bare twin). Usage:
``python bench/responses.py [--reps 15] [--calls 500]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.genai import types as gtypes
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import gemini_wire, responses_wire

from otel_jsonl import Trace

TEXT = "Checking the weather in Lisbon for you, one moment. " * 2
CALLS = [("get_weather", {"city": "Lisbon"}, "call_1", 1)]
BODY: dict[str, Any] = {"model": "gpt-4.1-mini", "input": "hi"}


def build() -> dict[str, Any]:
    output = responses_wire.output_items(1, TEXT, CALLS, "The user wants the weather.")
    response = Response.model_validate(
        responses_wire.response_object(1, BODY, output, (40, 7, 5), created=1_700_000_000)
    )
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    events = [
        adapter.validate_python(json.loads(data))
        for _, data in responses_wire.response_events(
            1, BODY, output, (40, 7, 5), created=1_700_000_000
        )
    ]
    calls = [(name, args, None) for name, args, _, _ in CALLS]
    gemini = gtypes.GenerateContentResponse.model_validate(
        gemini_wire.response_object(1, "gemini-2.5-flash", TEXT, calls, (40, 7, 5), thought="t")
    )
    chunks = [
        gtypes.GenerateContentResponse.model_validate(json.loads(data))
        for data in gemini_wire.chunks(1, "gemini-2.5-flash", TEXT, calls, (40, 7, 5), thought="t")
    ]
    fields = {
        "model": "gpt-4.1-mini",
        "provider": "openai",
        "response_id": "resp_1",
        "output": [item.model_dump(exclude_none=True) for item in response.output],
        "finish_reason": "tool_call",
        "usage": {"input_tokens": 40, "output_tokens": 7},
    }
    return {
        "response": response,
        "events": events,
        "gemini": gemini,
        "chunks": chunks,
        "fields": fields,
    }


def variants(data: dict[str, Any]) -> dict[str, Callable[[Trace], None]]:
    def fields(trace: Trace) -> None:
        trace.step("llm_call", **data["fields"])

    def responses(trace: Trace) -> None:
        trace.step("llm_call", response=data["response"])

    def gemini(trace: Trace) -> None:
        trace.step("llm_call", response=data["gemini"], model="gemini-2.5-flash")

    def responses_bare(trace: Trace) -> None:
        final = None
        for event in data["events"]:
            if event.type == "response.completed":
                final = event.response
        assert final is not None
        trace.step("llm_call", **data["fields"])

    def responses_stream(trace: Trace) -> None:
        for _ in trace.stream(data["events"]):
            pass

    def gemini_bare(trace: Trace) -> None:
        for _ in data["chunks"]:
            pass
        trace.step("llm_call", **data["fields"])

    def gemini_stream(trace: Trace) -> None:
        for _ in trace.stream(data["chunks"], model="gemini-2.5-flash"):
            pass

    return {
        "fields": fields,
        "responses": responses,
        "gemini": gemini,
        "responses-bare": responses_bare,
        "responses-stream": responses_stream,
        "gemini-bare": gemini_bare,
        "gemini-stream": gemini_stream,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    data = build()
    runs = variants(data)
    times: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            order = list(runs)
            random.shuffle(order)
            for name in order:
                path = Path(tmp) / f"{name}-{rep}.jsonl"
                with Trace(path, fsync="never") as trace:
                    start = time.perf_counter()
                    for _ in range(args.calls):
                        runs[name](trace)
                    elapsed = time.perf_counter() - start
                times[name].append(elapsed / args.calls * 1e6)
                path.unlink()
    base = {"responses-stream": "responses-bare", "gemini-stream": "gemini-bare"}
    print(f"{'variant':18} {'us/call':>9} {'ratio':>7}  (vs)")
    for name, series in times.items():
        against = base.get(name, "fields")
        ratio = statistics.median(a / b for a, b in zip(series, times[against], strict=True))
        print(f"{name:18} {statistics.median(series):9.1f} {ratio:7.2f}  ({against})")
    print(
        f"events per Responses stream: {len(data['events'])}, Gemini chunks: {len(data['chunks'])}"
    )


if __name__ == "__main__":
    main()

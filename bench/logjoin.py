"""Benchmark the read-time join of log-record content: ``read_run`` of a run whose message
content sits in ``log`` lines after the spans, against the same run joined when written.

    .venv/bin/python bench/logjoin.py [--calls 2000] [--repeat 7]

The run has N model calls shaped like openai-v2 ``EVENT_ONLY`` output (one operation-details
record per call, the conversation growing by two messages a call, capped at 20 messages).
``joined`` has the content on the ``llm_call`` lines (the write-time joiner's output);
``spans-first`` has content-free ``llm_call`` lines, then every ``log`` line. Three timings,
interleaved: ``read_run`` of each file, and ``join_steps`` alone on the spans-first file's
steps (already read). The script prints medians, the ratio of the two reads, and the join's
cost per model call, and checks that both files give the same steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from otel_jsonl.read.lines import paused_gc, read_events
from otel_jsonl.read.runs import Step, join_steps, read_run, step_events

TRACE = "ab" * 16


def _messages(i: int) -> list[dict[str, Any]]:
    out = [{"role": "system", "parts": [{"type": "text", "content": "You are terse."}]}]
    for j in range(min(i, 9)):
        out.append(
            {"role": "assistant", "parts": [{"type": "tool_call", "id": f"c{j}", "name": "t"}]}
        )
        out.append(
            {
                "role": "tool",
                "parts": [{"type": "tool_call_response", "id": f"c{j}", "response": "ok"}],
            }
        )
    return out


def make_files(calls: int, folder: Path) -> tuple[Path, Path]:
    """The joined file and the spans-first file of one run of ``calls`` model calls."""
    spans: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    joined: list[dict[str, Any]] = []
    for i in range(calls):
        span_id = f"{i + 1:016x}"
        base = {"ts": 1.0 + i, "run": TRACE, "seq": i, "kind": "llm_call", "trace_id": TRACE}
        step = {**base, "span_id": span_id, "model": "m", "otel": {"name": "chat m"}}
        content = {
            "input": _messages(i),
            "output": [{"role": "assistant", "parts": [{"type": "text", "content": "x" * 40}]}],
        }
        spans.append(step)
        joined.append({**step, **content, "otel": {"name": "chat m", "logs": ["d"]}})
        logs.append(
            {
                "ts": 0.5 + i,
                "run": TRACE,
                "kind": "log",
                "trace_id": TRACE,
                "span_id": span_id,
                "event": "gen_ai.client.inference.operation.details",
                **content,
            }
        )
    a, b = folder / "joined.jsonl", folder / "spans-first.jsonl"
    a.write_text("".join(json.dumps(ev) + "\n" for ev in joined))
    b.write_text("".join(json.dumps(ev) + "\n" for ev in spans + logs))
    return a, b


def timed(path: Path) -> float:
    began = time.perf_counter()
    read_run(path)
    return time.perf_counter() - began


def timed_join(steps: list[Step]) -> float:
    with paused_gc():  # as read_run joins
        began = time.perf_counter()
        join_steps(steps)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        joined, spans_first = make_files(args.calls, Path(tmp))
        a, b = read_run(joined), read_run(spans_first)
        same = [s.event.get("input") for s in a.steps] == [s.event.get("input") for s in b.steps]
        assert same and len(b.steps) == args.calls, "the two files must read the same"
        with paused_gc():
            steps = [st for st in step_events(read_events(spans_first)) if st.step >= 0]
        times: dict[str, list[float]] = {"joined": [], "spans-first": [], "join only": []}
        for _ in range(args.repeat):
            times["joined"].append(timed(joined))
            times["spans-first"].append(timed(spans_first))
            times["join only"].append(timed_join(steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    size = spans_first.name
    print(f"read_run of one run with {args.calls} model calls ({size}), median of {args.repeat}:")
    for name, value in med.items():
        print(f"  {name:<12} {value * 1e3:8.1f} ms  {args.calls / value:10.0f} calls/s")
    print(f"  spans-first / joined: {med['spans-first'] / med['joined']:.2f}x")
    print(f"  the join alone: {med['join only'] / args.calls * 1e6:.1f} us per model call")


if __name__ == "__main__":
    main()

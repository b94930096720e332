"""Benchmark replay of the last step and diff of two runs: steps per second and peak memory.

    .venv/bin/python bench/replay.py [--sizes 1000,10000,100000]

Each size N writes a run of N steps (llm_call, tool_call, tool_result, repeated), replays its
last llm_call (OpenAI format), and diffs it against a copy with one changed tool argument in
the middle and one inserted step. Time is measured without tracing; peak memory in a second
run under tracemalloc. Both must grow linearly with N: the "per step" columns should stay flat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otel_jsonl.analyze.diff import diff_runs
from otel_jsonl.analyze.replay import replay


def make_run(
    run: str, n: int, *, change: int | None = None, insert: int | None = None
) -> list[Any]:
    events: list[dict[str, Any]] = [
        {
            "ts": 0.0,
            "run": run,
            "kind": "input",
            "system": "S",
            "messages": [{"role": "user", "content": "go"}],
        }
    ]
    i = 0
    while len(events) < n:
        call = f"call_{i}"
        city = (
            "Changed"
            if change is not None and len(events) >= change and i == change // 3
            else f"c{i}"
        )
        events.append(
            {
                "ts": 0.0,
                "run": run,
                "kind": "llm_call",
                "model": "gpt-4o-mini",
                "usage": {"input_tokens": 10, "output_tokens": 5},
                "output": [
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": call,
                                "name": "get_weather",
                                "arguments": {"city": city},
                            }
                        ],
                    }
                ],
            }
        )
        events.append(
            {
                "ts": 0.0,
                "run": run,
                "kind": "tool_call",
                "name": "get_weather",
                "id": call,
                "args": {"city": city},
            }
        )
        events.append(
            {
                "ts": 0.0,
                "run": run,
                "kind": "tool_result",
                "id": call,
                "name": "get_weather",
                "output": f"{city}: 18C",
            }
        )
        i += 1
    events = events[:n]
    if change is not None:
        at = next(k for k in range(change, n) if events[k]["kind"] == "tool_call")
        events[at]["args"] = {"city": "Changed"}
    if insert is not None:
        events.insert(insert, {"ts": 0.0, "run": run, "kind": "error", "message": "inserted"})
    for seq, ev in enumerate(events):
        ev["seq"] = seq
        ev["ts"] = float(seq)
    return events


def write(path: Path, events: list[Any]) -> None:
    with path.open("w") as f:
        for ev in events:
            f.write(json.dumps(ev) + "\n")


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'op':<8} {'steps':>8} {'median s':>9} {'steps/s':>11} {'peak MB':>8} "
        f"{'us/step':>8} {'KB/step':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            a, b = Path(tmp) / f"a{n}.jsonl", Path(tmp) / f"b{n}.jsonl"
            write(a, make_run("aaaaaaaa", n))
            write(b, make_run("bbbbbbbb", n, change=n // 2, insert=n // 4))
            last = max(i for i in range(n) if i % 3 == 1)
            repeat = 5 if n <= 10_000 else 1
            for op, fn in (
                ("replay", lambda a=a, last=last: replay(a, last)),
                ("diff", lambda a=a, b=b: diff_runs(a, b)),
            ):
                secs, peak = measure(fn, repeat)
                steps = n if op == "replay" else 2 * n
                print(
                    f"{op:<8} {n:>8} {secs:>9.3f} {steps / secs:>11,.0f} {peak:>8.1f} "
                    f"{secs / steps * 1e6:>8.2f} {peak * 1000 / steps:>8.2f}"
                )
            result = diff_runs(a, b)
            kinds = sorted({d.kind for d in result.differences})
            print(f"         diff found {len(result.differences)} differences ({', '.join(kinds)})")


if __name__ == "__main__":
    main()

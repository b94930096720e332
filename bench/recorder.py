"""Benchmark: cost per step of the recorder against the article's twelve-line recorder.

Variants, interleaved in every repetition (order shuffled), each writing N steps to a fresh file:
- ``article``: the article's recorder (copied below, its lost ``**`` restored): ``json.dumps`` and
  a line-buffered text file;
- ``trace``: ``otel_jsonl.Trace`` with defaults (cap and redaction on), orjson present;
- ``trace-stdlib``: the same with the standard-library encoder (orjson switched off);
- ``trace-noredact``: ``Trace`` with ``redact=False`` (what the secret screen costs);
- ``raw``: ``os.write`` of a prebuilt line on an O_APPEND descriptor (the floor).

With ``--durability`` the variants are the fsync policies instead (``never`` = ``trace``,
every 100 lines, every line), to document what durability costs.

Payloads: a ~200 B step, a ~2 KB llm_call, a ~4 KB tool_result (under the 4 KB cap, so the
line is written whole, as the article writes it). Prints the median microseconds per step and
the median of per-repetition ratios to the article. Usage: ``python bench/recorder.py [--reps
15] [--steps 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from otel_jsonl import Trace
from otel_jsonl.record import codec as _codec


class ArticleTrace:
    """The article's recorder, as published (with ``**fields`` restored)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = self.path.open("a", buffering=1)  # line-buffered
        self.run_id = str(uuid.uuid4())[:8]

    def step(self, kind: str, **fields: Any) -> None:
        self.f.write(
            json.dumps({"ts": time.time(), "run": self.run_id, "kind": kind, **fields}) + "\n"
        )

    def close(self) -> None:
        self.f.close()


def payloads() -> dict[str, tuple[str, dict[str, Any]]]:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "while",
        "planning",
        "a",
        "trip",
        "to",
        "lisbon",
    ]
    rng = random.Random(7)

    def text(n: int) -> str:
        out: list[str] = []
        size = 0
        while size < n:
            w = rng.choice(words)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)[:n]

    small = (
        "tool_call",
        {
            "name": "get_weather",
            "id": "call_abc123",
            "args": {"city": "Lisbon", "units": "metric", "days": 3},
        },
    )
    llm = (
        "llm_call",
        {
            "turn": 2,
            "model": "gpt-4o-mini",
            "provider": "openai",
            "output": [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": text(1700)}],
                    "finish_reason": "stop",
                }
            ],
            "usage": {"input_tokens": 1234, "output_tokens": 321, "total_tokens": 1555},
            "finish_reason": "stop",
            "response_id": "chatcmpl-123",
        },
    )
    tool = ("tool_result", {"id": "call_abc123", "name": "read_file", "output": text(3900)})
    return {"200B step": small, "2KB llm_call": llm, "4KB tool_result": tool}


def time_variant(variant: str, kind: str, fields: dict[str, Any], steps: int, tmp: Path) -> float:
    """Seconds per step for one variant writing ``steps`` steps to a new file."""
    path = tmp / f"{variant}-{uuid.uuid4().hex}.jsonl"
    if variant == "raw":
        line = json.dumps({"ts": time.time(), "run": "r", "kind": kind, **fields}).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        t0 = time.perf_counter()
        for _ in range(steps):
            os.write(fd, line)
        elapsed = time.perf_counter() - t0
        os.close(fd)
    elif variant == "article":
        a = ArticleTrace(path)
        t0 = time.perf_counter()
        for _ in range(steps):
            a.step(kind, **fields)
        elapsed = time.perf_counter() - t0
        a.close()
    else:
        saved = _codec.dumps_line
        if variant == "trace-stdlib":
            _codec.dumps_line = lambda v: _codec._dumps_std(v) + b"\n"  # type: ignore[assignment]
        try:
            policy: Any = "never"
            if variant.startswith("fsync-"):
                tail = variant.removeprefix("fsync-")
                policy = int(tail) if tail.isdigit() else tail
            t = Trace(path, fsync=policy, redact=variant != "trace-noredact")
            t0 = time.perf_counter()
            for _ in range(steps):
                t.step(kind, **fields)
            elapsed = time.perf_counter() - t0
            t.close()
            assert t.dropped == 0
        finally:
            _codec.dumps_line = saved  # type: ignore[assignment]
    path.unlink()
    return elapsed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument(
        "--durability",
        action="store_true",
        help="compare fsync policies instead: never, every 100 lines, every line",
    )
    args = parser.parse_args()
    variants = ["article", "trace", "trace-stdlib", "trace-noredact", "raw"]
    if args.durability:
        variants = ["article", "trace", "fsync-100", "fsync-line"]
    print(f"orjson: {_codec.HAVE_ORJSON}; {args.reps} reps x {args.steps} steps, interleaved")
    print(
        f"{'payload':<16} {'variant':<13} {'median µs':>10} "
        f"{'ratio to article (median of reps)':>34}"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, (kind, fields) in payloads().items():
            times: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(args.reps):
                order = variants[:]
                random.shuffle(order)
                for v in order:
                    times[v].append(time_variant(v, kind, fields, args.steps, tmp))
            for v in variants:
                med = statistics.median(times[v]) * 1e6
                ratio = statistics.median(
                    x / a for x, a in zip(times[v], times["article"], strict=False)
                )
                print(f"{name:<16} {v:<13} {med:>10.2f} {ratio:>34.2f}")


if __name__ == "__main__":
    main()

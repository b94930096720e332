"""What the hardening of issue 15 costs and saves, with medians of interleaved repetitions.

1. Nothing listening: time until ``convert --endpoint`` says "connection refused" (the issue
   measured 49 s before, with a vague message; target: a few seconds), and the time of one
   attempt through the SDK exporter alone (the old path: its inner retries) against one attempt
   through the recording session.
2. The codec's NaN check: ``dumps_line`` of a step with a ``null`` in it (the only lines that are
   checked for a hidden NaN) and without, against the old ``dumps_line`` (orjson alone).
3. Opening a trace: ``Trace(path)`` + one step + ``close()`` with the new directory and mode
   checks, against the same with ``os.open`` and ``os.write`` alone.

Usage: python bench/hardening.py [--reps 9]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from otel_jsonl import Trace
from otel_jsonl.otel.ship import Attempts, RetryPolicy, Shipper, make_span_exporter
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events
from otel_jsonl.record import codec


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_to_refused(trace: Path, port: int) -> float:
    """Seconds from start until the CLI prints "connection refused" (default options)."""
    cli = str(Path(sys.executable).parent / "otel-jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [cli, "convert", str(trace), "--endpoint", f"http://127.0.0.1:{port}"],
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    seen = b""
    try:
        while b"connection refused" not in seen and time.perf_counter() - t0 < 60:
            ready, _, _ = select.select([proc.stderr], [], [], 0.05)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def one_attempt(spans: list[object], port: int, *, recording: bool) -> float:
    """Seconds for one export attempt to a closed port."""
    attempts = Attempts() if recording else None
    exporter = make_span_exporter(f"http://127.0.0.1:{port}", attempts=attempts)
    shipper = Shipper(exporter, retry=RetryPolicy(attempts=1), attempts=attempts)
    t0 = time.perf_counter()
    shipper.add_all(spans)  # type: ignore[arg-type]
    report = shipper.close()
    elapsed = time.perf_counter() - t0
    assert report.spans_failed == len(spans)
    return elapsed


def per_call(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "demo.jsonl"
        from otel_jsonl.demo import run_demo

        run_demo(trace, run_id="bench015")
        spans = list(events_to_spans(read_events(trace)))
        port = closed_port()

        refused = [time_to_refused(trace, port) for _ in range(max(3, args.reps // 3))]
        print("1. nothing listening")
        print(
            f"   convert --endpoint, default options: 'connection refused' printed after "
            f"{statistics.median(refused):.2f} s (median of {len(refused)}; issue: 49 s before, "
            "target: a few seconds)"
        )
        old, new = [], []
        for _ in range(3):
            old.append(one_attempt(spans, port, recording=False))
            new.append(one_attempt(spans, port, recording=True))
        mo, mn = statistics.median(old), statistics.median(new)
        print(
            f"   one attempt: SDK exporter alone {mo:.2f} s, with the recording session "
            f"{mn:.3f} s (x{mo / mn:.0f} quicker)"
        )

        step = {
            "ts": 1764300000.123,
            "run": "1a2b3c4d",
            "seq": 3,
            "kind": "llm_call",
            "model": "gpt-4o-mini",
            "output": [{"role": "assistant", "content": "The weather in Lisbon is sunny. " * 8}],
            "usage": {"input_tokens": 812, "output_tokens": 64},
            "finish_reason": "stop",
        }
        with_null = {**step, "response_id": None}
        n = 20_000

        dumps, jsonable, opts = orjson.dumps, codec.jsonable, codec._OPTS_LINE

        def old_line(value: object) -> bytes:  # dumps_line as it was before the NaN check
            try:
                out: bytes = dumps(value, default=jsonable, option=opts)
            except orjson.JSONEncodeError:
                return codec._dumps_std(value) + b"\n"
            return out

        rows: dict[str, list[float]] = {
            "old, no null": [],
            "new, no null": [],
            "old, null": [],
            "new, null": [],
        }
        for _ in range(args.reps):
            rows["old, no null"].append(per_call(lambda: old_line(step), n))
            rows["new, no null"].append(per_call(lambda: codec.dumps_line(step), n))
            rows["old, null"].append(per_call(lambda: old_line(with_null), n))
            rows["new, null"].append(per_call(lambda: codec.dumps_line(with_null), n))
        print("2. codec dumps_line (per line; old = orjson alone, NaN silently null)")
        for kind in ("no null", "null"):
            o = statistics.median(rows[f"old, {kind}"])
            m = statistics.median(rows[f"new, {kind}"])
            print(f"   {kind:<8} old {o * 1e6:5.2f} us  new {m * 1e6:5.2f} us  x{m / o:.2f}")

        def with_trace() -> None:
            with Trace(Path(tmp) / "t.jsonl", redact=False) as t:
                t.step("final", text="x")

        def raw() -> None:
            fd = os.open(Path(tmp) / "r.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, b'{"ts":1,"run":"r","seq":0,"kind":"final","text":"x"}\n')
            os.fsync(fd)
            os.close(fd)

        opened: dict[str, list[float]] = {"os.open+write+fsync": [], "Trace open+step+close": []}
        for _ in range(args.reps):
            opened["os.open+write+fsync"].append(per_call(raw, 200))
            opened["Trace open+step+close"].append(per_call(with_trace, 200))
        base = statistics.median(opened["os.open+write+fsync"])
        print("3. opening a trace (fsync on close, as the default)")
        for name, values in opened.items():
            m = statistics.median(values)
            print(f"   {name:<22} {m * 1e6:8.1f} us  x{m / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``show -f`` throughput: how fast a follower draws lines appended to a trace.

Writes ``--lines`` steps (the demo run's steps over and over) to a trace file that a running
``otel-jsonl show -f`` follows, appending in bursts, and measures from the first write until
the follower has drawn the last step. Prints lines per second, median of ``--reps`` runs,
against the performance issue's target (>= 10,000 lines/s), and beside it the baseline measured
in the same run, interleaved: ``otel-jsonl show FILE`` drawing the same steps from a file that
is already written (the rendering alone, no following).

Usage: python bench/follow.py [--lines 100000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otel_jsonl.demo import run_demo  # noqa: E402


def _payload(lines: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.jsonl"
        run_demo(str(path), run_id="follow01")
        steps = [json.loads(x) for x in path.read_text().splitlines()]
    steps = [s for s in steps if s["kind"] != "blob_ref"]
    out = []
    for i in range(lines):
        ev = dict(steps[i % len(steps)], seq=i, ts=1.7e9 + i * 0.001)
        out.append(json.dumps(ev, ensure_ascii=False) + "\n")
    return "".join(out).encode()


def run_once(payload: bytes, lines: int, burst: int = 1 << 16) -> float:
    """Seconds from the first appended byte until ``show -f`` printed the last step."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "live.jsonl"
        path.touch()
        proc = subprocess.Popen(
            [sys.executable, "-m", "otel_jsonl", "show", "-f", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        time.sleep(1.0)  # let it start and reach its first poll
        start = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        for i in range(0, len(payload), burst):
            os.write(fd, payload[i : i + burst])
        os.close(fd)
        deadline = start + 600
        last = f"{lines - 1:>5} ".encode()
        for row in proc.stdout:
            if row.startswith(last) or time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - start
        proc.terminate()
        proc.wait(timeout=30)
    return elapsed


def run_static(payload: bytes, lines: int) -> float:
    """Seconds for ``show FILE`` (the file already written) to print the last step."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "done.jsonl"
        path.write_bytes(payload)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "otel_jsonl", "show", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        last = f"{lines - 1:>5} ".encode()
        for row in proc.stdout:
            if row.startswith(last):
                break
        elapsed = time.perf_counter() - start
        proc.terminate()
        proc.wait(timeout=30)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    payload = _payload(args.lines)
    times, static = [], []
    for _ in range(args.reps):  # interleaved, so both see the same machine
        times.append(run_once(payload, args.lines))
        static.append(run_static(payload, args.lines))
    med, base = statistics.median(times), statistics.median(static)
    print(f"show -f drew {args.lines:,} appended steps in {med:.2f} s (median of {args.reps})")
    print(
        f"{args.lines / med:,.0f} lines/s (target >= 10,000); baseline show FILE "
        f"{args.lines / base:,.0f} lines/s, follow/static time x{med / base:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

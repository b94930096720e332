"""Benchmark: ``otel-jsonl ship --follow`` while a writer appends, and its memory with the
backend down.

1. **Lag**: a writer process appends ``--rate`` steps per second (default 1,000; runs of 10
   ``llm_call`` steps and a ``final``) for ``--seconds`` (default 10) to a rotating file
   (``--max-mb``, default 1) while ``otel-jsonl ship --follow`` sends to an OTLP/HTTP receiver
   on 127.0.0.1. The lag of a span is the time the receiver got it minus the time its step was
   written (the span's end time is the step's ``ts``). Median and p99 per repetition; the
   median over ``--reps`` repetitions is printed beside the target.
2. **Memory with the backend down**: the receiver answers 503 to everything while a writer
   appends one run of ``--steps`` steps (default 100,000) as fast as it can; the shipper's
   resident set is sampled (``VmRSS``) as the file grows, and its peak (``VmHWM``) is printed
   beside the target (flat, under 100 MB).

3. **What rotation costs the recorder**: microseconds per ``Trace.step`` (a ~300 B step) with
   rotation off, on but not due (100 MB), and rotating often (256 KB, gzip), interleaved in
   every repetition; medians and the ratio to rotation off.

Usage: ``python bench/ship.py [--reps 3] [--rate 1000] [--seconds 10] [--steps 100000]
[--skip-lag] [--skip-memory]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.otlp_receiver import OtlpReceiver

WRITER = textwrap.dedent(
    """
    import sys, time
    from otel_jsonl import RotationPolicy, Trace
    path = sys.argv[1]
    rate, seconds, max_mb = (float(a) for a in sys.argv[2:5])
    policy = RotationPolicy(max_bytes=int(max_mb * 1024 * 1024)) if max_mb else None
    start = time.monotonic()
    n = 0
    run = 0
    while time.monotonic() - start < seconds:
        t = Trace(path, run_id=f"bench-{run}", rotate=policy, fsync="never")
        for i in range(11):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if i < 10:
                t.step("llm_call", model="m", content="x" * 200, usage={"input_tokens": 5})
            else:
                t.step("final", text="done")
            n += 1
        t.close()
        run += 1
    print(n)
    """
)

BIG_WRITER = textwrap.dedent(
    """
    import sys
    from otel_jsonl import Trace
    path, steps = sys.argv[1], int(sys.argv[2])
    t = Trace(path, run_id="big-run", fsync="never")
    for i in range(steps):
        t.step("llm_call", model="m", content="x" * 200, usage={"input_tokens": 5})
    t.step("final", text="done")
    t.close()
    """
)


class TimedReceiver(OtlpReceiver):
    """Keeps, for each accepted span, the time it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def _handle(self, handler: Any) -> None:
        super()._handle(handler)
        now = time.time()
        with self._lock:
            self.arrivals.extend([now] * (len(self.spans) - len(self.arrivals)))


def ship_cmd(path: Path, endpoint: str, checkpoint: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "otel_jsonl",
        "ship",
        str(path),
        "--follow",
        "--endpoint",
        endpoint,
        *(["--checkpoint", str(checkpoint)] if os.environ.get("BENCH_CP", "1") == "1" else []),
        "--status",
        "0",
        "-q",
        "--timeout",
        "2",
        "--max-backoff",
        "1",
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def lag_once(rate: float, seconds: float, max_mb: float) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp, TimedReceiver() as receiver:
        path = Path(tmp) / "traces" / "agent.jsonl"
        path.parent.mkdir()
        shipper = subprocess.Popen(ship_cmd(path, receiver.endpoint, Path(tmp) / "cp.json"))
        time.sleep(1.0)  # let the shipper start before the clock runs
        writer = subprocess.run(
            [sys.executable, "-c", WRITER, str(path), str(rate), str(seconds), str(max_mb)],
            capture_output=True,
            text=True,
            check=True,
        )
        steps = int(writer.stdout)
        runs = -(-steps // 11)
        want = steps - runs + runs  # 10 llm spans + 1 root per run
        deadline = time.monotonic() + 60
        while len(receiver.spans) < want and time.monotonic() < deadline:
            time.sleep(0.05)
        shipper.send_signal(signal.SIGTERM)
        shipper.wait(30)
        with receiver._lock:
            lags = [
                arrival - span.end_time_unix_nano / 1e9
                for span, arrival in zip(receiver.spans, receiver.arrivals, strict=True)
            ]
        return statistics.median(lags), percentile(lags, 0.99), len(lags)


def rss_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_down(steps: int) -> tuple[int, list[tuple[int, int]]]:
    with tempfile.TemporaryDirectory() as tmp, OtlpReceiver() as receiver:
        receiver.fail_next(10**9)
        path = Path(tmp) / "agent.jsonl"
        path.touch()
        shipper = subprocess.Popen(
            ship_cmd(path, receiver.endpoint, Path(tmp) / "cp.json"), stderr=subprocess.DEVNULL
        )
        samples: list[tuple[int, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                size = path.stat().st_size if path.exists() else 0
                samples.append((size, rss_kb(shipper.pid, "VmRSS")))
                stop.wait(0.25)

        sampler = threading.Thread(target=sample)
        sampler.start()
        time.sleep(1.0)
        subprocess.run([sys.executable, "-c", BIG_WRITER, str(path), str(steps)], check=True)
        time.sleep(3.0)  # the shipper keeps retrying against the refusing backend
        peak = rss_kb(shipper.pid, "VmHWM")
        stop.set()
        sampler.join()
        shipper.send_signal(signal.SIGTERM)
        shipper.wait(30)
        return peak, samples


def recorder_cost(reps: int, steps: int) -> None:
    from otel_jsonl import RotationPolicy, Trace

    variants: dict[str, RotationPolicy | None] = {
        "off": None,
        "on, not due (100 MB)": RotationPolicy(max_bytes=100 * 1024 * 1024),
        "rotating (256 KB, gzip)": RotationPolicy(max_bytes=256 * 1024, compress=True),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, policy in variants.items():
            with tempfile.TemporaryDirectory() as tmp:
                t = Trace(Path(tmp) / "t.jsonl", rotate=policy, fsync="never")
                began = time.perf_counter()
                for i in range(steps):
                    t.step("llm_call", model="m", content="x" * 200, i=i)
                elapsed = time.perf_counter() - began
                t.close()
            times[name].append(elapsed / steps * 1e6)
    base = statistics.median(times["off"])
    print(f"recorder, us per step (median of {reps} reps, {steps} steps each):")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  rotation {name:<24} {med:6.1f} us  x{med / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-mb", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--skip-lag", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")

    recorder_cost(max(args.reps, 5), 5000)
    medians, p99s = [], []
    for rep in range(0 if args.skip_lag else args.reps):
        med, p99, n = lag_once(args.rate, args.seconds, args.max_mb)
        medians.append(med)
        p99s.append(p99)
        print(f"rep {rep + 1}: {n} spans, lag median {med * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    if args.skip_lag:
        medians = p99s = [float("nan")]
    print(
        f"lag at {args.rate:.0f} steps/s (median of {args.reps} reps): "
        f"median {statistics.median(medians) * 1000:.0f} ms, "
        f"p99 {statistics.median(p99s) * 1000:.0f} ms"
    )

    if args.skip_memory:
        return
    peak, samples = memory_down(args.steps)
    print(f"backend down for a run of {args.steps} steps:")
    shown = samples[:: max(1, len(samples) // 8)]
    for size, rss in shown:
        print(f"  file {size / 1e6:7.1f} MB  shipper RSS {rss / 1024:6.1f} MB")
    print(f"  shipper peak RSS {peak / 1024:.1f} MB (target: flat, under 100 MB)")


if __name__ == "__main__":
    main()

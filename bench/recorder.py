"""Benchmark: cost per step of the recorder against the article's twelve-line recorder.

Variants, interleaved in every repetition (order shuffled), each writing N steps to a fresh
directory:
- ``article``: the article's recorder (copied below, its lost ``**`` restored): ``json.dumps`` and
  a line-buffered text file;
- ``trace``: ``otel_jsonl.Trace`` with defaults (cap, blob store and redaction on), orjson
  present, and the secret scan's Hyperscan prefilter when the ``fast`` extra is installed (the
  header says which);
- ``trace-re``: the same with the secret scan in ``re`` alone (no prefilter);
- ``trace-stdlib``: the same in a worker process started with ``OTEL_JSONL_NO_ORJSON=1`` and
  ``OTEL_JSONL_NO_ACCEL=1``, as a user with the standard library alone runs it (the
  standard-library encoder, reader and secret scan, chosen at first use);
- ``trace-noredact``: ``Trace`` with ``redact=False`` (what the secret screen costs);
- ``minimal``: the least a recorder keeping the file's contract does in Python, with orjson and
  nothing else: build the event (ts, run, seq, kind, fields), ``orjson.dumps``, one ``os.write``;
  a value over the cap is hashed (sha256), appended to a pack and cut (no screen, no checks, no
  error handling). It shows how much room a target leaves for the screen and the rest;
- ``minimal-stdlib``: the same in the worker without orjson (encoding with the standard
  library's C encoder, as the recorder does);
- ``raw``: ``os.write`` of a prebuilt line on an O_APPEND descriptor (the floor).

With ``--durability`` the variants are the fsync policies instead (``never`` = ``trace``,
every 100 lines, every line), to document what durability costs.

Payloads: a ~200 B step, a ~2 KB llm_call, a ~4 KB tool_result (under the 4 KB cap, so the
line is written whole, as the article writes it), a ~5 KB tool_result (over the cap: the
recorder writes a blob and a ``blob_ref`` line) with the same value every step, and the same
with a new value every step (a new blob file each time). Prints the median microseconds per
step, the median of per-repetition ratios to the article, and for ``trace`` and
``trace-stdlib`` the target of issue 16 beside it (defaults <= 0.4x on 200 B, 2 KB and 4 KB,
<= 1.0x capped; standard library only <= 1.0x on all). Usage: ``python bench/recorder.py
[--reps 15] [--steps 2000]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otel_jsonl import Trace
from otel_jsonl.record import codec as _codec
from otel_jsonl.record import secrets


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


class MinimalTrace:
    """The least a recorder keeping the contract does per step (see the module's docstring)."""

    CAP = 4096

    def __init__(self, path: Path) -> None:
        import hashlib

        self._sha256 = hashlib.sha256
        if _codec.HAVE_ORJSON:
            import orjson

            self._line: Callable[[Any], bytes] = functools.partial(
                orjson.dumps, option=orjson.OPT_APPEND_NEWLINE
            )
        else:  # the worker without orjson: the fastest standard-library encoding we know
            self._line = _codec.dumps_line
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self.fd = os.open(path, flags, 0o600)
        self.pack = os.open(path.with_suffix(".pack"), flags, 0o600)
        self.run_id = os.urandom(4).hex()
        self.seq = 0

    def step(self, kind: str, /, **fields: Any) -> None:
        event = {"ts": time.time(), "run": self.run_id, "seq": self.seq, "kind": kind, **fields}
        self.seq += 1
        line = self._line(event)
        if len(line) > self.CAP:
            for key, value in fields.items():
                if isinstance(value, str) and len(value) > self.CAP // 4:
                    raw = value.encode()
                    if len(raw) > self.CAP:  # the first CAP bytes stay, as the recorder does
                        digest = self._sha256(raw).hexdigest()
                        os.write(self.pack, raw)
                        event[key] = raw[: self.CAP].decode("utf-8", "ignore")
                        event["blob_ref"] = digest
            line = self._line(event)
        os.write(self.fd, line)

    def close(self) -> None:
        os.close(self.fd)
        os.close(self.pack)


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
    capped = ("tool_result", {"id": "call_abc123", "name": "read_file", "output": text(5000)})
    return {
        "200B step": small,
        "2KB llm_call": llm,
        "4KB tool_result": tool,
        "5KB capped": capped,
        "5KB capped, new": capped,
    }


def steps_of(name: str, fields: dict[str, Any], steps: int) -> list[dict[str, Any]]:
    """The fields of every step: the same dict, or for a ``new`` payload a new value each step
    (made before the clock starts)."""
    if not name.endswith("new"):
        return [fields] * steps
    return [{**fields, "output": f"{i:08d} {fields['output']}"} for i in range(steps)]


def time_variant(variant: str, kind: str, all_fields: list[dict[str, Any]], tmp: Path) -> float:
    """Seconds per step for one variant writing ``len(all_fields)`` steps to a new directory."""
    run_dir = tmp / uuid.uuid4().hex
    run_dir.mkdir()
    path = run_dir / f"{variant}.jsonl"
    steps = len(all_fields)
    if variant == "raw":
        fields = all_fields[0]
        line = json.dumps({"ts": time.time(), "run": "r", "kind": kind, **fields}).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        t0 = time.perf_counter()
        for _ in range(steps):
            os.write(fd, line)
        elapsed = time.perf_counter() - t0
        os.close(fd)
    elif variant in ("article", "minimal"):
        a: ArticleTrace | MinimalTrace = (
            ArticleTrace(path) if variant == "article" else MinimalTrace(path)
        )
        t0 = time.perf_counter()
        for fields in all_fields:
            a.step(kind, **fields)
        elapsed = time.perf_counter() - t0
        a.close()
    else:
        policy: Any = "never"
        if variant.startswith("fsync-"):
            tail = variant.removeprefix("fsync-")
            policy = int(tail) if tail.isdigit() else tail
        t = Trace(path, fsync=policy, redact=variant != "trace-noredact")
        secrets.use_accelerator(variant != "trace-re")
        t0 = time.perf_counter()
        for fields in all_fields:
            t.step(kind, **fields)
        elapsed = time.perf_counter() - t0
        t.close()
        secrets.use_accelerator(True)
        assert t.dropped == 0, t.last_error
    shutil.rmtree(run_dir)
    return elapsed / steps


class StdlibWorker:
    """A process without orjson and Hyperscan (``OTEL_JSONL_NO_ORJSON=1``,
    ``OTEL_JSONL_NO_ACCEL=1``) timing the ``trace`` variant on request, so the standard-library
    recorder is interleaved with the others."""

    def __init__(self, tmp: Path) -> None:
        env = {**os.environ, "OTEL_JSONL_NO_ORJSON": "1", "OTEL_JSONL_NO_ACCEL": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(tmp)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def time(self, payload: str, steps: int, variant: str = "trace") -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{payload}\t{steps}\t{variant}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def worker(tmp: Path) -> None:
    """The worker's loop: ``payload<TAB>steps<TAB>variant`` in, seconds per step out."""
    for request in sys.stdin:
        name, steps, variant = request.rstrip("\n").split("\t")
        kind, fields = payloads()[name]
        elapsed = time_variant(variant, kind, steps_of(name, fields, int(steps)), tmp)
        assert not _codec.HAVE_ORJSON, "the stdlib worker has orjson"
        assert not secrets.accelerated(), "the stdlib worker has the Hyperscan prefilter"
        print(elapsed, flush=True)


def target(variant: str, payload: str) -> str:
    """Issue 16's target for this variant and payload, as printed beside the ratio."""
    if variant in ("trace", "trace-re"):
        return "<= 1.0" if "capped" in payload else "<= 0.4"
    if variant == "trace-stdlib":
        return "<= 1.0"
    return ""


def profile(reps: int) -> None:
    """Where a step's time goes: the article's encoding, the recorder's encoding, the secret
    screen (whole, through ``Redactor.redact_bytes`` as the writer calls it; the two passes of
    the scan in ``re``, fold and scan; the Hyperscan prefilter that replaces them), the write
    and, for a line over the cap, the cap, in microseconds (medians, interleaved)."""
    from otel_jsonl.record import secret_accel, secret_scan
    from otel_jsonl.record.redact import Redactor

    prefilter = secret_accel.stops_finder()
    assert prefilter is not None, "the profile shows the prefilter: install the fast extra"

    redactor = Redactor()
    print("microseconds per call, median of interleaved repetitions")
    with tempfile.TemporaryDirectory() as d:
        fd = os.open(Path(d) / "w.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        trace = Trace(Path(d) / "t.jsonl", fsync="never", redact=False)
        writer = trace._writer
        for name, (kind, fields) in payloads().items():
            if name.endswith("new"):
                continue
            event = {"ts": time.time(), "run": "abcd1234", "seq": 3, "kind": kind, **fields}
            line = _codec.dumps_line(event)
            folded = line.translate(secret_scan.FOLD_TABLE)
            parts: dict[str, Any] = {
                "article json.dumps": lambda e=event: json.dumps(e),
                "dumps_line": lambda e=event: _codec.dumps_line(e),
                "screen: fold": lambda b=line: b.translate(secret_scan.FOLD_TABLE),
                "screen: scan": lambda f=folded: secret_scan.scan()[0].search(f),
                "screen: prefilter": lambda b=line: prefilter(b),
                "screen: whole": lambda b=line: redactor.redact_bytes(b),
                "os.write": lambda b=line: os.write(fd, b),
            }
            if len(line) > writer.cap:
                parts["cap"] = lambda e=event, b=line: writer._cap_event(e, b)
            results: dict[str, list[float]] = {k: [] for k in parts}
            for _ in range(reps):
                for label, fn in parts.items():
                    n = 2000
                    t0 = time.perf_counter()
                    for _ in range(n):
                        fn()
                    results[label].append((time.perf_counter() - t0) / n * 1e6)
            cells = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in results.items())
            print(f"{name} ({len(line)} B): {cells}")
        trace.close()
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument(
        "--durability",
        action="store_true",
        help="compare fsync policies instead: never, every 100 lines, every line",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print what each part of a step costs (encode, write, each pass of the screen)",
    )
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker))
        return
    if args.profile:
        profile(args.reps)
        return
    variants = ["article", "trace", "trace-re", "trace-stdlib", "trace-noredact", "minimal"]
    variants += ["minimal-stdlib", "raw"]
    if args.durability:
        variants = ["article", "trace", "fsync-100", "fsync-line"]
    print(f"orjson: {_codec.HAVE_ORJSON}; {args.reps} reps x {args.steps} steps, interleaved")
    accel = "Hyperscan prefilter" if secrets.accelerated() else "re alone (no fast extra)"
    print(f"trace: the secret scan with the {accel}; trace-re: in re alone")
    print("trace-stdlib: a worker process with OTEL_JSONL_NO_ORJSON=1 and OTEL_JSONL_NO_ACCEL=1")
    print(
        f"{'payload':<16} {'variant':<15} {'median µs':>10} {'ratio to article':>17} "
        f"{'target':>7} {'met':>4}"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        stdlib = StdlibWorker(tmp) if "trace-stdlib" in variants else None
        for name, (kind, fields) in payloads().items():
            all_fields = steps_of(name, fields, args.steps)
            times: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(args.reps):
                order = variants[:]
                random.shuffle(order)
                for v in order:
                    if v in ("trace-stdlib", "minimal-stdlib"):
                        assert stdlib is not None
                        inner = "trace" if v == "trace-stdlib" else "minimal"
                        times[v].append(stdlib.time(name, args.steps, inner))
                    else:
                        times[v].append(time_variant(v, kind, all_fields, tmp))
            for v in variants:
                med = statistics.median(times[v]) * 1e6
                ratio = statistics.median(
                    x / a for x, a in zip(times[v], times["article"], strict=False)
                )
                goal = target(v, name) if not args.durability else ""
                met = ("yes" if ratio <= float(goal.split()[-1]) else "NO") if goal else ""
                print(f"{name:<16} {v:<15} {med:>10.2f} {ratio:>17.2f} {goal:>7} {met:>4}")
        if stdlib is not None:
            stdlib.close()


if __name__ == "__main__":
    main()

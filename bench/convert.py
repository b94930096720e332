"""Benchmark: converting trace files to OTLP, against the route through protobuf's json_format.

Throughput (median of ``--reps`` repetitions, variants interleaved), on a generated recorder
file of ``--runs`` demo-like runs (input, llm_call, tool_call/tool_result pairs, a ~3 KB tool
output, final):

- ``encode json``: our OTLP JSON encoder (dicts + orjson) on already built spans;
- ``encode json_format``: the SDK's protobuf encoder, then ``json_format.MessageToJson`` on the
  same spans (the baseline; it also writes base64 ids, which OTLP JSON forbids);
- ``encode protobuf``: the SDK's protobuf encoder and ``SerializeToString`` (what OTLP/HTTP sends);
- ``file -> OTLP JSON`` and ``file -> OTLP protobuf``: read the JSONL, build spans, encode,
  write (end to end, spans/s and input MB/s).

Then ``otel-jsonl convert FILE -o OUT`` (the command, run in this process) against the floor
the performance issue sets it (target: convert >= 0.6x the floor's MB/s): :func:`orjson_floor`,
each line parsed with orjson and written as a minimal, valid OTLP JSON span (every field of the
line kept as an attribute, ids from a counter, 512 spans per ``TracesData`` line), without the
niceties (no GenAI attributes, no tool pairing, no root spans, no run state); where
convert's time goes per line: reading, building the spans, writing and the rest; and
:func:`lean_convert`, convert's own pieces with none of its checks, which writes the same bytes
on this file: what is left for convert's generality.

Then peak RSS: a ~``--big-mb`` MB file (default 1024) of interleaved runs is generated under
``--big-dir`` (default ``.cache/bench``; never commit it) and ``otel-jsonl convert BIG -o
/dev/null`` runs in a child process; its ``ru_maxrss`` is the number. Usage:
``python bench/convert.py [--reps 5] [--runs 2000] [--big-mb 1024] [--skip-big]
[--floor-only] [--baseline DIR] [--profile ROUNDS]`` (``--baseline``: the same rounds also
time ``convert -o`` of another tree's package, e.g. main's, against this one's, each in a
child process; ``--profile``: only where convert's time goes, sampled).
"""

from __future__ import annotations

import argparse
import collections
import gc
import hashlib
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from otel_jsonl.cli import main as cli_main
from otel_jsonl.genai import attributes as ga
from otel_jsonl.genai.plain_steps import plain_llm_attributes
from otel_jsonl.otel import otlp_json as otlp
from otel_jsonl.otel.ids import (
    default_resource,
    root_span_id,
    step_key,
    step_span_id,
    trace_id_for_run,
)
from otel_jsonl.otel.span_output import EncodedLines
from otel_jsonl.otel.to_spans import SCOPE, SpanConverter, events_to_spans
from otel_jsonl.read.lines import read_events

BATCH = 512
CLIENT, INTERNAL = SpanKind.CLIENT, SpanKind.INTERNAL


def run_lines(run: str, t0: float, rng: random.Random) -> list[dict[str, Any]]:
    """One demo-like run: 3 turns with 2 tool calls each, then a final answer."""
    lines: list[dict[str, Any]] = []
    t = t0
    seq = 0

    def add(kind: str, **fields: Any) -> None:
        nonlocal t, seq
        t += rng.uniform(0.001, 0.5)
        lines.append({"ts": t, "run": run, "seq": seq, "kind": kind, **fields})
        seq += 1

    add(
        "input",
        system="You are a travel agent. " * 4,
        agent="bench",
        messages=[{"role": "user", "parts": [{"type": "text", "content": "Plan Lisbon. " * 10}]}],
    )
    for turn in range(3):
        calls = [
            {
                "type": "tool_call",
                "id": f"call_{turn}_{i}",
                "name": "search",
                "arguments": {"q": f"lisbon {turn} {i}"},
            }
            for i in range(2)
        ]
        add(
            "llm_call",
            model="gpt-4o-mini",
            provider="openai",
            output=[
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "Checking."}, *calls],
                    "finish_reason": "tool_call",
                }
            ],
            usage={"input_tokens": 500 + turn * 300, "output_tokens": 40},
            finish_reason="tool_calls",
            response_id=f"chatcmpl-{run}-{turn}",
        )
        for call in calls:
            add("tool_call", name="search", id=call["id"], args=call["arguments"])
            add(
                "tool_result",
                id=call["id"],
                name="search",
                output="result row with some text; " * rng.randint(20, 120),
            )
    add(
        "llm_call",
        model="gpt-4o-mini",
        provider="openai",
        output=[
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "Done. " * 30}],
                "finish_reason": "stop",
            }
        ],
        usage={"input_tokens": 1800, "output_tokens": 200},
        finish_reason="stop",
    )
    add("final", text="Done. " * 30)
    return lines


def generate(runs: int, seed: int = 7) -> bytes:
    """A recorder file of ``runs`` runs, each run's lines contiguous."""
    rng = random.Random(seed)
    out = io.BytesIO()
    for i in range(runs):
        for line in run_lines(f"{i:08x}", 1_780_000_000.0 + i * 10, rng):
            out.write(json.dumps(line).encode() + b"\n")
    return out.getvalue()


def generate_big(path: Path, target_bytes: int, concurrent: int = 8) -> None:
    """``target_bytes`` of runs, ``concurrent`` of them interleaved line by line (processes
    appending to one file), written in chunks so generation itself stays small."""
    rng = random.Random(11)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    next_run = 0
    active: list[list[bytes]] = []
    with path.open("wb") as fh:
        while written < target_bytes or active:
            while len(active) < concurrent and written < target_bytes:
                lines = run_lines(f"{next_run:08x}", 1_780_000_000.0 + next_run, rng)
                active.append([json.dumps(x).encode() + b"\n" for x in lines])
                next_run += 1
            chunk = []
            for lines in active:
                chunk.append(lines.pop(0))
            active = [x for x in active if x]
            data = b"".join(chunk)
            fh.write(data)
            written += len(data)


_FLOOR_SKIP = frozenset({"ts", "run", "kind", "seq"})


def orjson_floor(src: Path, dst: Path, batch: int = BATCH) -> int:
    """The floor for ``convert -o``: every line of ``src`` parsed with orjson and written to
    ``dst`` as a minimal, valid OTLP JSON span (trace id from the run, span id from a counter,
    name the kind, start = end = ``ts``, every other field a string attribute, JSON when not a
    string), ``batch`` spans per ``TracesData`` line. Returns the spans written."""
    traces: dict[str, str] = {}
    spans: list[dict[str, Any]] = []
    loads, dumps = orjson.loads, orjson.dumps
    n = 0

    def flush(out: Any) -> None:
        data = {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": "floor"}}]
                    },
                    "scopeSpans": [{"scope": {"name": "floor"}, "spans": spans}],
                }
            ]
        }
        out.write(dumps(data, option=orjson.OPT_APPEND_NEWLINE))
        spans.clear()

    with src.open("rb") as fin, dst.open("wb") as out:
        for raw in fin:
            ev = loads(raw)
            run = ev["run"]
            trace = traces.get(run)
            if trace is None:
                trace = traces[run] = hashlib.sha256(run.encode()).hexdigest()[:32]
            n += 1
            ns = str(int(ev["ts"] * 1e9))
            attrs = [
                {"key": k, "value": {"stringValue": v if type(v) is str else dumps(v).decode()}}
                for k, v in ev.items()
                if k not in _FLOOR_SKIP
            ]
            spans.append(
                {
                    "traceId": trace,
                    "spanId": f"{n:016x}",
                    "name": ev["kind"],
                    "kind": 1,
                    "startTimeUnixNano": ns,
                    "endTimeUnixNano": ns,
                    "attributes": attrs,
                }
            )
            if len(spans) >= batch:
                flush(out)
        if spans:
            flush(out)
    return n


def lean_convert(src: Path, dst: Path, batch: int = BATCH) -> int:
    """What a converter with no checks reaches: this benchmark's runs only (their kinds, keys
    and types taken for granted: every run input, model calls, paired tools, final, in
    order), through the package's own reader, attribute functions, ids, span encoder and
    line buffer (``EncodedLines``, a line over 1 MiB halved), one function and plain tuples
    and lists for its state. It writes convert's bytes (checked by the caller), so the gap
    between the two is what convert's generality costs. Returns the spans written."""
    resource = default_resource()
    dumps, fields = orjson.dumps, otlp.encode_span_fields
    encoded = otlp.EncodedSpan
    runs: dict[str, list[Any]] = {}
    lines = EncodedLines(batch)
    take = lines.take
    oversize: list[Any] = []
    n = 0
    with dst.open("wb") as out:
        for line in read_events(src, strict=False):
            if lines.count >= batch:  # as convert writes once a line's spans reach a batch
                n += lines.write(out, oversize)
            ev = line.event
            run, kind, ts = ev["run"], ev["kind"], round(ev["ts"] * 1e9)
            st = runs.get(run)
            if st is None:  # trace hex, step key, root id, held, tools, root attrs, first, prev
                trace = f"{trace_id_for_run(run):032x}"
                st = [trace, step_key(run), root_span_id(run), None, {}, {}, ts, ts, ""]
                st[5] = ga.agent_attributes()
                runs[run] = st
            trace, key, root, held, tools = st[0], st[1], st[2], st[3], st[4]
            start, st[7] = st[7], ts
            if held is not None:
                span = dumps(fields(trace, held[0], root, held[1], held[2], [], None))
                take(encoded(resource, SCOPE, span))
                st[3] = None
            if kind == "tool_result":
                span_id, (name, span_kind, begin, _), attrs = tools.pop(ev["id"])
                ga.tool_result_attributes(attrs, ev)
                st[3] = (span_id, (name, span_kind, begin, ts), attrs)
            elif kind == "input":
                st[8] = ga.input_attributes(st[5], ev) or "invoke_agent"
            elif kind == "final":
                ga.final_attributes(st[5], ev)
                span = dumps(
                    fields(trace, root, None, (st[8], INTERNAL, st[6], ts), st[5], [], None)
                )
                take(encoded(resource, SCOPE, span))
                del runs[run]
            else:
                span_id = step_span_id(key, ev.get("seq"), 0)
                if kind == "tool_call":
                    name = ev["name"]
                    attrs = ga.tool_attributes(name, ev["id"], ev)
                    tools[ev["id"]] = (span_id, (f"execute_tool {name}", INTERNAL, ts, ts), attrs)
                else:
                    name, attrs = plain_llm_attributes(ev) or ga.llm_attributes(ev)
                    st[3] = (span_id, (name, CLIENT, start, ts), attrs)
        n += lines.write(out, oversize)
    return n


def read_and_build(src: Path) -> int:
    """What ``convert -o`` does short of writing: read the lines and build the spans (as
    OTLP JSON bytes, as the command does for a file), dropping them."""
    converter = SpanConverter(encoded=True)
    n = 0
    for line in read_events(src, strict=False):
        n += len(converter.feed(line))
    return n + len(converter.finish())


def convert_vs_floor(data: bytes, reps: int, baseline: str | None = None) -> None:
    """``otel-jsonl convert FILE -o OUT`` and :func:`orjson_floor` on the same file, interleaved;
    prints the median MB/s and time per line of each, and the median of the
    per-round ratios; then where convert's time goes: reading the lines alone
    (``read_events``), reading and building the spans (:func:`read_and_build`), the rest
    (the command's own work and writing) by difference. With ``baseline`` (a directory
    holding another ``otel_jsonl`` package, e.g. ``git archive main otel_jsonl | tar -x -C
    DIR``), each round also times ``convert -o`` of this tree and of the baseline, each in a
    child process of its own (:data:`_CHILD_TIMER`, CPU time), and prints both."""
    mb = len(data) / 1e6
    nlines = data.count(b"\n")
    times: dict[str, list[float]] = {
        "orjson floor": [],
        "convert -o": [],
        "read only": [],
        "read + build spans": [],
        "lean converter": [],
    }
    ratios: list[float] = []
    ab_times: dict[str, list[float]] = {}
    same_checked = False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_bytes(data)
        out = Path(tmp) / "out.otlp.jsonl"
        lean_out = Path(tmp) / "lean.otlp.jsonl"
        argv = ["convert", str(src), "-o", str(out), "-q", "--no-logs"]
        for _ in range(reps):
            floor_t, _ = timed(lambda: orjson_floor(src, out))
            out.unlink()
            conv_t, code = timed(lambda: cli_main(argv))
            assert code == 0, code
            converted = out.read_bytes() if not same_checked else b""
            out.unlink()
            # Where convert's time goes: reading the lines (parse, checks), then building.
            read_t, _ = timed(lambda: sum(1 for _ in read_events(src, strict=False)))
            build_t, _ = timed(lambda: read_and_build(src))
            times["orjson floor"].append(floor_t)
            times["convert -o"].append(conv_t)
            times["read only"].append(read_t)
            times["read + build spans"].append(build_t)
            lean_t, _ = timed(lambda: lean_convert(src, lean_out))
            times["lean converter"].append(lean_t)
            if not same_checked:
                assert lean_out.read_bytes() == converted, "the lean converter's bytes differ"
                same_checked = True
            ratios.append(floor_t / conv_t)
            if baseline is not None:
                for tree, label in ((HERE.parent, "this tree"), (Path(baseline), "baseline")):
                    child_t = child_convert(tree, argv)
                    out.unlink()
                    ab_times.setdefault(label, []).append(child_t)
    print(f"{'file -> OTLP JSON file':24} {'median s':>9} {'MB/s (in)':>10} {'us/line':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:24} {med:9.3f} {mb / med:10.1f} {med / nlines * 1e6:8.2f}")
    conv, read, build = (
        statistics.median(times[k]) for k in ("convert -o", "read only", "read + build spans")
    )
    per = {"read": read, "build spans": build - read, "write and the rest": conv - build}
    print(
        "convert -o per line: "
        + ", ".join(f"{k} {v / nlines * 1e6:.2f} us" for k, v in per.items())
    )
    print(
        f"convert -o / orjson floor (median of rounds): {statistics.median(ratios):.2f}x "
        "(target >= 0.6x)"
    )
    lean = statistics.median(times["lean converter"])
    print(
        f"lean converter (no checks, this file's shapes only, convert's bytes) / orjson floor: "
        f"{statistics.median(times['orjson floor']) / lean:.2f}x"
    )
    if ab_times:
        print(f"A/B, each in a child process, CPU time ({baseline}):")
        for label, ts in ab_times.items():
            med = statistics.median(ts)
            print(
                f"  {label:10} {med:9.3f} s {mb / med:8.1f} MB/s {med / nlines * 1e6:8.2f} us/line"
            )
        gain = [b / a for a, b in zip(ab_times["this tree"], ab_times["baseline"], strict=True)]
        print(f"  this tree / baseline speed (median of rounds): {statistics.median(gain):.2f}x")


HERE = Path(__file__).resolve().parent
#: Run in a child process whose working directory holds the tree's ``otel_jsonl`` (first on
#: ``sys.path`` for ``-c``): times ``otel-jsonl ARGV`` after the imports, prints the CPU
#: seconds (less disturbed than wall time by other work on the machine).
_CHILD_TIMER = (
    "import sys, time\n"
    "import otel_jsonl.otel.files\n"
    "from otel_jsonl.cli import main\n"
    "assert otel_jsonl.__file__.startswith(sys.argv[1]), otel_jsonl.__file__\n"
    "start = time.process_time()\n"
    "code = main(sys.argv[2:])\n"
    "print(time.process_time() - start)\n"
    "sys.exit(code)\n"
)


def child_convert(tree: Path, argv: list[str]) -> float:
    """CPU seconds of ``otel-jsonl ARGV`` run by the ``otel_jsonl`` package in ``tree``, in a
    child process (timed inside it, imports excluded)."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD_TIMER, str(tree.resolve()), *argv],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: convert failed: {proc.stderr.strip()}")
    return float(proc.stdout.strip().splitlines()[-1])


def sampled_profile(data: bytes, rounds: int) -> None:
    """Where ``convert -o`` spends its time: ``rounds`` conversions of the file under a
    ``SIGPROF`` sampler (the Python stack at each sample, asked for every 0.1 ms of CPU time:
    the kernel's tick makes it every few ms; no tracing of calls, so small functions are not
    made dearer), printed as the share of samples in each function of the package and below
    it (inclusive) and in it alone (self). A C function's time (orjson, sha256) counts in
    the Python function that called it."""
    inclusive: collections.Counter[str] = collections.Counter()
    alone: collections.Counter[str] = collections.Counter()

    package = str(Path(otlp.__file__).parent.parent)

    def sample(_signum: int, frame: Any) -> None:
        seen = set()
        top = frame
        while frame is not None:
            code = frame.f_code
            name = "(elsewhere)"
            if code.co_filename.startswith(package):
                name = f"{code.co_filename[len(package) + 1 :]}:{code.co_name}"
            if frame is top:
                alone[name] += 1
            if name not in seen:
                seen.add(name)
                inclusive[name] += 1
            frame = frame.f_back

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_bytes(data)
        argv = ["convert", str(src), "-o", str(Path(tmp) / "out.otlp.jsonl"), "-q", "--no-logs"]
        assert cli_main(argv) == 0  # imports and first-use work outside the samples
        previous = signal.signal(signal.SIGPROF, sample)
        signal.setitimer(signal.ITIMER_PROF, 0.0001, 0.0001)
        try:
            for _ in range(rounds):
                cli_main(argv)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
            signal.signal(signal.SIGPROF, previous)
    total = sum(alone.values()) or 1
    print(f"convert -o, {total} samples over {rounds} conversions: inclusive / self share")
    for name, count in inclusive.most_common():
        if count / total >= 0.005 and name != "(elsewhere)":
            print(f"  {count / total:6.1%} {alone[name] / total:6.1%}  {name}")


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--big-dir", default=".cache/bench")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument(
        "--floor-only", action="store_true", help="only convert -o against the orjson floor"
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also time convert -o of the otel_jsonl package in DIR against this tree's, "
        "interleaved (git archive main otel_jsonl | tar -x -C DIR)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="ROUNDS",
        help="only sample where convert -o spends its time over ROUNDS conversions",
    )
    args = parser.parse_args()
    if args.profile:
        sampled_profile(generate(args.runs), args.profile)
        return 0
    if args.baseline is not None and not (Path(args.baseline) / "otel_jsonl").is_dir():
        parser.error(f"--baseline {args.baseline}: no otel_jsonl package in it")
    if args.floor_only:
        convert_vs_floor(generate(args.runs), args.reps, args.baseline)
        return 0

    data = generate(args.runs)
    mb = len(data) / 1e6
    spans: list[ReadableSpan] = list(events_to_spans(read_events(io.BytesIO(data))))
    n = len(spans)
    # The spans held here for the encode-only variants would make every full collection walk
    # them; a streaming conversion holds almost nothing. Freeze them out of the collector.
    gc.freeze()
    batches = [spans[i : i + BATCH] for i in range(0, n, BATCH)]
    nlines = data.count(b"\n")
    print(f"input: {mb:.1f} MB, {nlines} lines, {n} spans, {args.reps} reps")

    def enc_json() -> int:
        return sum(
            len(b"".join(otlp.spans_to_otlp_json_lines(b, batch_size=BATCH))) for b in batches
        )

    def enc_json_format() -> int:
        total = 0
        for b in batches:
            total += len(json_format.MessageToJson(encode_spans(b), indent=None)) + 1
        return total

    def enc_proto() -> int:
        return sum(len(encode_spans(b).SerializeToString()) for b in batches)

    def file_json() -> int:
        sink = io.BytesIO()
        otlp.write_otlp_json(events_to_spans(read_events(io.BytesIO(data))), sink)
        return n

    def file_proto() -> int:
        total = 0
        batch: list[ReadableSpan] = []
        for span in events_to_spans(read_events(io.BytesIO(data))):
            batch.append(span)
            if len(batch) >= BATCH:
                total += len(encode_spans(batch).SerializeToString())
                batch = []
        if batch:
            total += len(encode_spans(batch).SerializeToString())
        return n

    def file_json_format() -> int:
        total = 0
        batch: list[ReadableSpan] = []
        for span in events_to_spans(read_events(io.BytesIO(data))):
            batch.append(span)
            if len(batch) >= BATCH:
                total += len(json_format.MessageToJson(encode_spans(batch), indent=None))
                batch = []
        if batch:
            total += len(json_format.MessageToJson(encode_spans(batch), indent=None))
        return n

    variants: dict[str, Callable[[], int]] = {
        "encode json": enc_json,
        "encode json_format": enc_json_format,
        "encode protobuf": enc_proto,
        "file -> OTLP JSON": file_json,
        "file -> OTLP protobuf": file_proto,
        "file -> json_format": file_json_format,
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    ratios: list[float] = []
    file_ratios: list[float] = []
    rng = random.Random(3)
    for _ in range(args.reps):
        order = list(variants)
        rng.shuffle(order)
        rep: dict[str, float] = {}
        for name in order:
            rep[name] = timed(variants[name])[0]
            times[name].append(rep[name])
        ratios.append(rep["encode json_format"] / rep["encode json"])
        file_ratios.append(rep["file -> json_format"] / rep["file -> OTLP JSON"])
    print(f"{'variant':24} {'median s':>9} {'spans/s':>10} {'MB/s (in)':>10}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:24} {med:9.3f} {n / med:10.0f} {mb / med:10.1f}")
    print(f"encode ratio json_format / ours (median): {statistics.median(ratios):.1f}x")
    print(f"file ratio json_format route / ours (median): {statistics.median(file_ratios):.1f}x")
    convert_vs_floor(data, args.reps, args.baseline)

    if not args.skip_big:
        big = Path(args.big_dir) / "convert-big.jsonl"
        if not big.exists() or big.stat().st_size < args.big_mb * 1_000_000 * 0.95:
            t, _ = timed(lambda: generate_big(big, args.big_mb * 1_000_000) or 0)
            print(f"generated {big} ({big.stat().st_size / 1e6:.0f} MB) in {t:.0f} s")
        cli = Path(sys.executable).with_name("otel-jsonl")
        # A small wrapper process runs the CLI and reports its children's peak RSS: measured
        # from this process, a forked child would count this process's pages (spans held
        # above) before its exec.
        wrapper = (
            "import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "sys.stderr.write(p.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)\n"
        )
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", wrapper, str(cli), "convert", str(big), "-o", os.devnull],
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
        elapsed = time.perf_counter() - start
        peak_kb = int(proc.stdout.strip() or 0)
        size_mb = big.stat().st_size / 1e6
        print(f"big: rc={proc.returncode} {proc.stderr.strip()}")
        print(
            f"big: {size_mb:.0f} MB in {elapsed:.0f} s ({size_mb / elapsed:.1f} MB/s), "
            f"peak RSS {peak_kb / 1024:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-span cost of exporting GenAI spans through a BatchSpanProcessor, three exporters compared.

Exporters: ``JsonlSpanExporter`` (this project, defaults: cap 4 KB, redaction on), the official
``opentelemetry-exporter-otlp-json-file`` ``FileSpanExporter``, and ``ConsoleSpanExporter``
writing to /dev/null; plus an exporter that does nothing, whose cost (creating and batching
the spans) is subtracted to give the export cost alone. Every exporter runs in its own
subprocess with the same span generator (this file): the official file exporter conflicts with
the OTLP exporters' pinned common package, so it runs in a venv this script creates under
``.cache/bench-otlp-json-file``.

Each span has 10 ``gen_ai.*`` attributes and captured input and output messages (JSON strings,
as openai-v2 writes them). Prints medians of ``--repeat`` runs and ratios. ``--against DIR``
adds this exporter as the package in DIR has it (a copy of another branch's ``otel_jsonl``,
put first on ``PYTHONPATH``) to the interleaved direct rounds: an A/B in one run. ``--parts``
prints where the time of one span goes (measured in this process).

    .venv/bin/python bench/exporter.py [--spans 5000] [--repeat 7] [--direct-only]
        [--against DIR] [--parts]
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE_VENV = ROOT / ".cache" / "bench-otlp-json-file"
BASELINE_PACKAGE = "opentelemetry-exporter-otlp-json-file==0.66b1"
EXPORTERS = ("noop", "jsonl", "file", "console")
#: Direct export() of spans made beforehand: the exporters, the floor (orjson + write), and
#: this exporter without its secret screen (what the mapping and encoding cost alone).
DIRECT = ("floor", "jsonl", "jsonl-noredact", "file", "console")

INPUT = json.dumps(
    [
        {"role": "system", "parts": [{"type": "text", "content": "You are a concise assistant."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Lisbon?"}]},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Lisbon"},
                }
            ],
        },
        {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": "call_1", "response": "sunny, 21 C " * 20}
            ],
        },
    ],
    separators=(",", ":"),
)
OUTPUT = json.dumps(
    [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It is sunny in Lisbon. " * 10}],
            "finish_reason": "stop",
        }
    ],
    separators=(",", ":"),
)


def attributes(i: int) -> dict[str, Any]:
    """The 10 gen_ai attributes and the captured messages of span ``i``."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 512,
        "gen_ai.response.id": f"chatcmpl-{i}",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 120 + i % 7,
        "gen_ai.usage.output_tokens": 30 + i % 5,
        "gen_ai.input.messages": INPUT,
        "gen_ai.output.messages": OUTPUT,
    }


def make_exporter(name: str, directory: Path) -> Any:
    """The exporter to measure."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    if name == "noop":

        class Noop(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        return Noop()
    if name == "jsonl":
        from otel_jsonl.otel.exporter import JsonlSpanExporter

        return JsonlSpanExporter(directory / "trace.jsonl")
    if name == "jsonl-noredact":
        from otel_jsonl.otel.exporter import JsonlSpanExporter

        return JsonlSpanExporter(directory / "trace.jsonl", redact=False)
    if name == "file":
        from opentelemetry.exporter.otlp.json.file import FileSpanExporter  # type: ignore

        return FileSpanExporter(directory / "trace.otlp.jsonl")
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=open(os.devnull, "w"))
    raise ValueError(name)


def run_once(name: str, spans: int) -> float:
    """Seconds per span: create ``spans`` spans, batch them, flush through the exporter."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    with tempfile.TemporaryDirectory() as tmp:
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(
            BatchSpanProcessor(
                make_exporter(name, Path(tmp)),
                max_queue_size=max(spans + 1, 2048),
                max_export_batch_size=512,
                schedule_delay_millis=50,
            )
        )
        tracer = provider.get_tracer("bench")
        batch = [attributes(i) for i in range(spans)]
        start = time.perf_counter()
        for attrs in batch:
            with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attrs):
                pass
        provider.force_flush(600_000)
        elapsed = time.perf_counter() - start
        provider.shutdown()
    return elapsed / spans


class _Floor:
    """The floor of any JSON lines exporter: orjson of each span's ids, times and attributes,
    one write per batch."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("ab")

    def export(self, spans: Any) -> None:
        import orjson

        self.file.write(
            b"".join(
                orjson.dumps(
                    {
                        "trace_id": format(span.context.trace_id, "032x"),
                        "span_id": format(span.context.span_id, "016x"),
                        "name": span.name,
                        "start": span.start_time,
                        "end": span.end_time,
                        "attrs": dict(span.attributes),
                    },
                    option=orjson.OPT_APPEND_NEWLINE,
                )
                for span in spans
            )
        )
        self.file.flush()

    def shutdown(self) -> None:
        self.file.close()


def run_direct(name: str, spans: int) -> float:
    """CPU seconds per span of ``export()`` alone, on spans made beforehand, in batches of
    512."""
    made = _made_spans(spans)
    with tempfile.TemporaryDirectory() as tmp:
        exporter = _Floor(Path(tmp) / "floor.jsonl") if name == "floor" else None
        exporter = exporter or make_exporter(name, Path(tmp))
        # CPU time of this process (user + system, the write included): on a shared machine
        # wall time counts the other processes' turns too.
        start = time.process_time()
        for i in range(0, len(made), 512):
            exporter.export(made[i : i + 512])
        elapsed = time.process_time() - start
        exporter.shutdown()
    return elapsed / spans


def _made_spans(spans: int) -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(spans):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attributes(i)):
            pass
    return list(memory.get_finished_spans())


def print_parts(spans: int) -> None:
    """Where one span's export time goes: each part run over the same spans in this process
    (best of 5, CPU time), the mapping's parts nested in it."""
    from otel_jsonl.genai.plain_llm import fill_plain_llm
    from otel_jsonl.genai.spans import FieldBuilder
    from otel_jsonl.otel.exporter import JsonlSpanExporter
    from otel_jsonl.otel.exporter_screen import LineScreen
    from otel_jsonl.otel.mapping import span_to_events
    from otel_jsonl.otel.span_fields import events_of, fields_of, otel_block, span_attrs
    from otel_jsonl.record import codec, secrets
    from otel_jsonl.record.redact import Redactor

    made = _made_spans(min(spans, 2000))
    with tempfile.TemporaryDirectory() as tmp:
        exporter = JsonlSpanExporter(Path(tmp) / "t.jsonl", redact=False)
        lines: list[dict[str, Any]] = []
        for span in made:
            exporter._map(span, lines)
        events = [e for e in lines if "otel" in e]
        encoded = [codec.dumps_line(e) for e in events]
        attrs = [span_attrs(fields_of(span)) for span in made]
        # What the otel block of these spans is made of: the attribute no field holds, and
        # where the others went.
        probe = FieldBuilder(attrs[0], {})
        fill_plain_llm(probe, "chat", attrs[0], False)
        left, moved = probe.attrs, probe.moved
        screen, redactor = LineScreen(), Redactor()

        def mapped() -> None:
            fresh = JsonlSpanExporter(Path(tmp) / "m.jsonl", redact=False)
            out: list[dict[str, Any]] = []
            for span in made:
                fresh._map(span, out)
                out.clear()
            fresh.shutdown()

        def each(work: Any, items: list[Any]) -> Any:
            # Results dropped at once, as in export(): a list of them kept alive costs fresh
            # memory (page faults), more than the work measured.
            def run() -> None:
                for item in items:
                    work(item)

            return run

        parts = {
            "mapping (exporter._map)": mapped,
            "  span_to_events": each(lambda s: span_to_events(s, resource_ref="r-1"), made),
            "    span fields (fields_of, span_attrs)": each(
                lambda s: span_attrs(fields_of(s)), made
            ),
            "    genai attributes (fill_plain_llm)": each(
                lambda a: fill_plain_llm(FieldBuilder(a, {}), "chat", a, False), attrs
            ),
            "    otel block (span_fields.otel_block)": each(
                lambda s: otel_block(
                    fields_of(s), left, dict(moved), "r-1", events_of(fields_of(s))
                ),
                made,
            ),
            # The step lines of these spans are native (span_lines): no search for NaN.
            "encode (codec.dumps_decoded_line)": each(codec.dumps_decoded_line, events),
            "screen: whole line (redact_bytes)": each(redactor.redact_bytes, encoded),
            "screen: whole line, re alone": each(lambda b: secrets.find_secrets_stdlib(b), encoded),
            "screen: span strings (LineScreen, re)": each(screen.clean, events),
        }
        # With the fast extra the exporter takes the first screen; without it, the last.
        taken = "the whole line, Hyperscan prefilter" if secrets.accelerated() else "LineScreen"
        print(f"the exporter's secret screen here: {taken}")
        print(f"where a span's time goes ({len(made)} spans, best of 5, us/span)")
        for name, run in parts.items():
            best = min(_cpu(run) for _ in range(5)) / len(made)
            print(f"{name:<40} {best * 1e6:7.1f}")
        exporter.shutdown()


def _cpu(run: Any) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def ensure_baseline_venv() -> Path:
    """The venv with the official file exporter (created on first use)."""
    python = BASELINE_VENV / "bin" / "python"
    probe = [str(python), "-c", "import opentelemetry.exporter.otlp.json.file"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", BASELINE_PACKAGE], check=True, timeout=600
    )
    return python


def worker(name: str, spans: int, repeat: int, direct: bool) -> None:
    """Measure one exporter and print the per-span seconds of each run as JSON."""
    run = run_direct if direct else run_once
    run(name, min(spans, 500))  # warm-up: imports, first file open
    print(json.dumps([run(name, spans) for _ in range(repeat)]))


def _worker_cmd(name: str, args: argparse.Namespace, baseline: Path, direct: bool) -> list[str]:
    python = str(baseline) if name == "file" else sys.executable
    worker = "jsonl" if name == AGAINST else name
    cmd = [python, __file__, "--worker", worker, "--spans", str(args.spans)]
    return cmd + ["--repeat", str(args.repeat)] + (["--direct"] if direct else [])


#: The name of this exporter from the package given with ``--against``.
AGAINST = "jsonl-against"


def _run_worker(cmd: list[str], name: str, against: str | None = None) -> list[float] | None:
    env = None
    if name == AGAINST and against:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([against, str(ROOT)]))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False, env=env)
    if proc.returncode != 0:
        print(f"{name}: failed\n{proc.stderr}", file=sys.stderr)
        return None
    found: list[float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def _measure(
    names: tuple[str, ...], args: argparse.Namespace, baseline: Path, direct: bool
) -> dict[str, float] | None:
    """Median seconds per span of each exporter. Direct mode interleaves: ``--repeat`` rounds,
    each running every exporter once (its own process, after a warm-up), so load on a shared
    machine falls on all of them alike."""
    if not direct:
        medians: dict[str, float] = {}
        for name in names:
            found = _run_worker(_worker_cmd(name, args, baseline, direct), name)
            if found is None:
                return None
            medians[name] = statistics.median(found)
        return medians
    runs: dict[str, list[float]] = {name: [] for name in names}
    one = argparse.Namespace(spans=args.spans, repeat=1)
    for _ in range(args.repeat):
        for name in names:
            found = _run_worker(_worker_cmd(name, one, baseline, direct), name, args.against)
            if found is None:
                return None
            runs[name].extend(found)
    return {name: statistics.median(times) for name, times in runs.items()}


def _print_direct(medians: dict[str, float], spans: int, repeat: int) -> None:
    print(
        f"direct export() of {spans} spans made beforehand, median of {repeat} interleaved rounds"
    )
    print(f"{'exporter':<15} {'us/span':>9} {'spans/s':>10}")
    for name in DIRECT:
        print(f"{name:<15} {medians[name] * 1e6:9.1f} {1 / medians[name]:10,.0f}")
    jsonl = medians["jsonl"]
    print(
        f"jsonl: {medians['file'] / jsonl:.2f}x the official file exporter's throughput "
        f"(target >= 3x); {medians['console'] / jsonl:.2f}x ConsoleSpanExporter's (target >= 2x); "
        f"{jsonl / medians['floor']:.2f}x the floor's cost (target <= 3x)"
    )
    screen = jsonl - medians["jsonl-noredact"]
    print(
        f"of which the secret screen {screen * 1e6:.1f} us/span; without it "
        f"{medians['file'] / medians['jsonl-noredact']:.2f}x the file exporter's throughput"
    )
    if AGAINST in medians:
        base = medians[AGAINST]
        print(
            f"against the other package: {base * 1e6:.1f} us/span there, {jsonl * 1e6:.1f} here "
            f"({base / jsonl:.2f}x its throughput; there {medians['file'] / base:.2f}x the file "
            f"exporter's, {medians['console'] / base:.2f}x Console's)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--worker", choices=sorted({*EXPORTERS, *DIRECT}))
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--direct-only", action="store_true", help="measure direct export() only (no batching)"
    )
    parser.add_argument(
        "--against", metavar="DIR", help="A/B: also measure the otel_jsonl package found in DIR"
    )
    parser.add_argument("--parts", action="store_true", help="print where a span's time goes")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.spans, args.repeat, args.direct)
        return 0
    baseline_python = ensure_baseline_venv()
    if args.parts:
        print_parts(args.spans)
        print()
    names = (*DIRECT, AGAINST) if args.against else DIRECT
    direct = _measure(names, args, baseline_python, True)
    if direct is None:
        return 1
    _print_direct(direct, args.spans, args.repeat)
    if args.direct_only:
        return 0
    print()
    found = _measure(EXPORTERS, args, baseline_python, False)
    if found is None:
        return 1
    medians = found
    base = medians["noop"]
    export = {name: max(medians[name] - base, 1e-9) for name in EXPORTERS if name != "noop"}
    print(f"through a BatchSpanProcessor: {args.spans} spans x {args.repeat} runs, median per span")
    print(f"{'exporter':<10} {'total us':>10} {'export us':>10} {'spans/s (export)':>17}")
    for name in EXPORTERS:
        cost = export.get(name)
        extra = f"{cost * 1e6:10.1f} {1 / cost:17,.0f}" if cost else f"{0:10.1f} {'-':>17}"
        print(f"{name:<10} {medians[name] * 1e6:10.1f} {extra}")
    print(
        f"jsonl vs official file exporter: {export['file'] / export['jsonl']:.2f}x throughput "
        f"(target >= 2x); vs console: {export['console'] / export['jsonl']:.2f}x (target >= 10x)"
    )
    print(
        f"including span creation and batching: {medians['file'] / medians['jsonl']:.2f}x and "
        f"{medians['console'] / medians['jsonl']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-span cost of exporting GenAI spans through a BatchSpanProcessor, three exporters compared.

Exporters: ``JsonlSpanExporter`` (this project, defaults: cap 4 KB, redaction on), the official
``opentelemetry-exporter-otlp-json-file`` ``FileSpanExporter``, and ``ConsoleSpanExporter``
writing to /dev/null; plus an exporter that does nothing, whose cost (creating and batching
the spans) is subtracted to give the export cost alone. Every exporter runs in its own
subprocess with the same span generator (this file): the official file exporter conflicts with
the OTLP exporters' pinned common package, so it runs in a venv this script creates under
``.cache/bench-otlp-json-file``.

Each span has 10 ``gen_ai.*`` attributes and captured input and output messages (JSON strings,
as openai-v2 writes them). Prints medians of ``--repeat`` runs and ratios.

    .venv/bin/python bench/exporter.py [--spans 5000] [--repeat 7]
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


def worker(name: str, spans: int, repeat: int) -> None:
    """Measure one exporter and print the per-span seconds of each run as JSON."""
    run_once(name, min(spans, 500))  # warm-up: imports, first file open
    print(json.dumps([run_once(name, spans) for _ in range(repeat)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--worker", choices=EXPORTERS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.spans, args.repeat)
        return 0
    baseline_python = ensure_baseline_venv()
    medians: dict[str, float] = {}
    for name in EXPORTERS:
        python = str(baseline_python) if name == "file" else sys.executable
        proc = subprocess.run(
            [
                python,
                __file__,
                "--worker",
                name,
                "--spans",
                str(args.spans),
                "--repeat",
                str(args.repeat),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr}", file=sys.stderr)
            return 1
        medians[name] = statistics.median(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = medians["noop"]
    export = {name: max(medians[name] - base, 1e-9) for name in EXPORTERS if name != "noop"}
    print(f"{args.spans} spans x {args.repeat} runs, median per span")
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

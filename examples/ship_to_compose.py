"""Convert a trace file to OTLP and ship it to the compose stack (collector -> Jaeger, Phoenix).

A run becomes a trace and each step a span with the GenAI attributes Jaeger and Phoenix show
(``invoke_agent`` root, ``chat`` spans for model calls, one ``execute_tool`` span per tool call
and result). Ids are derived from the run and the step, so shipping the same file twice does
not create a second copy of the trace. The spans are also written as an OTLP JSON lines file,
which the Jaeger UI opens and the collector's ``otlp_json_file`` receiver reads.

Against the compose stack (docker-compose.yml)::

    mkdir -p traces/collector traces/replay && docker compose up -d
    make demo                                  # writes traces/demo.jsonl
    python examples/ship_to_compose.py traces/demo.jsonl
    # Jaeger: http://127.0.0.1:16686   Phoenix: http://127.0.0.1:6006 (project otel-jsonl-examples)

``OTEL_EXPORTER_OTLP_ENDPOINT`` is where spans go (default ``http://127.0.0.1:4318``, the
collector's OTLP/HTTP port; ``/v1/traces`` is added). The tests point it at a loopback OTLP
receiver. The same from the command line::

    otel-jsonl convert traces/demo.jsonl -o traces/demo.otlp.jsonl \\
        --endpoint http://127.0.0.1:4318 \\
        --resource-attr openinference.project.name=otel-jsonl-examples
"""

from __future__ import annotations

import os
import sys

from otel_jsonl import read_events
from otel_jsonl.otel.otlp_json import write_otlp_json
from otel_jsonl.otel.ship import RetryPolicy, Shipper, make_span_exporter, resolve_endpoint
from otel_jsonl.otel.to_spans import ConvertStats, events_to_spans

PROJECT = "otel-jsonl-examples"  # Phoenix groups traces by this resource attribute


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "traces/demo.jsonl"
    out = sys.argv[2] if len(sys.argv) > 2 else path.removesuffix(".jsonl") + ".otlp.jsonl"
    endpoint = resolve_endpoint(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), "http/protobuf"
    )

    # 1. Events to spans (strict: a bad line stops here, with its file and line number).
    stats = ConvertStats()
    events = read_events(path, strict=True)
    resource_attrs = {"service.name": "otel-jsonl-example", "openinference.project.name": PROJECT}
    spans = list(events_to_spans(events, resource_attrs=resource_attrs, stats=stats))
    print(f"{path}: {stats.lines} events -> {stats.spans} spans in {stats.runs} runs")

    # 2. An OTLP JSON lines file (one TracesData per line).
    with open(out, "wb") as fh:
        write_otlp_json(spans, fh)
    print(f"wrote {out}")

    # 3. Ship over OTLP/HTTP with the SDK's exporter, retried with backoff if the collector is
    #    down or refusing; nothing is dropped silently: the report says what got through.
    exporter = make_span_exporter(endpoint, timeout=10)
    retry = RetryPolicy(attempts=3, initial_backoff=1.0, max_time=30.0)
    with Shipper(exporter, endpoint=endpoint, retry=retry) as shipper:
        shipper.add_all(spans)
    report = shipper.report
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

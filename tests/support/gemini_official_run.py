"""Run the Gemini tool loop under the official `opentelemetry-instrumentation-google-genai`.

Runs in the venv that scripts/install-genai-official.sh builds (google-genai < 3, util-genai
1.3b0), as a subprocess of the tests:

    python tests/support/gemini_official_run.py CAPTURE BASE_URL OUT.jsonl json|sse [...]

running the loop once per (BASE_URL, OUT.jsonl, mode) triple, each with its own providers
exporting spans and log records through `JsonlSpanExporter` and `JsonlLogExporter` into its
OUT.jsonl (one process for several runs: importing the clients is most of the time). CAPTURE is
the value of `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (`SPAN_ONLY`, `EVENT_ONLY`,
`SPAN_AND_EVENT`, or `off`). Prints each loop's final answer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    capture, *runs = sys.argv[1:]
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    if capture != "off":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = capture
    for start in range(0, len(runs) - 2, 3):
        base_url, out, mode = runs[start : start + 3]
        run(base_url, out, stream=mode == "sse", content=capture != "off")


def run(base_url: str, out: str, *, stream: bool, content: bool) -> None:
    from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter
    from otel_jsonl.otel.joiner import LogJoiner
    from support.more_loops import run_gemini_loop
    from support.span_recorder import SpanRecorder

    joiner = LogJoiner()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(out, joiner=joiner)))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(JsonlLogExporter(out, joiner=joiner))
    )
    instrumentor = GoogleGenAiSdkInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
    recorder = SpanRecorder(tracer_provider.get_tracer("agent-app"), content)
    try:
        print(run_gemini_loop(base_url, stream=stream, recorder=recorder))
    finally:
        instrumentor.uninstrument()
        logger_provider.force_flush()
        tracer_provider.shutdown()
        logger_provider.shutdown()


if __name__ == "__main__":
    main()

"""What the agent-framework rules cost the span exporter, per span.

Maps the spans of bench/exporter.py (a chat span with 10 ``gen_ai.*`` attributes and captured
messages) plus, for every chat span, a tool span without a call id and, every tenth, an agent
span, three ways, interleaved ``--repeat`` times:

- ``plain``: ``span_to_events(span)``, the mapping alone (what it cost before the rules, but for
  the per-span part repair, which is inside the mapping and measured on its own below);
- ``rules``: ``span_to_events(span, run_steps=steps)`` and ``steps.settle(run, lines)``, as the
  exporter runs it: the nested-agent and root-chain decision, tool pairing, agent filling;
- ``repair``: ``repair_parts`` on the chat span's parsed input and output messages alone.

Prints the median microseconds per span and the ratio rules / plain.

    .venv/bin/python bench/frameworks.py [--spans 3000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exporter import INPUT, OUTPUT, attributes

from otel_jsonl.genai.frameworks import repair_parts
from otel_jsonl.genai.run_steps import RunSteps
from otel_jsonl.otel.mapping import span_to_events


def make_spans(count: int) -> list[Any]:
    """``count`` chat spans, each followed by a tool span; an agent span every tenth."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    tool = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.arguments": '{"city":"Lisbon"}',
        "gen_ai.tool.call.result": "sunny",
    }
    for start in range(0, count, 10):
        with tracer.start_as_current_span(
            "invoke_agent", attributes={"gen_ai.operation.name": "invoke_agent"}
        ):
            for i in range(start, min(start + 10, count)):
                with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attributes(i)):
                    pass
                with tracer.start_as_current_span("execute_tool get_weather", attributes=tool):
                    pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def plain(spans: list[Any]) -> float:
    start = time.perf_counter()
    for span in spans:
        span_to_events(span)
    return (time.perf_counter() - start) / len(spans)


def rules(spans: list[Any]) -> float:
    steps = RunSteps()
    start = time.perf_counter()
    for span in spans:
        lines = span_to_events(span, run_steps=steps)
        steps.settle(lines[0]["run"], lines)
        steps.end(lines[0]["run"], lines[0].get("parent_id"))
    return (time.perf_counter() - start) / len(spans)


def repair(count: int) -> float:
    inputs, outputs = json.loads(INPUT), json.loads(OUTPUT)
    start = time.perf_counter()
    for _ in range(count):
        repair_parts(inputs)
        repair_parts(outputs)
    return (time.perf_counter() - start) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    spans = make_spans(args.spans)
    plain(spans[:200])
    rules(spans[:200])
    results: dict[str, list[float]] = {"plain": [], "rules": [], "repair": []}
    for i in range(args.repeat):  # interleaved, the order alternating: the machine is noisy
        order = ("plain", "rules") if i % 2 == 0 else ("rules", "plain")
        for name in order:
            gc.collect()
            results[name].append(plain(spans) if name == "plain" else rules(spans))
        results["repair"].append(repair(args.spans))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"{len(spans)} spans x {args.repeat} runs, median microseconds per span")
    for name, value in medians.items():
        print(f"{name:<8} {value * 1e6:8.2f}")
    print(f"rules / plain: {medians['rules'] / medians['plain']:.3f}x")
    print(f"repair of a chat span's messages / plain: {medians['repair'] / medians['plain']:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

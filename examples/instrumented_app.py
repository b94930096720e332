"""An app instrumented with OpenTelemetry: its spans land in the same JSONL trace file.

The app is a plain OpenAI tool loop with no recorder calls at all. The official
``opentelemetry-instrumentation-openai-v2`` makes one ``chat`` span per model call (written as
an ``llm_call`` line, with the messages when content capture is on); the app's own agent and
tool spans (OpenTelemetry API only) become the run's ``input``/``final`` and the
``tool_call``/``tool_result`` lines. ``otel_jsonl.configure()`` sets up a tracer and a logger
provider that write it all to one file. Two ways to run it.

1. Set up in code (``setup_telemetry()`` below)::

       pip install 'otel-jsonl[openai-v2]'
       export OPENAI_API_KEY=sk-...
       python examples/instrumented_app.py traces/instrumented_app.jsonl

2. Unchanged, under ``opentelemetry-instrument``: the command configures the SDK and loads
   every installed instrumentation before the app starts, and ``setup_telemetry()`` sees that
   and does nothing. The ``jsonl`` exporters are found by name (entry points)::

       OTEL_TRACES_EXPORTER=jsonl OTEL_LOGS_EXPORTER=jsonl \\
       OTEL_METRICS_EXPORTER=none \\
       OTEL_EXPORTER_JSONL_PATH=traces/instrumented_app.jsonl \\
       OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY \\
       OTEL_SERVICE_NAME=weather-app \\
       opentelemetry-instrument python examples/instrumented_app.py

   ``opentelemetry-instrument`` loads *every* installed OpenAI instrumentation (openai-v2,
   OpenInference and OpenLLMetry share the entry-point name ``openai``, so
   ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` cannot pick one): with several installed, each call
   gives nested spans, written as one ``llm_call`` and ``span`` lines marked ``duplicate_of``.
   Install only the one you want.

``OPENAI_BASE_URL`` points the client elsewhere (the tests use a loopback server that speaks
the OpenAI wire format, with a dummy key); ``OPENAI_MODEL`` picks the model.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import openai

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
SYSTEM_PROMPT = "You are a concise weather assistant. Use the tools you are given."
USER_PROMPT = "What is the weather in Lisbon?"
MAX_TURNS = 8
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def get_weather(city: str) -> str:
    return json.dumps({"city": city, "conditions": "sunny", "temperature_c": 21})


def setup_telemetry(path: str) -> None:
    """Write spans and GenAI log records to ``path``, unless OpenTelemetry is already set up
    (``opentelemetry-instrument`` did it from the environment)."""
    from opentelemetry import trace

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # a real provider is in place: the environment configured everything
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    import otel_jsonl

    # Messages on the span (openai-v2 reads this on every call); unset, no content is kept.
    os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    # One call: spans and logs into one file, flushed and closed at exit.
    tracer_provider, logger_provider = otel_jsonl.configure(path, service_name="weather-app")
    OpenAIInstrumentor().instrument(  # type: ignore[no-untyped-call]
        tracer_provider=tracer_provider, logger_provider=logger_provider
    )


def run(client: openai.OpenAI) -> str:
    """The app: a tool loop. Model calls are traced by the instrumentation; the app adds an
    agent span around the loop (so both calls are one run) and a span per tool call, with the
    OpenTelemetry API only (no otel-jsonl import)."""
    from opentelemetry import trace

    tracer = trace.get_tracer("weather-app")
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_PROMPT},
    ]
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather-agent"}
    prompt = [{"role": "user", "parts": [{"type": "text", "content": USER_PROMPT}]}]
    with tracer.start_as_current_span("invoke_agent weather-agent", attributes=agent) as root:
        # Recorded as the run's input step: a replay starts from the real prompt.
        root.set_attribute("gen_ai.input.messages", json.dumps(prompt))
        for _ in range(MAX_TURNS):
            resp = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            msg = resp.choices[0].message.model_dump(exclude_none=True)
            messages.append(msg)
            if not msg.get("tool_calls"):
                answer = str(msg.get("content") or "")
                out = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
                root.set_attribute("gen_ai.output.messages", json.dumps(out))
                return answer
            for call in msg["tool_calls"]:
                name, args = call["function"]["name"], call["function"]["arguments"]
                tool = {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": name,
                    "gen_ai.tool.call.id": call["id"],
                    "gen_ai.tool.call.arguments": args,
                }
                # One span per tool call: a tool_call and a tool_result line with its call id.
                with tracer.start_as_current_span(f"execute_tool {name}", attributes=tool) as span:
                    result = get_weather(**json.loads(args or "{}"))
                    span.set_attribute("gen_ai.tool.call.result", result)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    raise RuntimeError(f"no final answer after {MAX_TURNS} turns")


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "traces/instrumented_app.jsonl"
    setup_telemetry(path)
    with openai.OpenAI(max_retries=2, timeout=60.0) as client:
        print(run(client))
    # configure() (and opentelemetry-instrument) flush and close the file at exit.
    return 0


if __name__ == "__main__":
    sys.exit(main())

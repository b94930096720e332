"""The two-turn weather loop run by agent frameworks, traced into JSONL: a subprocess entry point.

    python -m support.frameworks FRAMEWORK BRIDGE --base-url URL --out FILE [--stream]

runs the real framework once against the loopback server at `URL` (an OpenAI-compatible
`/v1` base URL), with the bridge's instrumentation switched on and `otel_jsonl.configure()`
exporting spans and log records into `FILE`, then prints the final answer as JSON.

Frameworks and bridges (`FRAMEWORKS`):
- `langchain`: `langchain.agents.create_agent` with `langchain_openai.ChatOpenAI` (Chat
  Completions), through `openinference` or `openllmetry` (their langchain instrumentations).
- `pydantic-ai`: `pydantic_ai.Agent` with `OpenAIChatModel` (Chat Completions), through its
  built-in instrumentation, data format `v5` or `v6`.
- `openai-agents`: the OpenAI Agents SDK on the Responses API (`--api chat` for Chat
  Completions), through `openinference`, `openllmetry` or `official`
  (`opentelemetry-instrumentation-openai-agents-v2`). The SDK's own upload to OpenAI is removed
  with `set_trace_processors([])` before the bridge registers its processor.

A subprocess because every bridge patches its framework for the whole process, and because two
of the agents bridges install the same module and live in virtual environments of their own
(scripts/install-agents-venv.sh): this module imports only the standard library at the top, so
it runs in those environments too. Content capture is on for every bridge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "API_KEY",
    "FRAMEWORKS",
    "MODEL",
    "SYSTEM_PROMPT",
    "USER_PROMPT",
    "get_weather",
    "main",
]

API_KEY = "test-key"
MODEL = "gpt-4o-mini"
SYSTEM_PROMPT = "You are a concise weather assistant. Use the tools you are given."
USER_PROMPT = "What is the weather in Lisbon?"
TOOL_DESCRIPTION = "Current weather for a city."
TIMEOUT = 10.0
"""Seconds a client waits for the loopback server."""

FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "langchain": ("openinference", "openllmetry"),
    "pydantic-ai": ("v5", "v6"),
    "openai-agents": ("openinference", "openllmetry", "official"),
}
"""Each framework and the bridges (instrumentations or data formats) it runs with."""


def get_weather(city: str) -> str:
    """The deterministic tool (the same as tests/support/agent_loops.py's)."""
    return json.dumps({"city": city, "conditions": "sunny", "temperature_c": 21})


# --- LangChain / LangGraph -----------------------------------------------------------------


def _langchain(bridge: str, base_url: str, stream: bool, tracer_provider: Any) -> str:
    if bridge == "openinference":
        from openinference.instrumentation.langchain import LangChainInstrumentor

        LangChainInstrumentor().instrument(tracer_provider=tracer_provider)
    else:
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        LangchainInstrumentor().instrument(tracer_provider=tracer_provider)
    from langchain.agents import create_agent
    from langchain_core.tools import StructuredTool
    from langchain_openai import ChatOpenAI

    tool = StructuredTool.from_function(get_weather, name="get_weather")
    model = ChatOpenAI(
        model=MODEL,
        base_url=base_url,
        api_key=API_KEY,  # type: ignore[arg-type]
        max_retries=0,
        timeout=TIMEOUT,
        streaming=stream,
        stream_usage=True,
    )
    agent = create_agent(model, tools=[tool], system_prompt=SYSTEM_PROMPT)
    state = agent.invoke({"messages": [{"role": "user", "content": USER_PROMPT}]})
    return str(state["messages"][-1].content)


# --- Pydantic AI ---------------------------------------------------------------------------


def _pydantic_ai(bridge: str, base_url: str, stream: bool, tracer_provider: Any) -> str:
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    version = 6 if bridge == "v6" else 5
    # The documented switch for every agent in the process (the global tracer provider).
    Agent.instrument_all(InstrumentationSettings(version=version, include_content=True))
    provider = OpenAIProvider(base_url=base_url, api_key=API_KEY)
    agent = Agent(OpenAIChatModel(MODEL, provider=provider), instructions=SYSTEM_PROMPT)
    agent.tool_plain(name="get_weather", description=TOOL_DESCRIPTION)(get_weather)
    if not stream:
        return str(agent.run_sync(USER_PROMPT).output)

    async def streamed() -> str:
        async with agent.run_stream(USER_PROMPT) as run:
            return str(await run.get_output())

    return asyncio.run(streamed())


# --- OpenAI Agents SDK ---------------------------------------------------------------------


def _openai_agents(
    bridge: str, base_url: str, stream: bool, tracer_provider: Any, api: str = "responses"
) -> str:
    import agents
    import openai

    # Before the bridge adds its processor: this drops the SDK's exporter to OpenAI's backend.
    agents.set_trace_processors([])
    if bridge == "openinference":
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

        OpenAIAgentsInstrumentor().instrument(tracer_provider=tracer_provider)
    else:
        # OpenLLMetry's and the official bridge install this same module (one venv each).
        from opentelemetry.instrumentation.openai_agents import (
            OpenAIAgentsInstrumentor as Bridge,
        )

        Bridge().instrument(tracer_provider=tracer_provider)
    client = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=TIMEOUT)
    model: Any
    if api == "chat":
        model = agents.OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
    else:
        model = agents.OpenAIResponsesModel(model=MODEL, openai_client=client)
    tool = agents.function_tool(get_weather, description_override=TOOL_DESCRIPTION)
    agent = agents.Agent(name="weather", instructions=SYSTEM_PROMPT, model=model, tools=[tool])

    async def run() -> str:
        if not stream:
            result = await agents.Runner.run(agent, USER_PROMPT)
            return str(result.final_output)
        streamed = agents.Runner.run_streamed(agent, USER_PROMPT)
        async for _ in streamed.stream_events():
            pass
        return str(streamed.final_output)

    return asyncio.run(run())


def _span_dump(path: str) -> Any:
    """A span processor writing each finished span's ``to_json()`` as one line of ``path``
    (what the test compares the spans rebuilt from the JSONL file with)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Dump(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(span.to_json(indent=None) + "\n" for span in spans)
            return SpanExportResult.SUCCESS

    return SimpleSpanProcessor(Dump())


_RUNNERS: dict[str, Callable[..., str]] = {
    "langchain": _langchain,
    "pydantic-ai": _pydantic_ai,
    "openai-agents": _openai_agents,
}


def main(argv: list[str] | None = None) -> int:
    """Run one framework x bridge through the loop; print the final answer as JSON."""
    parser = argparse.ArgumentParser(prog="python -m support.frameworks")
    parser.add_argument("framework", choices=sorted(FRAMEWORKS))
    parser.add_argument("bridge")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--api", choices=["responses", "chat"], default="responses")
    parser.add_argument("--spans", help="also write each span's to_json() here, one a line")
    args = parser.parse_args(argv)
    if args.bridge not in FRAMEWORKS[args.framework]:
        parser.error(f"{args.framework} runs with {', '.join(FRAMEWORKS[args.framework])}")
    # Content capture on, whichever variable the bridge reads.
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"

    import otel_jsonl

    tracer_provider, logger_provider = otel_jsonl.configure(args.out, batch=False)
    if args.spans:
        tracer_provider.add_span_processor(_span_dump(args.spans))
    extra = {"api": args.api} if args.framework == "openai-agents" else {}
    try:
        answer = _RUNNERS[args.framework](
            args.bridge, args.base_url, args.stream, tracer_provider, **extra
        )
    finally:
        logger_provider.force_flush()
        tracer_provider.shutdown()
        logger_provider.shutdown()
    print(json.dumps({"final": answer}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

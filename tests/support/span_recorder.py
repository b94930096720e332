"""The loop's recorder callback as spans: what an instrumented app adds around its model calls.

Like the `SpanRecorder` of tests/test_instrumentations.py, importable from a subprocess: an
`invoke_agent` span around the run and an `execute_tool` span around each tool execution, with
the GenAI attributes (arguments, result and messages only when `content`). A tool call without
an id (Gemini's are optional) gets no `gen_ai.tool.call.id`.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from otel_jsonl.genai.messages import to_parts

__all__ = ["SpanRecorder"]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class SpanRecorder:
    """`recorder(kind, **fields)` for the loops in support.agent_loops and support.more_loops."""

    def __init__(self, tracer: trace.Tracer, content: bool) -> None:
        self.tracer = tracer
        self.content = content
        self._open: list[tuple[trace.Span, object]] = []

    def _start(self, name: str, attrs: dict[str, Any]) -> None:
        span = self.tracer.start_span(name, attributes=attrs)
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open.append((span, token))

    def _end(self, attrs: dict[str, Any]) -> None:
        span, token = self._open.pop()
        span.set_attributes(attrs)
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]

    def __call__(self, kind: str, /, **fields: Any) -> None:
        """Open or close the span of one step."""
        if kind == "input":
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "weather",
            }
            if self.content:
                messages = [to_parts(m) for m in fields["messages"]]
                attrs["gen_ai.input.messages"] = _compact(messages)
            self._start("invoke_agent weather", attrs)
        elif kind == "tool_call":
            attrs = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": fields["name"],
                "gen_ai.tool.type": "function",
            }
            if fields.get("id") is not None:
                attrs["gen_ai.tool.call.id"] = fields["id"]
            if self.content:
                attrs["gen_ai.tool.call.arguments"] = _compact(fields["args"])
            self._start(f"execute_tool {fields['name']}", attrs)
        elif kind == "tool_result":
            self._end({"gen_ai.tool.call.result": fields["output"]} if self.content else {})
        elif kind == "final":
            out = [{"role": "assistant", "parts": [{"type": "text", "content": fields["text"]}]}]
            self._end({"gen_ai.output.messages": _compact(out)} if self.content else {})

"""Smoke tests: a real Phoenix server on loopback ingests a GenAI span tree over OTLP."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind

if TYPE_CHECKING:  # imported at run time by pytest_plugins only, so pytest can rewrite it
    from support.phoenix import PhoenixServer

pytest_plugins = ["support.phoenix"]

pytestmark = pytest.mark.phoenix

MODEL = "gpt-4o-mini"
INPUT_TOKENS = 31
OUTPUT_TOKENS = 9


def send_agent_tree(exporter: SpanExporter, project: str) -> dict[str, Any]:
    """Export invoke_agent -> (chat, execute_tool) through `exporter`; return the ids sent."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "otel-jsonl-tests", "openinference.project.name": project}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otel-jsonl.tests.phoenix")
    conversation = f"conv-{uuid.uuid4().hex}"  # session ids are global in Phoenix
    try:
        with tracer.start_as_current_span(
            "invoke_agent weather-agent",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "weather-agent",
                "gen_ai.conversation.id": conversation,
            },
        ) as root:
            with tracer.start_as_current_span(
                f"chat {MODEL}",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": MODEL,
                    "gen_ai.response.model": MODEL,
                    "gen_ai.usage.input_tokens": INPUT_TOKENS,
                    "gen_ai.usage.output_tokens": OUTPUT_TOKENS,
                    "gen_ai.response.finish_reasons": ("tool_calls",),
                },
            ) as chat:
                pass
            with tracer.start_as_current_span(
                "execute_tool get_weather",
                kind=SpanKind.INTERNAL,
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "get_weather",
                    "gen_ai.tool.call.id": "call_1",
                },
            ) as tool:
                pass
    finally:
        provider.shutdown()
    return {
        "trace_id": format(root.get_span_context().trace_id, "032x"),
        "root": format(root.get_span_context().span_id, "016x"),
        "chat": format(chat.get_span_context().span_id, "016x"),
        "tool": format(tool.get_span_context().span_id, "016x"),
    }


def check_agent_tree(phoenix: PhoenixServer, project: str, sent: dict[str, Any]) -> None:
    """Read `project` back from Phoenix and compare it with the tree `sent`."""
    spans = phoenix.spans(project, expect=3)
    by_name = {span["name"]: span for span in spans}
    assert sorted(by_name) == sorted(
        ["invoke_agent weather-agent", f"chat {MODEL}", "execute_tool get_weather"]
    ), spans
    root = by_name["invoke_agent weather-agent"]
    chat = by_name[f"chat {MODEL}"]
    tool = by_name["execute_tool get_weather"]

    assert {span["context"]["trace_id"] for span in spans} == {sent["trace_id"]}
    assert root["context"]["span_id"] == sent["root"]
    assert chat["context"]["span_id"] == sent["chat"]
    assert tool["context"]["span_id"] == sent["tool"]
    assert root["parent_id"] is None
    assert chat["parent_id"] == sent["root"]
    assert tool["parent_id"] == sent["root"]

    # Phoenix translates gen_ai.* to OpenInference on ingest.
    assert (root["span_kind"], chat["span_kind"], tool["span_kind"]) == ("AGENT", "LLM", "TOOL")
    attributes = chat["attributes"]
    assert attributes["llm.model_name"] == MODEL
    assert attributes["llm.token_count.prompt"] == INPUT_TOKENS
    assert attributes["llm.token_count.completion"] == OUTPUT_TOKENS
    assert attributes["gen_ai.usage.input_tokens"] == INPUT_TOKENS
    assert tool["attributes"]["tool.name"] == "get_weather"


@pytest.fixture
def project() -> str:
    """A project name no other test uses."""
    return f"otel-jsonl-smoke-{uuid.uuid4().hex[:12]}"


def test_http_protobuf_span_tree(phoenix: PhoenixServer, project: str) -> None:
    """A span tree sent with the SDK's OTLP/HTTP exporter comes back with kinds, model, tokens."""
    sent = send_agent_tree(HttpSpanExporter(endpoint=phoenix.otlp_http_endpoint), project)
    check_agent_tree(phoenix, project, sent)


def test_grpc_span_tree(phoenix: PhoenixServer, project: str) -> None:
    """The same span tree sent with the SDK's OTLP/gRPC exporter comes back the same."""
    if phoenix.otlp_grpc_endpoint is None:
        pytest.skip("this Phoenix fixture offers no gRPC endpoint")
    sent = send_agent_tree(
        GrpcSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True), project
    )
    check_agent_tree(phoenix, project, sent)


def test_listens_on_loopback_only(phoenix: PhoenixServer) -> None:
    """Phoenix's HTTP and gRPC sockets listen on loopback addresses only."""
    sockets = phoenix.listening_sockets()
    assert {port for _, port in sockets} >= {phoenix.http_port, phoenix.grpc_port}
    assert all(
        address.startswith(("127.", "::ffff:127.")) or address == "::1" for address, _ in sockets
    ), sockets

"""End to end: `otel-jsonl convert --endpoint` ships trace files to a real Phoenix on loopback."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.agent_loops import run_openai_loop
from support.fixtures import instrumented_openai_v2

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.otel.exporter import JsonlSpanExporter
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events

if TYPE_CHECKING:
    from support.phoenix import PhoenixServer
    from support.providers import ProviderServer

pytestmark = pytest.mark.phoenix


@pytest.fixture
def project() -> str:
    """A project name no other test uses."""
    return f"otel-jsonl-e2e-{uuid.uuid4().hex[:12]}"


def seconds(iso: str) -> float:
    """Unix seconds of one of Phoenix's ISO timestamps."""
    when = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def assert_times(got: dict[str, Any], want: ReadableSpan) -> None:
    """Start and end agree to the microsecond (Phoenix keeps microseconds)."""
    assert abs(seconds(got["start_time"]) - want.start_time / 1e9) <= 1.5e-6  # type: ignore[operator]
    assert abs(seconds(got["end_time"]) - want.end_time / 1e9) <= 1.5e-6  # type: ignore[operator]


def ship(path: Path, endpoint: str, project: str, *extra: str) -> None:
    """Convert and send ``path`` to Phoenix's ``endpoint`` into ``project``."""
    rc = main(
        [
            "convert",
            str(path),
            "--endpoint",
            endpoint,
            *extra,
            "--resource-attr",
            f"openinference.project.name={project}",
            "--timeout",
            "10",
            "-q",
        ]
    )
    assert rc == 0


def test_demo_trace_in_phoenix(phoenix: PhoenixServer, project: str, tmp_path: Path) -> None:
    """The demo trace arrives as one AGENT root with LLM and TOOL children, models and tokens."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id=uuid.uuid4().hex[:8])
    sent = {f"{s.context.span_id:016x}": s for s in events_to_spans(read_events(path))}  # type: ignore[union-attr]
    ship(path, phoenix.otlp_http_endpoint, project)
    spans = phoenix.spans(project, expect=len(sent))
    assert len(spans) == len(sent), spans
    root = next(s for s in sent.values() if s.parent is None)
    root_id = f"{root.context.span_id:016x}"  # type: ignore[union-attr]
    trace_id = f"{root.context.trace_id:032x}"  # type: ignore[union-attr]
    kinds = []
    for got in spans:
        want = sent[got["context"]["span_id"]]
        assert got["name"] == want.name
        assert got["context"]["trace_id"] == trace_id
        assert got["parent_id"] == (None if want is root else root_id)
        assert_times(got, want)
        kinds.append(got["span_kind"])
        attrs = got["attributes"]
        if got["span_kind"] == "LLM":
            assert attrs["llm.model_name"] == "fake-travel-1"
            want_attrs = want.attributes or {}
            assert attrs["llm.token_count.prompt"] == want_attrs["gen_ai.usage.input_tokens"]
            assert attrs["llm.token_count.completion"] == want_attrs["gen_ai.usage.output_tokens"]
        if got["span_kind"] == "TOOL":
            assert attrs["tool.name"] in ("get_weather", "list_events")
    assert sorted(kinds) == ["AGENT", "LLM", "LLM", "TOOL", "TOOL"]


def test_instrumented_openai_trace_in_phoenix(
    phoenix: PhoenixServer, project: str, tmp_path: Path, openai_server: ProviderServer
) -> None:
    """A file recorded by JsonlSpanExporter from the real openai-v2 instrumentation arrives
    in Phoenix with the original ids, times, model and token counts."""
    path = tmp_path / "openai.jsonl"
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    try:
        with instrumented_openai_v2(provider):
            run_openai_loop(openai_server.openai_base_url)
    finally:
        provider.shutdown()
    originals = {f"{s.context.span_id:016x}": s for s in memory.get_finished_spans()}  # type: ignore[union-attr]
    assert originals
    ship(path, phoenix.otlp_http_endpoint, project)
    spans = phoenix.spans(project, expect=len(originals))
    assert len(spans) == len(originals), spans
    for got in spans:
        want = originals[got["context"]["span_id"]]
        attrs = want.attributes or {}
        assert got["name"] == want.name
        assert got["context"]["trace_id"] == f"{want.context.trace_id:032x}"  # type: ignore[union-attr]
        assert got["parent_id"] == (None if want.parent is None else f"{want.parent.span_id:016x}")
        assert_times(got, want)
        assert got["span_kind"] == "LLM"
        assert got["attributes"]["llm.model_name"] == attrs["gen_ai.request.model"]
        assert got["attributes"]["llm.token_count.prompt"] == attrs["gen_ai.usage.input_tokens"]
        assert (
            got["attributes"]["llm.token_count.completion"] == attrs["gen_ai.usage.output_tokens"]
        )


def test_demo_trace_over_grpc_in_phoenix(
    phoenix: PhoenixServer, project: str, tmp_path: Path
) -> None:
    """`convert --protocol grpc` ships the demo trace over OTLP/gRPC with the same span ids."""
    if phoenix.otlp_grpc_endpoint is None:
        pytest.fail("the Phoenix fixture started without its loopback gRPC receiver")
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id=uuid.uuid4().hex[:8], latency=0.0)
    sent = {f"{s.context.span_id:016x}": s for s in events_to_spans(read_events(path))}  # type: ignore[union-attr]
    ship(path, phoenix.otlp_grpc_endpoint, project, "--protocol", "grpc", "--insecure")
    spans = phoenix.spans(project, expect=len(sent))
    assert sorted(s["context"]["span_id"] for s in spans) == sorted(sent)
    assert sorted(s["span_kind"] for s in spans) == ["AGENT", "LLM", "LLM", "TOOL", "TOOL"]
    for got in spans:
        assert got["name"] == sent[got["context"]["span_id"]].name

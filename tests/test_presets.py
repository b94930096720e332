"""Tests for otel_jsonl.otel.presets: ``convert --to otlp|phoenix|langfuse`` against loopback
receivers that check the path, the credentials and the protobuf body."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.agent_loops import run_openai_loop
from support.log_orders import record_run
from support.otlp_grpc_receiver import OtlpGrpcReceiver
from support.otlp_receiver import OtlpReceiver
from support.providers import ProviderServer, Turn

from otel_jsonl.cli import main
from otel_jsonl.otel.presets import resolve_preset
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events
from otel_jsonl.record.trace import Trace

PUBLIC, SECRET = "pk-lf-test", "sk-lf-test"
BASIC = "Basic " + base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
_BACKEND_VARS = (
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LANGFUSE_HOST",
    "LANGFUSE_BASE_URL",
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_API_KEY",
    "PHOENIX_CLIENT_HEADERS",
    "PHOENIX_PROJECT_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _BACKEND_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def agent_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorder trace of the tool loop: input, llm_calls, tool calls and results, final."""
    path = tmp_path_factory.mktemp("agent") / "agent.jsonl"
    script = (Turn.call("get_weather", {"city": "Lisbon"}), Turn.reply("Sunny: {tool_result}"))
    with ProviderServer(script) as server, Trace(path, run_id="run-presets") as trace:
        run_openai_loop(server.openai_base_url, recorder=trace.step)
    return path


@pytest.fixture
def langfuse() -> Iterator[OtlpReceiver]:
    """A Langfuse-shaped receiver: /api/public/otel/v1/traces, Basic auth."""
    with OtlpReceiver(prefix="/api/public/otel", authorization=BASIC) as receiver:
        yield receiver


def _expected_span_ids(path: Path) -> list[str]:
    spans = events_to_spans(ev for _, ev in read_events(path))
    return sorted(format(s.context.span_id, "016x") for s in spans if s.context is not None)


def _attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [v.string_value for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, kind) if kind else None
    return out


def test_langfuse_delivers_every_span_once_with_its_attributes(
    agent_file: Path,
    langfuse: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--to langfuse: right path, Basic auth, every span once, generations and tools."""
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{langfuse.port}")
    argv = ["convert", str(agent_file), "--to", "langfuse", "--tag", "nightly", "--user", "ana"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"to {langfuse.endpoint}" in err and "(1 attempt, 0 failed)" in err
    assert set(langfuse.paths) == {"/api/public/otel/v1/traces"}
    assert {h["content-type"] for h in langfuse.headers} == {"application/x-protobuf"}
    assert sorted(s.span_id.hex() for s in langfuse.spans) == _expected_span_ids(agent_file)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for span in langfuse.spans:
        attrs = _attrs(span)
        by_type.setdefault(str(attrs.get("langfuse.observation.type")), []).append(attrs)
    assert len(by_type["generation"]) == 2
    for attrs in by_type["generation"]:
        assert attrs["langfuse.observation.model.name"] == "gpt-4o-mini"
        usage = json.loads(attrs["langfuse.observation.usage_details"])
        assert usage["total"] == usage["input"] + usage["output"] > 0
        assert json.loads(attrs["langfuse.observation.output"])[0]["role"] == "assistant"
    (tool,) = by_type["tool"]
    assert json.loads(tool["langfuse.observation.input"]) == {"city": "Lisbon"}
    assert "sunny" in tool["langfuse.observation.output"]
    (agent,) = by_type["agent"]
    assert agent["langfuse.trace.tags"] == ["nightly"]
    assert agent["langfuse.user.id"] == "ana"
    assert agent["langfuse.trace.name"] and agent["session.id"]
    assert "Sunny" in agent["langfuse.trace.output"]


def test_langfuse_wrong_key_is_a_clear_error(
    agent_file: Path,
    langfuse: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong Langfuse key: exit 1, one line naming the variables, no retry."""
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-wrong")
    monkeypatch.setenv("LANGFUSE_HOST", f"http://127.0.0.1:{langfuse.port}")
    assert main(["convert", str(agent_file), "--to", "langfuse", "-q"]) == 1
    err = capsys.readouterr().err
    assert "refused the credentials of --to langfuse" in err
    assert "LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY" in err and "401" in err
    assert "Traceback" not in err
    assert langfuse.unauthorized == langfuse.requests == 1
    assert not langfuse.spans


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({}, [], "needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"),
        (
            {"LANGFUSE_PUBLIC_KEY": PUBLIC, "LANGFUSE_SECRET_KEY": SECRET},
            ["--protocol", "grpc"],
            "HTTP/protobuf only",
        ),
        ({}, ["--project", "p"], "--project goes with --to phoenix"),
    ],
)
def test_langfuse_usage_errors(
    agent_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    """Missing keys, gRPC, or a Phoenix option: exit 2 with the reason, nothing sent."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["convert", str(agent_file), "--to", "langfuse", *argv]) == 2
    assert message in capsys.readouterr().err


def test_phoenix_client_headers_and_default_endpoint() -> None:
    """PHOENIX_CLIENT_HEADERS are sent (the key's bearer wins); default is a local Phoenix."""
    env = {"PHOENIX_CLIENT_HEADERS": "x-team=a%20b,authorization=old", "PHOENIX_API_KEY": "k"}
    preset = resolve_preset("phoenix", environ=env)
    assert preset.endpoint == "http://localhost:6006/v1/traces"
    assert preset.headers == {"x-team": "a b", "authorization": "Bearer k"}
    assert resolve_preset("phoenix", environ={}).headers == {}


def test_langfuse_default_host() -> None:
    """Without LANGFUSE_BASE_URL or LANGFUSE_HOST the endpoint is Langfuse Cloud's."""
    preset = resolve_preset(
        "langfuse", environ={"LANGFUSE_PUBLIC_KEY": "a", "LANGFUSE_SECRET_KEY": "b"}
    )
    assert preset.endpoint == "https://cloud.langfuse.com/api/public/otel/v1/traces"
    assert preset.headers == {"authorization": "Basic " + base64.b64encode(b"a:b").decode()}


def test_phoenix_preset_bearer_project_and_folded_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--to phoenix: bearer key, project, folded content, no logs; a wrong key is exit 1."""
    trace = tmp_path / "run.jsonl"
    calls = record_run(trace, "openai-v2-event-only", "spans-first")
    with OtlpReceiver(authorization="Bearer px-key") as phoenix:
        monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", f"http://127.0.0.1:{phoenix.port}")
        monkeypatch.setenv("PHOENIX_API_KEY", "px-key")
        assert main(["convert", str(trace), "--to", "phoenix", "--project", "demo", "-q"]) == 0
        assert set(phoenix.paths) == {"/v1/traces"}
        assert sorted(s.span_id.hex() for s in phoenix.spans) == _expected_span_ids(trace)
        chats = [s for s in phoenix.spans if s.name.startswith("chat")]
        assert len(chats) == len(calls) == 3
        for span in chats:
            attrs = _attrs(span)
            sent = json.loads(attrs["gen_ai.input.messages"])
            assert sent[-1]["role"] in ("user", "tool")
        monkeypatch.setenv("PHOENIX_API_KEY", "wrong")
        assert main(["convert", str(trace), "--to", "phoenix", "-q"]) == 1
        err = capsys.readouterr().err
        assert "refused the credentials of --to phoenix (check PHOENIX_API_KEY)" in err
        assert "Traceback" not in err
    assert [h.get("authorization") for h in phoenix.headers] == ["Bearer px-key", "Bearer wrong"]
    assert phoenix.resources[0]["openinference.project.name"] == "demo"


def test_otlp_preset_sends_spans_and_log_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--to otlp sends spans and log records once each, retrying a failed logs batch."""
    trace = tmp_path / "run.jsonl"
    record_run(trace, "openllmetry-events", "spans-first")
    logs = [ev for _, ev in read_events(trace, kind="log")]
    with OtlpReceiver() as collector:
        collector.fail_next(1)
        argv = ["convert", str(trace), "--to", "otlp", "--endpoint", collector.base_url]
        assert main([*argv, "--retry-backoff", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "log records in 1 batch" in err and "(2 attempts, 0 failed)" in err
    assert sorted(s.span_id.hex() for s in collector.spans) == _expected_span_ids(trace)
    assert len(collector.logs) == len(logs) == 15
    assert {r.span_id.hex() for r in collector.logs} == {ev["span_id"] for ev in logs}
    assert collector.paths.count("/v1/logs") == 2  # one 503, then the batch


def test_trace_only_endpoint_is_a_note_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint without a logs route gets folded spans; the unsent records are a note."""
    trace = tmp_path / "run.jsonl"
    record_run(trace, "openai-v2-event-only", "spans-first")
    with OtlpReceiver(accept_logs=False) as jaeger:
        assert main(["convert", str(trace), "--endpoint", jaeger.endpoint]) == 0
    err = capsys.readouterr().err
    assert "takes no log records" in err and "folded onto the spans" in err
    assert jaeger.paths.count("/v1/logs") == 1
    chats = [s for s in jaeger.spans if s.name.startswith("chat")]
    assert chats and all("gen_ai.output.messages" in _attrs(s) for s in chats)


def test_grpc_sends_spans_and_log_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over gRPC spans and log records arrive once; UNAUTHENTICATED is exit 1, no retry."""
    trace = tmp_path / "run.jsonl"
    record_run(trace, "openai-v2-event-only", "spans-first")
    logs = [ev for _, ev in read_events(trace, kind="log")]
    with OtlpGrpcReceiver(authorization="Bearer good") as collector:
        argv = ["convert", str(trace), "--endpoint", collector.endpoint, "--protocol", "grpc"]
        assert main([*argv, "-H", "authorization=Bearer good", "-q"]) == 0
        assert sorted(s.span_id.hex() for s in collector.spans) == _expected_span_ids(trace)
        assert sorted(r.span_id.hex() for r in collector.logs) == sorted(
            ev["span_id"] for ev in logs
        )
        calls = len(collector.calls)
        assert main([*argv, "-H", "authorization=Bearer bad", "-q", "--no-logs"]) == 1
        assert len(collector.calls) == calls + 1
    err = capsys.readouterr().err
    assert "refused the credentials of the endpoint" in err and "UNAUTHENTICATED" in err
    assert "Traceback" not in err

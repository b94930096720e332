"""Tests for otel_jsonl.replay: the messages the model saw at step N, against the real wire."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.agent_loops import run_anthropic_loop, run_openai_loop
from support.providers import ProviderServer, Turn

from otel_jsonl.analyze.replay import replay, replay_step
from otel_jsonl.cli import main
from otel_jsonl.exceptions import MissingInputError, RunNotFoundError
from otel_jsonl.read.lines import read_events
from otel_jsonl.read.runs import read_run
from otel_jsonl.record.trace import Trace


def _clock() -> Callable[[], float]:
    ticks = itertools.count()
    return lambda: 1_700_000_000.0 + next(ticks) / 10


def _llm_steps(path: Path) -> list[int]:
    return [ev["seq"] for _, ev in read_events(path, kind="llm_call")]


def _wire(provider: str, body: dict[str, Any]) -> Any:
    """What the server received, in the shape replay returns for that provider's format."""
    if provider == "openai":
        return body["messages"]
    out = {"messages": body["messages"]}
    if "system" in body:
        out["system"] = body["system"]
    return out


SCRIPT = (
    Turn.call("get_weather", {"city": "Lisbon"}),
    Turn.call("get_weather", {"city": "Porto"}),
    Turn.reply("Lisbon and Porto: {tool_result}"),
)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_replay_equals_wire_recorder(tmp_path: Path, provider: str, stream: bool) -> None:
    """For every llm_call of a recorded loop, replay in the provider's format equals the
    messages (and system) the server received on that call, exactly."""
    path = tmp_path / "run.jsonl"
    with ProviderServer(SCRIPT) as server, Trace(path, run_id="r1", clock=_clock()) as trace:
        if provider == "openai":
            run_openai_loop(server.openai_base_url, stream=stream, recorder=trace.step)
        else:
            run_anthropic_loop(server.anthropic_base_url, stream=stream, recorder=trace.step)
        calls = server.calls
    steps = _llm_steps(path)
    assert len(steps) == len(calls) == 3
    for step, call in zip(steps, calls, strict=True):
        assert replay(path, step, format=provider) == _wire(provider, call.body)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_replay_cross_format(tmp_path: Path, provider: str) -> None:
    """A run recorded with one provider replays in the other's format with the same turns."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server, Trace(path, run_id="r1", clock=_clock()) as trace:
        if provider == "openai":
            run_openai_loop(server.openai_base_url, recorder=trace.step)
        else:
            run_anthropic_loop(server.anthropic_base_url, recorder=trace.step)
    last = _llm_steps(path)[-1]
    other = "anthropic" if provider == "openai" else "openai"
    out = replay(path, last, format=other)  # type: ignore[arg-type]
    if other == "openai":
        assert [m["role"] for m in out] == ["system", "user", "assistant", "tool"]
        assert out[2]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert out[3]["tool_call_id"] == out[2]["tool_calls"][0]["id"]
    else:
        assert out["system"].startswith("You are a concise weather assistant")
        assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
        tool_use = out["messages"][1]["content"][0]
        assert out["messages"][2]["content"][0]["tool_use_id"] == tool_use["id"]
    genai = replay(path, last, format="genai")
    assert [m["role"] for m in genai][:2] == ["system", "user"]
    assert all("parts" in m for m in genai)


ARTICLE_LINES = [
    {
        "ts": 1.0,
        "run": "1a2b3c4d",
        "kind": "llm_call",
        "turn": 0,
        "content": {
            "content": None,
            "refusal": None,
            "role": "assistant",
            "function_call": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}'},
                }
            ],
        },
        "usage": {"prompt_tokens": 50, "completion_tokens": 9},
    },
    {
        "ts": 2.0,
        "run": "1a2b3c4d",
        "kind": "tool_call",
        "name": "get_weather",
        "args": {"city": "Lisbon"},
    },
    {"ts": 3.0, "run": "1a2b3c4d", "kind": "tool_result", "id": "call_1", "output": "18C"},
    {
        "ts": 4.0,
        "run": "1a2b3c4d",
        "kind": "llm_call",
        "turn": 1,
        "content": {"content": "It is 18C.", "role": "assistant", "tool_calls": None},
    },
    {"ts": 5.0, "run": "1a2b3c4d", "kind": "final", "text": "It is 18C."},
]


def _article(tmp_path: Path) -> Path:
    path = tmp_path / "article.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in ARTICLE_LINES))
    return path


def test_article_format_without_input_is_a_clear_error(tmp_path: Path) -> None:
    """An article-format run never recorded its prompt: replay says so instead of inventing one."""
    with pytest.raises(MissingInputError, match="no input event"):
        replay(_article(tmp_path), 3)


def test_article_format_allow_missing_input(tmp_path: Path) -> None:
    """With allow_missing_input the known turns come back (steps numbered by position) and the
    result is flagged incomplete with a warning."""
    result = replay_step(_article(tmp_path), 3, allow_missing_input=True)
    assert result.complete is False
    assert result.warnings and "no input event" in result.warnings[0]
    assert result.payload == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Lisbon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]


def test_article_format_with_input_event(tmp_path: Path) -> None:
    """An article-format file with an input line replays from the real first message."""
    path = _article(tmp_path)
    first = {
        "ts": 0.5,
        "run": "1a2b3c4d",
        "kind": "input",
        "messages": [{"role": "user", "content": "Weather in Lisbon?"}],
    }
    path.write_text(json.dumps(first) + "\n" + path.read_text())
    out = replay(path, 4)
    assert out[0] == {"role": "user", "content": "Weather in Lisbon?"}
    assert [m["role"] for m in out] == ["user", "assistant", "tool"]


def test_capped_tool_result_is_replayed_as_seen_or_full(tmp_path: Path) -> None:
    """A capped tool result replays capped by default and whole with full=True."""
    path = tmp_path / "run.jsonl"
    big = "row\n" * 3000
    with Trace(path, run_id="r1", clock=_clock()) as t:
        t.step("input", system="S", messages=[{"role": "user", "content": "list"}])
        t.step(
            "llm_call",
            model="m",
            output={
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
                ],
            },
        )
        t.step("tool_call", id="c1", name="ls", args={})
        t.step("tool_result", id="c1", name="ls", output=big)
        t.step("llm_call", model="m", output={"role": "assistant", "content": "done"})
    capped = replay(path, 4)[-1]["content"]
    assert len(capped.encode()) == 4096 and big.startswith(capped)
    assert replay(path, 4, full=True)[-1]["content"] == big
    anth = replay(path, 4, format="anthropic", full=True)
    assert anth["messages"][-1]["content"][0]["content"] == big


def test_missing_step_and_ambiguous_run(tmp_path: Path) -> None:
    """A step that does not exist, an unknown run, and a file of several runs with no run
    chosen are clear RunNotFoundErrors."""
    path = _article(tmp_path)
    with pytest.raises(RunNotFoundError, match="no step 99"):
        replay(path, 99, allow_missing_input=True)
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        replay(path, 0, run="nope")
    other = dict(ARTICLE_LINES[0], run="ffffffff")
    with path.open("a") as f:
        f.write(json.dumps(other) + "\n")
    with pytest.raises(RunNotFoundError, match="2 runs"):
        replay(path, 0)
    assert replay(path, 0, run="ffffffff", allow_missing_input=True) == []


def test_steps_without_seq_are_numbered_by_position(tmp_path: Path) -> None:
    """Lines without seq get their 0-based position in the run; meta lines are not steps."""
    path = _article(tmp_path)
    run = read_run(path)
    assert [s.step for s in run.steps] == [0, 1, 2, 3, 4]


def test_recorded_llm_call_input_wins(tmp_path: Path) -> None:
    """An llm_call line that carries its input (exporter files) replays that input exactly."""
    line = {
        "ts": 1.0,
        "run": "a" * 32,
        "seq": 3,
        "kind": "llm_call",
        "system": [{"type": "text", "content": "S"}],
        "input": [{"role": "user", "parts": [{"type": "text", "content": "U"}]}],
    }
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(line) + "\n")
    result = replay_step(path, 3)
    assert result.source == "recorded"
    assert result.payload == [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert replay(path, 3, format="genai") == [
        {"role": "system", "parts": [{"type": "text", "content": "S"}]},
        {"role": "user", "parts": [{"type": "text", "content": "U"}]},
    ]


def test_cli_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`otel-jsonl replay` prints the messages as JSON; errors exit 1 with a message."""
    path = _article(tmp_path)
    assert main(["replay", str(path), "--step", "3", "--allow-missing-input"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[1]["tool_call_id"] == "call_1"
    assert "warning: run 1a2b3c4d has no input event" in out.err
    assert main(["replay", str(path), "--step", "3"]) == 1
    assert "no input event" in capsys.readouterr().err
    assert main(["replay", str(path), "--step", "42", "--allow-missing-input"]) == 1
    assert "no step 42" in capsys.readouterr().err


def _one_text_block_as_string(payload: Any) -> Any:
    """Normalise a tool_result whose content is one text block to that text.

    The Anthropic SDK's native tracing records a tool result sent as a string as
    ``[{"type": "text", "text": ...}]``; the Messages API treats both forms as the same content,
    so the comparison does too (this is the only normalisation in these tests)."""
    for message in payload.get("messages", []):
        for block in message["content"] if isinstance(message["content"], list) else []:
            content = block.get("content")
            if (
                block.get("type") == "tool_result"
                and isinstance(content, list)
                and len(content) == 1
                and content[0].get("type") == "text"
            ):
                block["content"] = content[0]["text"]
    return payload


@pytest.mark.parametrize("provider", ["openai", "openai-events", "anthropic"])
def test_replay_equals_wire_exporter(tmp_path: Path, provider: str) -> None:
    """Spans from a real instrumentation with content capture, written by the span exporter,
    replay at every llm_call to what the server received on that call; ``openai-events`` has
    the content in log records (openai-v2 EVENT_ONLY), joined by the log exporter."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from support.fixtures import anthropic_native_tracing, instrumented_openai_v2

    from otel_jsonl.otel.exporter import JsonlLogExporter, JsonlSpanExporter

    path = tmp_path / "spans.jsonl"
    provider_ = TracerProvider()
    provider_.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(path)))
    logs = LoggerProvider()
    logs.add_log_record_processor(SimpleLogRecordProcessor(JsonlLogExporter(path)))
    wire = "anthropic" if provider == "anthropic" else "openai"
    with ProviderServer(SCRIPT) as server:
        if provider == "openai":
            with instrumented_openai_v2(provider_, capture="SPAN_ONLY"):
                run_openai_loop(server.openai_base_url)
        elif provider == "openai-events":
            with instrumented_openai_v2(provider_, logs, capture="EVENT_ONLY"):
                run_openai_loop(server.openai_base_url)
        else:
            with anthropic_native_tracing(provider_) as option:
                run_anthropic_loop(server.anthropic_base_url, open_telemetry=option)
        calls = server.calls
    logs.shutdown()
    provider_.shutdown()
    llm = [ev for _, ev in read_events(path, kind="llm_call")]
    assert len(llm) == len(calls) == 3
    if provider == "openai-events":
        assert not any("gen_ai.input.messages" in ev["otel"].get("attrs", {}) for ev in llm)
    for ev, call in zip(llm, calls, strict=True):
        got = replay(path, ev["seq"], run=ev["run"], format=wire)  # type: ignore[arg-type]
        want = _wire(wire, call.body)
        if provider == "anthropic":
            got, want = _one_text_block_as_string(got), _one_text_block_as_string(want)
        assert got == want

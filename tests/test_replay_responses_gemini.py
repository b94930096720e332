"""Tests for replay in the `responses` and `gemini` formats, against the real clients' bodies."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from support.agent_loops import API_KEY, run_anthropic_loop, run_openai_loop
from support.more_loops import gemini_client, run_gemini_loop, run_responses_loop
from support.providers import ProviderServer, Turn

from otel_jsonl.analyze.replay import replay
from otel_jsonl.cli import main
from otel_jsonl.genai.gemini import from_gemini
from otel_jsonl.genai.messages import to_parts
from otel_jsonl.genai.responses import from_responses
from otel_jsonl.read.lines import read_events
from otel_jsonl.record.trace import Trace

SCRIPT = (
    Turn.call("get_weather", {"city": "Lisbon"}),
    Turn(text="One more.", tool_calls=Turn.call("get_weather", {"city": "Porto"}).tool_calls),
    Turn.reply("Lisbon and Porto: {tool_result}"),
)
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


def _clock() -> Callable[[], float]:
    ticks = itertools.count()
    return lambda: 1_700_000_000.0 + next(ticks) / 10


def _llm_steps(path: Path) -> list[int]:
    return [ev["seq"] for _, ev in read_events(path, kind="llm_call")]


def _record(path: Path, loop: str, server: ProviderServer, stream: bool = False) -> None:
    with Trace(path, run_id="r1", clock=_clock()) as trace:
        if loop == "responses":
            run_responses_loop(server.responses_base_url, stream=stream, recorder=trace.step)
        elif loop == "gemini":
            run_gemini_loop(server.gemini_base_url, stream=stream, recorder=trace.step)
        else:
            run_openai_loop(server.openai_base_url, stream=stream, recorder=trace.step)


@STREAM
def test_responses_replay_equals_the_request_body(tmp_path: Path, stream: bool) -> None:
    """Every llm_call of a Responses run replays as the `instructions` and `input` sent."""
    path = tmp_path / "run.jsonl"
    with ProviderServer(SCRIPT) as server:
        _record(path, "responses", server, stream)
        calls = server.calls
    steps = _llm_steps(path)
    assert len(steps) == len(calls) == 3
    for step, call in zip(steps, calls, strict=True):
        expected = {"instructions": call.body["instructions"], "input": call.body["input"]}
        assert replay(path, step, format="responses") == expected


@STREAM
def test_gemini_replay_equals_the_request_body(tmp_path: Path, stream: bool) -> None:
    """Every llm_call of a Gemini run replays as the `systemInstruction` and `contents` sent."""
    path = tmp_path / "run.jsonl"
    with ProviderServer(SCRIPT) as server:
        _record(path, "gemini", server, stream)
        calls = server.calls
    steps = _llm_steps(path)
    assert len(steps) == len(calls) == 3
    for step, call in zip(steps, calls, strict=True):
        expected = {k: call.body[k] for k in ("systemInstruction", "contents")}
        assert replay(path, step, format="gemini") == expected


def test_chat_run_replays_as_responses_input_the_client_sends(tmp_path: Path) -> None:
    """A Chat Completions run replays as Responses input that the real client sends as it is,
    with the assistant's call id on the function_call and its output."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server:
        _record(path, "openai", server)
    payload = replay(path, _llm_steps(path)[-1], format="responses")
    with (
        ProviderServer([Turn.reply("ok")]) as server,
        openai.OpenAI(base_url=server.responses_base_url, api_key=API_KEY) as client,
    ):
        client.responses.create(model="m", **payload)
        body = server.calls[0].body
    assert body["instructions"] == payload["instructions"]
    assert body["input"] == payload["input"]
    kinds = [item.get("type", "message") for item in body["input"]]
    assert kinds == ["message", "function_call", "function_call_output"]
    assert body["input"][1]["call_id"] == body["input"][2]["call_id"] == "call_1"


def test_responses_run_replays_as_gemini_contents_the_client_sends(tmp_path: Path) -> None:
    """A Responses run replays as Gemini contents the real google-genai client sends, the tool
    result named after its tool and both keeping the call id."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server:
        _record(path, "responses", server)
    payload = replay(path, _llm_steps(path)[-1], format="gemini")
    with ProviderServer([Turn.reply("ok")]) as server, gemini_client(server.gemini_base_url) as c:
        c.models.generate_content(
            model="g",
            contents=payload["contents"],
            config={"system_instruction": payload["systemInstruction"]},
        )
        body = server.calls[0].body
    assert body["contents"] == payload["contents"]
    call = body["contents"][1]["parts"][0]["functionCall"]
    answer = body["contents"][2]["parts"][0]["functionResponse"]
    assert (call["id"], call["name"]) == ("call_1", "get_weather")
    assert (answer["id"], answer["name"]) == ("call_1", "get_weather")
    assert body["contents"][2]["role"] == "user"


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "genai"])
def test_gemini_run_replays_in_the_other_formats(tmp_path: Path, fmt: str) -> None:
    """A Gemini run (calls without ids) replays as chat, Anthropic and GenAI with its turns."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server:
        _record(path, "gemini", server)
    out: Any = replay(path, _llm_steps(path)[-1], format=fmt)  # type: ignore[arg-type]
    if fmt == "openai":
        assert [m["role"] for m in out] == ["system", "user", "assistant", "tool"]
        assert out[2]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert json.loads(out[2]["tool_calls"][0]["function"]["arguments"]) == {"city": "Lisbon"}
    elif fmt == "anthropic":
        assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
        assert out["messages"][1]["content"][0]["type"] == "tool_use"
        assert out["messages"][2]["content"][0]["type"] == "tool_result"
    else:
        assert [m["role"] for m in out] == ["system", "user", "assistant", "tool"]


def test_cli_replay_format_gemini(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`otel-jsonl replay --format gemini` prints the Gemini request body's keys."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server:
        _record(path, "gemini", server)
        body = server.calls[-1].body
    step = _llm_steps(path)[-1]
    assert main(["replay", str(path), "--step", str(step), "--format", "gemini"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {k: body[k] for k in ("systemInstruction", "contents")}


@pytest.mark.parametrize("loop", ["responses", "gemini"])
def test_show_draws_responses_and_gemini_runs(
    tmp_path: Path, loop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`otel-jsonl show` quotes the prompt and the model's text of Responses and Gemini runs."""
    path = tmp_path / "run.jsonl"
    script = [Turn(text="Checking.", reasoning="Think.", tool_calls=SCRIPT[0].tool_calls)]
    with ProviderServer([*script, Turn.reply("Sunny.")]) as server:
        _record(path, loop, server)
    assert main(["show", str(path), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert '"What is the weather in Lisbon?"' in out
    assert '"Checking."' in out and '"Sunny."' in out
    assert "Think." not in out


def _pairs(payload: Any, fmt: str) -> list[tuple[Any, Any, Any, Any]]:
    """(call id, name, arguments, answering id) of the tool call in a replayed payload."""
    if fmt == "responses":
        messages = from_responses(payload["input"], payload.get("instructions"))
    elif fmt == "gemini":
        messages = from_gemini(payload["contents"], payload.get("systemInstruction"))
    elif fmt == "anthropic":
        messages = [to_parts(m) for m in payload["messages"]]
    else:
        messages = [to_parts(m) for m in payload]
    parts = [p for m in messages for p in m["parts"]]
    calls = [p for p in parts if p["type"] == "tool_call"]
    results = [p for p in parts if p["type"] == "tool_call_response"]
    return [
        (c["id"], c["name"], c["arguments"], r["id"]) for c, r in zip(calls, results, strict=True)
    ]


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "genai", "responses", "gemini"])
@pytest.mark.parametrize("loop", ["openai", "anthropic", "responses", "gemini"])
def test_every_run_replays_in_every_format(tmp_path: Path, loop: str, fmt: str) -> None:
    """A run of any of the four APIs replays in any format with its tool call (name,
    arguments) and result, the call id kept and pairing (Gemini's absent id stays absent)."""
    path = tmp_path / "run.jsonl"
    with ProviderServer() as server:
        if loop == "anthropic":
            with Trace(path, run_id="r1", clock=_clock()) as trace:
                run_anthropic_loop(server.anthropic_base_url, recorder=trace.step)
        else:
            _record(path, loop, server)
    payload: Any = replay(path, _llm_steps(path)[-1], format=fmt)  # type: ignore[arg-type]
    call_id = {"openai": "call_1", "anthropic": "toolu_1", "responses": "call_1"}.get(loop)
    assert _pairs(payload, fmt) == [(call_id, "get_weather", {"city": "Lisbon"}, call_id)]

"""Agent frameworks through their OpenTelemetry bridges, into JSONL: the two-turn weather loop.

Each test runs a real framework (LangChain's `create_agent`, Pydantic AI, the OpenAI Agents SDK)
with one bridge against the loopback provider server, in a subprocess
(`python -m support.frameworks`, see tests/support/frameworks.py) that exports through
`otel_jsonl.configure()`, then checks the file here: one `llm_call` per request the server saw,
with model, provider and usage; the `tool_call` (name, arguments, id) paired with its
`tool_result`; one `input` and one `final` with the answer; every line a valid event; replay
at the second `llm_call` equal to the body the server received, compared as a conversation
(roles, texts, tool calls with parsed arguments, tool results, call ids pairing); and every
span rebuilt exactly from the lines.

The OpenAI Agents SDK's OpenLLMetry and official bridges install the same module: they run in
venvs of their own, built by scripts/install-agents-venv.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.frameworks import get_weather
from support.providers import ProviderServer, RecordedRequest

from otel_jsonl import validate_event
from otel_jsonl.analyze.replay import replay
from otel_jsonl.otel.mapping import events_to_span, resource_from_event

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
ANSWER = f"The weather in Lisbon: {get_weather('Lisbon')}"
INSTALL = "scripts/install-agents-venv.sh"

#: Bridges that cannot share the test venv: (framework, bridge) -> environment variable.
_OWN_VENV = {
    ("openai-agents", "openllmetry"): "AGENTS_OPENLLMETRY_VENV",
    ("openai-agents", "official"): "AGENTS_OFFICIAL_VENV",
}


def _python(framework: str, bridge: str) -> str:
    """The interpreter that has `framework` with `bridge`: this one, or the bridge's venv."""
    variable = _OWN_VENV.get((framework, bridge))
    if variable is None:
        return sys.executable
    venv = Path(os.environ.get(variable) or REPO_ROOT / f".agents-{bridge}-venv")
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no venv at {venv}: run `{INSTALL} {bridge}` (make frameworks)", False)
    return str(python)


def _run(framework: str, bridge: str, path: Path, *, stream: bool) -> tuple[str, list[Any]]:
    """Run the loop in a subprocess against a fresh server; the answer and the model calls.
    The spans themselves go to `<path>.spans` (see `check_round_trip`)."""
    with ProviderServer() as server:
        command = [_python(framework, bridge), "-m", "support.frameworks", framework, bridge]
        command += ["--base-url", server.openai_base_url, "--out", str(path)]
        command += ["--spans", f"{path}.spans"]
        proc = subprocess.run(
            [*command, *(["--stream"] if stream else [])],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=TESTS_DIR,
            env={**os.environ, "PYTHONPATH": str(TESTS_DIR), "PYTHONWARNINGS": "ignore"},
        )
        calls = server.calls
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len(server.requests) == len(calls), "the server answered an error"
    return json.loads(proc.stdout.splitlines()[-1])["final"], calls


# --- comparing conversations -----------------------------------------------------------------


def _arguments(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def conversation(messages: Any, system: Any = None) -> list[tuple[Any, ...]]:
    """Chat Completions messages or Responses input items as comparable turns:
    ("system" | "user" | "assistant", text), ("call", id, name, arguments), ("result", id, text).
    """
    turns: list[tuple[Any, ...]] = []
    if system:
        turns.append(("system", system))
    for m in messages:
        kind = m.get("type")
        if kind == "function_call":
            turns.append(("call", m["call_id"], m["name"], _arguments(m["arguments"])))
        elif kind == "function_call_output":
            turns.append(("result", m["call_id"], _text(m["output"])))
        elif m.get("role") == "tool":
            turns.append(("result", m["tool_call_id"], _text(m.get("content"))))
        else:
            if _text(m.get("content")):
                role = "system" if m["role"] == "developer" else m["role"]
                turns.append((role, _text(m.get("content"))))
            for call in m.get("tool_calls") or ():
                fn = call["function"]
                turns.append(("call", call["id"], fn["name"], _arguments(fn["arguments"])))
    return turns


def wire_conversation(call: RecordedRequest) -> list[tuple[Any, ...]]:
    """The conversation a request body carried (Chat Completions or Responses)."""
    body = call.body
    if "input" in body:
        return conversation(body["input"], body.get("instructions"))
    return conversation(body["messages"])


# --- the checks ------------------------------------------------------------------------------


def check_round_trip(path: Path) -> None:
    """Every span comes back from the file's lines exactly (as `ReadableSpan.to_json()` says),
    whatever steps the framework mapping derived or dropped."""
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    resources = {
        line["id"]: resource_from_event(line) for line in lines if line["kind"] == "resource"
    }
    by_span: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if "span_id" in line and line["kind"] not in ("error", "log", "blob_ref"):
            by_span.setdefault(line["span_id"], []).append(line)
    spans = [json.loads(line) for line in Path(f"{path}.spans").read_text("utf-8").splitlines()]
    assert len(spans) == len(by_span) > 0
    for span in spans:
        rebuilt = events_to_span(by_span[span["context"]["span_id"][2:]], resources)
        assert json.loads(rebuilt.to_json()) == span, span["name"]


def check_loop(
    path: Path,
    answer: str,
    calls: list[RecordedRequest],
    *,
    replay_format: str,
    system_recorded: bool = True,
) -> list[dict[str, Any]]:
    """The events of the two-turn loop (see the module docstring); returns the run's steps."""
    assert answer == ANSWER
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [problems for line in lines if (problems := validate_event(line))] == []
    llm_runs = {line["run"] for line in lines if line["kind"] == "llm_call"}
    assert len(llm_runs) == 1, llm_runs
    steps = [line for line in lines if line["run"] in llm_runs and line["kind"] != "resource"]
    kinds = [line["kind"] for line in steps]
    assert kinds.count("llm_call") == len(calls) == 2, kinds
    for kind in ("tool_call", "tool_result", "input", "final"):
        assert kinds.count(kind) == 1, (kind, kinds)
    llm = [line for line in steps if line["kind"] == "llm_call"]
    for event, call in zip(llm, calls, strict=True):
        assert event["model"] == "gpt-4o-mini"
        assert event["provider"] == "openai"
        assert call.usage is not None
        assert event["usage"]["input_tokens"] == call.usage.input_tokens
        assert event["usage"]["output_tokens"] == call.usage.output_tokens
    (tool_call,) = (s for s in steps if s["kind"] == "tool_call")
    (tool_result,) = (s for s in steps if s["kind"] == "tool_result")
    (final,) = (s for s in steps if s["kind"] == "final")
    assert (tool_call["name"], tool_call["args"]) == ("get_weather", {"city": "Lisbon"})
    assert tool_call["id"] == tool_result["id"] == "call_1"
    assert "sunny" in json.dumps(tool_result["output"])
    assert final["text"] == ANSWER
    second = llm[1]
    got = replay(path, second["seq"], run=second["run"], format=replay_format)  # type: ignore[arg-type]
    wire = wire_conversation(calls[1])
    if not system_recorded:
        wire = [turn for turn in wire if turn[0] != "system"]
    if replay_format == "openai":
        assert conversation(got) == wire
    else:
        assert conversation(got["input"], got.get("instructions")) == wire
    return steps


CHAT_CASES = [
    ("langchain", "openinference"),
    ("langchain", "openllmetry"),
    ("pydantic-ai", "v5"),
    ("pydantic-ai", "v6"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(("framework", "bridge"), CHAT_CASES, ids=["-".join(c) for c in CHAT_CASES])
def test_chat_framework(tmp_path: Path, framework: str, bridge: str, stream: bool) -> None:
    """A framework on Chat Completions gives the loop's steps, replayable as the wire's body."""
    path = tmp_path / "run.jsonl"
    answer, calls = _run(framework, bridge, path, stream=stream)
    steps = check_loop(path, answer, calls, replay_format="openai")
    check_round_trip(path)
    (final,) = (s for s in steps if s["kind"] == "final")
    if framework == "pydantic-ai":
        # The agent span's gen_ai.aggregated_usage.*: the run's total.
        total = sum(c.usage.input_tokens for c in calls if c.usage)
        assert final["usage"] == {"input_tokens": total, "output_tokens": 14}
        # Data format 5 sends tool results back in a `user` message, format 6 in a `tool` one;
        # either way under `response` once read (Pydantic AI writes `result`).
        second = [s for s in steps if s["kind"] == "llm_call"][1]
        (answered,) = (m for m in second["input"] if m["parts"][0]["type"] == "tool_call_response")
        assert answered["role"] == {"v5": "user", "v6": "tool"}[bridge]
        assert "sunny" in answered["parts"][0]["response"]


AGENTS_BRIDGES = ["openinference", "openllmetry", "official"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("bridge", AGENTS_BRIDGES)
def test_openai_agents(tmp_path: Path, bridge: str, stream: bool) -> None:
    """The OpenAI Agents SDK (Responses API) through each bridge gives the loop's steps; the
    nested workflow spans add no step. (The official bridge 0.1.0 records neither the agent's
    instructions nor, after the first call, what a call was sent: replay rebuilds the
    conversation from the outputs and tool results, without the system prompt.)"""
    path = tmp_path / "run.jsonl"
    answer, calls = _run("openai-agents", bridge, path, stream=stream)
    assert all(call.path == "/v1/responses" for call in calls)
    steps = check_loop(
        path, answer, calls, replay_format="responses", system_recorded=bridge != "official"
    )
    check_round_trip(path)
    if bridge == "openinference":
        # The Responses API has no finish reason: OpenInference writes `stop` for a turn that
        # called a tool, and it is kept as reported (the tool call still pairs, above).
        assert [s["finish_reason"] for s in steps if s["kind"] == "llm_call"] == ["stop", "stop"]

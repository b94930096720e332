"""Every script in examples/ runs, as a subprocess, against the loopback servers, and writes the
trace it promises: the file validates and holds the steps the example's docstring describes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.otlp_receiver import OtlpReceiver
from support.phoenix import PhoenixServer
from support.providers import ProviderServer, ToolCall, Turn

from otel_jsonl import read_events, replay, validate_event
from otel_jsonl.demo import run_demo
from otel_jsonl.otel.ids import trace_id_for_run
from otel_jsonl.record.blobs import BlobStore

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
BIN = Path(sys.executable).parent
TIMEOUT = 90.0

#: A turn that calls both tools of the travel loop (list_events returns ~7 KB, over the cap),
#: and the answer, which quotes the last tool result (get_weather's).
BOTH_TOOLS = Turn(
    tool_calls=(
        ToolCall("list_events", {"city": "Lisbon"}),
        ToolCall("get_weather", {"city": "Lisbon"}),
    )
)
ANSWER = Turn.reply("Take an umbrella: {tool_result}")
TRAVEL_SCRIPT = (BOTH_TOOLS, ANSWER)

#: Variables that would point an example somewhere else than the test says.
_LEAKY = ("OPENAI_", "ANTHROPIC_", "OTEL_", "GOOGLE_", "GEMINI_")


def run_example(
    script: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path,
    command: tuple[str, ...] | None = None,
    warnings_are_errors: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` with the test interpreter; fail with its output if it fails."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY)}
    environ.update(env or {})
    python = [sys.executable, *(["-W", "error"] if warnings_are_errors else [])]
    argv = [*(command or ()), *python, str(EXAMPLES / script), *args]
    proc = subprocess.run(
        argv, env=environ, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def openai_env(server: ProviderServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.openai_base_url, "OPENAI_API_KEY": "test-key"}


def load(path: Path) -> list[dict[str, Any]]:
    """Every event of ``path``, each checked against the schema (strict: no bad line)."""
    events = [ev for _, ev in read_events(path, strict=True)]
    assert events, f"{path} is empty"
    for ev in events:
        assert validate_event(ev) == [], ev
    return events


def steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The step lines (not blob_ref/resource), in file order."""
    return [ev for ev in events if ev["kind"] not in ("blob_ref", "resource")]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [ev["kind"] for ev in steps(events)]


def cli_validate(path: Path) -> None:
    """``otel-jsonl validate`` agrees: exit 0."""
    proc = subprocess.run(
        [str(BIN / "otel-jsonl"), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ", 0 bad" in proc.stdout


@pytest.fixture
def travel_server() -> Iterator[ProviderServer]:
    """The loopback server scripted for the travel loop: both tools, then the answer."""
    with ProviderServer(TRAVEL_SCRIPT) as server:
        yield server


def check_travel_trace(path: Path, server: ProviderServer) -> list[dict[str, Any]]:
    """What both hand-written loops promise, whatever the provider."""
    events = load(path)
    cli_validate(path)
    assert kinds(events) == [
        "input",
        "llm_call",
        "tool_call",
        "tool_result",
        "tool_call",
        "tool_result",
        "llm_call",
        "final",
    ]
    assert len({ev["run"] for ev in events}) == 1
    assert [ev["seq"] for ev in steps(events)] == list(range(8))
    # Call ids: each tool_call pairs with the tool_result that follows it.
    calls = [ev for ev in events if ev["kind"] == "tool_call"]
    results = [ev for ev in events if ev["kind"] == "tool_result"]
    assert [c["name"] for c in calls] == ["list_events", "get_weather"]
    assert [c["id"] for c in calls] == [r["id"] for r in results]
    assert all(c["id"] for c in calls)
    assert calls[1]["args"] == {"city": "Lisbon"}
    # The big output is capped on the line, whole in the blob store, announced by a blob_ref.
    listing = results[0]
    assert len(listing["output"].encode()) <= 4096
    info = listing["capped"]["/output"]
    assert info["size"] > 4096
    full = BlobStore(path.parent / "blobs").get(info["sha256"]).decode()
    assert full.startswith(listing["output"]) and len(full.encode()) == info["size"]
    refs = [ev for ev in events if ev["kind"] == "blob_ref"]
    assert [(r["of"], r["field"], r["sha256"]) for r in refs] == [
        (listing["seq"], "/output", info["sha256"])
    ]
    llm_calls = [ev for ev in events if ev["kind"] == "llm_call"]
    assert [c["usage"]["input_tokens"] for c in llm_calls] == [
        c.usage.input_tokens for c in server.calls if c.usage
    ]
    assert events[-1]["kind"] == "final"
    assert events[-1]["text"].startswith("Take an umbrella: ")
    assert '"light rain"' in events[-1]["text"]
    return events


def test_openai_loop_records_every_step(travel_server: ProviderServer, tmp_path: Path) -> None:
    """openai_loop.py records the real prompt, the calls with their ids, capped output and the
    final answer, and a replay of its last model call is exactly what the model was sent."""
    path = tmp_path / "traces" / "openai.jsonl"
    proc = run_example("openai_loop.py", str(path), env=openai_env(travel_server), cwd=tmp_path)
    events = check_travel_trace(path, travel_server)
    assert proc.stdout.strip() == events[-1]["text"]
    first, second = travel_server.calls
    assert events[0]["messages"] == first.messages
    llm_calls = [ev for ev in events if ev["kind"] == "llm_call"]
    assert llm_calls[0]["provider"] == "openai"
    assert llm_calls[0]["output"][0]["tool_calls"][0]["id"] == "call_1"
    assert replay(path, llm_calls[1]["seq"], format="openai") == second.messages
    assert (path.stat().st_mode & 0o777) == 0o600


def test_anthropic_loop_records_every_step(travel_server: ProviderServer, tmp_path: Path) -> None:
    """anthropic_loop.py records the same steps with tool_use ids and the top-level system
    prompt, and a replay of its last model call is exactly what the model was sent."""
    path = tmp_path / "traces" / "anthropic.jsonl"
    env = {
        "ANTHROPIC_BASE_URL": travel_server.anthropic_base_url,
        "ANTHROPIC_API_KEY": "test-key",
    }
    proc = run_example("anthropic_loop.py", str(path), env=env, cwd=tmp_path)
    events = check_travel_trace(path, travel_server)
    assert proc.stdout.strip() == events[-1]["text"]
    first, second = travel_server.calls
    assert first.path == "/v1/messages"
    assert events[0]["system"] == first.body["system"]
    assert events[0]["messages"] == first.messages
    assert [ev["id"] for ev in events if ev["kind"] == "tool_call"] == ["toolu_1", "toolu_2"]
    last = [ev for ev in events if ev["kind"] == "llm_call"][1]
    assert replay(path, last["seq"], format="anthropic") == {
        "system": second.body["system"],
        "messages": second.messages,
    }


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_loop_records_every_step(
    travel_server: ProviderServer, tmp_path: Path, stream: bool
) -> None:
    """responses_loop.py records the Responses loop from the Response objects (or the event
    stream), and a replay of its last model call in the Responses format is what was sent."""
    path = tmp_path / "traces" / "responses.jsonl"
    argv = [str(path), *(["--stream"] if stream else [])]
    proc = run_example("responses_loop.py", *argv, env=openai_env(travel_server), cwd=tmp_path)
    events = check_travel_trace(path, travel_server)
    assert proc.stdout.strip() == events[-1]["text"]
    first, second = travel_server.calls
    assert first.path == "/v1/responses"
    llm_calls = [ev for ev in events if ev["kind"] == "llm_call"]
    assert [c["response_id"] for c in llm_calls] == ["resp_1", "resp_2"]
    assert [c["finish_reason"] for c in llm_calls] == ["tool_call", "stop"]
    assert [item["call_id"] for item in llm_calls[0]["output"]] == ["call_1", "call_2"]
    assert replay(path, llm_calls[1]["seq"], format="responses") == {
        "instructions": second.body["instructions"],
        "input": second.body["input"],
    }


#: The travel script with Gemini call ids (optional on that API; the replay tests cover none).
GEMINI_TRAVEL_SCRIPT = (
    Turn(
        tool_calls=(
            ToolCall("list_events", {"city": "Lisbon"}, id="list_events_1"),
            ToolCall("get_weather", {"city": "Lisbon"}, id="get_weather_2"),
        )
    ),
    ANSWER,
)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_gemini_loop_records_every_step(tmp_path: Path, stream: bool) -> None:
    """gemini_loop.py records the Gemini loop from the responses (or the chunks), and a replay
    of its last model call in the Gemini format is what was sent."""
    path = tmp_path / "traces" / "gemini.jsonl"
    argv = [str(path), *(["--stream"] if stream else [])]
    with ProviderServer(GEMINI_TRAVEL_SCRIPT) as server:
        env = {"GOOGLE_GEMINI_BASE_URL": server.gemini_base_url, "GEMINI_API_KEY": "test-key"}
        proc = run_example("gemini_loop.py", *argv, env=env, cwd=tmp_path)
        events = check_travel_trace(path, server)
        first, second = server.calls
    assert proc.stdout.strip() == events[-1]["text"]
    assert first.route == "gemini"
    llm_calls = [ev for ev in events if ev["kind"] == "llm_call"]
    assert [c["provider"] for c in llm_calls] == ["gcp.gemini", "gcp.gemini"]
    assert [c["response_id"] for c in llm_calls] == ["gemini-1", "gemini-2"]
    assert replay(path, llm_calls[1]["seq"], format="gemini") == {
        "systemInstruction": second.body["systemInstruction"],
        "contents": second.body["contents"],
    }


def check_instrumented_trace(path: Path, server: ProviderServer) -> list[dict[str, Any]]:
    """What instrumented_app.py promises, set up in code or from the environment: one run with
    its prompt, two model calls with their messages, the tool call and result, the answer."""
    events = load(path)
    cli_validate(path)
    assert len({ev["run"] for ev in events}) == 1
    run = events[0]["run"]
    assert len(run) == 32
    assert all(ev.get("trace_id", run) == run for ev in events)
    resources = [ev for ev in events if ev["kind"] == "resource"]
    assert [r["attrs"]["service.name"] for r in resources] == ["weather-app"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for ev in steps(events):
        by_kind.setdefault(ev["kind"], []).append(ev)
    assert set(by_kind) <= {"input", "llm_call", "tool_call", "tool_result", "final", "span"}
    (prompt,) = by_kind["input"]
    assert prompt["messages"][0]["parts"][0]["content"] == "What is the weather in Lisbon?"
    llm_calls = by_kind["llm_call"]
    assert len(llm_calls) == 2 == len(server.calls)
    assert [c["finish_reason"] for c in llm_calls] == ["tool_calls", "stop"]
    # Content capture is on: the second call carries what it was sent, the tool result included.
    replayed = replay(path, llm_calls[1]["seq"], format="openai")
    assert [m["role"] for m in replayed] == [m["role"] for m in server.calls[1].messages]
    assert replayed[-1] == server.calls[1].messages[-1]
    (call,) = by_kind["tool_call"]
    (result,) = by_kind["tool_result"]
    assert call["id"] == result["id"] == "call_1"
    assert call["name"] == "get_weather" and call["args"] == {"city": "Lisbon"}
    output = result["output"]  # the exporter keeps a JSON-string attribute parsed
    assert (json.loads(output) if isinstance(output, str) else output)["conditions"] == "sunny"
    (final,) = by_kind["final"]
    assert final["text"].startswith("The weather in Lisbon:")
    return events


def test_instrumented_app_with_configure(openai_server: ProviderServer, tmp_path: Path) -> None:
    """instrumented_app.py, set up in code with openai-v2 and otel_jsonl.configure(), writes one
    run: its prompt, both model calls with their messages, the tool span, the answer."""
    path = tmp_path / "app.jsonl"
    run_example("instrumented_app.py", str(path), env=openai_env(openai_server), cwd=tmp_path)
    events = check_instrumented_trace(path, openai_server)
    assert "span" not in kinds(events)  # one instrumentation: one span per model call
    llm_calls = [ev for ev in events if ev["kind"] == "llm_call"]
    assert [c["response_id"] for c in llm_calls] == ["chatcmpl-1", "chatcmpl-2"]


def _auto_env(server: ProviderServer, path: Path) -> dict[str, str]:
    return {
        **openai_env(server),
        "OTEL_TRACES_EXPORTER": "jsonl",
        "OTEL_LOGS_EXPORTER": "jsonl",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_JSONL_PATH": str(path),
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
        "OTEL_SERVICE_NAME": "weather-app",
    }


# OpenLLMetry, loaded by opentelemetry-instrument, imports a module that raises pydantic's
# deprecation warning: warnings stay warnings in the auto-instrumented runs.


def test_instrumented_app_under_opentelemetry_instrument(
    openai_server: ProviderServer, tmp_path: Path
) -> None:
    """The same app, unchanged, under opentelemetry-instrument with OTEL_TRACES_EXPORTER=jsonl
    writes the same steps; the nested spans of the other installed OpenAI instrumentations
    are kept as span lines marked duplicate_of the kept llm_call, never as extra calls."""
    path = tmp_path / "auto.jsonl"
    run_example(
        "instrumented_app.py",
        env=_auto_env(openai_server, path),
        cwd=tmp_path,
        command=(str(BIN / "opentelemetry-instrument"),),
        warnings_are_errors=False,
    )
    events = check_instrumented_trace(path, openai_server)
    llm_ids = {ev["span_id"] for ev in events if ev["kind"] == "llm_call"}
    duplicates = {ev["span_id"]: ev["duplicate_of"] for ev in events if ev["kind"] == "span"}
    assert duplicates
    # Every copy points straight at the llm_call that was kept, never at another copy.
    for span_id, target in duplicates.items():
        assert target in llm_ids, (span_id, duplicates)


def test_disabling_openai_instrumentation_disables_all_of_them(
    openai_server: ProviderServer, tmp_path: Path
) -> None:
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai turns off every installed OpenAI
    instrumentation at once (they share the entry-point name), leaving only the app's spans."""
    path = tmp_path / "auto.jsonl"
    env = {**_auto_env(openai_server, path), "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai"}
    run_example(
        "instrumented_app.py",
        env=env,
        cwd=tmp_path,
        command=(str(BIN / "opentelemetry-instrument"),),
        warnings_are_errors=False,
    )
    assert sorted(kinds(load(path))) == ["final", "input", "tool_call", "tool_result"]
    assert len(openai_server.calls) == 2


def test_replay_and_diff(tmp_path: Path) -> None:
    """replay_and_diff.py sends the replayed messages of run A's last call, with one tool result
    edited, to the model, and finds the edited prompt as the first divergence of A and B."""
    script = [BOTH_TOOLS, ANSWER, ANSWER, BOTH_TOOLS, ANSWER]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with ProviderServer(script) as server:
        proc = run_example(
            "replay_and_diff.py", str(a), str(b), env=openai_env(server), cwd=tmp_path
        )
        calls = server.calls
    assert len(calls) == 5 and server.remaining == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("A: Take an umbrella: ")
    assert lines[1] == "replayed step 6: 5 messages"
    # The replay call is A's last call with the weather result edited, nothing else.
    original, replayed = calls[1].messages, calls[2].messages
    assert len(original) == len(replayed) == 5
    changed = [i for i, (m, n) in enumerate(zip(original, replayed, strict=True)) if m != n]
    assert changed == [4]
    assert original[4]["tool_call_id"] == replayed[4]["tool_call_id"]
    assert json.loads(replayed[4]["content"])["conditions"] == "heavy snow"
    assert lines[2] == f"what if: Take an umbrella: {replayed[4]['content']}"
    assert lines[3].startswith("B: ")
    assert lines[4] == "first divergence at step 0: changed /messages/1/content"
    assert len(lines) == 6 and lines[5].endswith("I love museums.'")
    for path in (a, b):
        assert kinds(load(path))[0] == "input"


@pytest.fixture
def demo_trace(tmp_path: Path) -> Path:
    """A trace written by the built-in demo loop."""
    path = tmp_path / "demo.jsonl"
    trace = run_demo(path, run_id="d3m0d3m0")
    assert trace.dropped == 0
    return path


def _otlp_spans(path: Path) -> list[dict[str, Any]]:
    spans = []
    with path.open("rb") as fh:
        for line in fh:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    spans.extend(ss["spans"])
    return spans


def test_ship_to_compose_sends_every_span(demo_trace: Path, tmp_path: Path) -> None:
    """ship_to_compose.py writes the OTLP JSON file and sends the same spans, with ids derived
    from the run, to OTEL_EXPORTER_OTLP_ENDPOINT; shipping again sends the same ids."""
    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}"}
        proc = run_example("ship_to_compose.py", str(demo_trace), env=env, cwd=tmp_path)
        first = receiver.span_ids()
        run_example("ship_to_compose.py", str(demo_trace), env=env, cwd=tmp_path)
        second = receiver.span_ids()[len(first) :]
        names = sorted(s.name for s in receiver.spans[: len(first)])
    out = tmp_path / "demo.otlp.jsonl"
    spans = _otlp_spans(out)
    assert sorted(first) == sorted((s["traceId"], s["spanId"]) for s in spans)
    assert sorted(second) == sorted(first)
    assert {trace for trace, _ in first} == {format(trace_id_for_run("d3m0d3m0"), "032x")}
    assert names == [
        "chat fake-travel-1",
        "chat fake-travel-1",
        "execute_tool get_weather",
        "execute_tool list_events",
        "invoke_agent travel-demo",
    ]
    assert "(1 attempt, 0 failed)" in proc.stdout
    assert proc.stdout.startswith(f"{demo_trace}: 9 events -> 5 spans in 1 runs")


@pytest.mark.phoenix
def test_ship_to_compose_reaches_phoenix(
    phoenix: PhoenixServer, demo_trace: Path, tmp_path: Path
) -> None:
    """ship_to_compose.py's spans arrive in Phoenix (the compose stack's UI) under the project
    named by its openinference.project.name resource attribute."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.base_url}
    run_example("ship_to_compose.py", str(demo_trace), env=env, cwd=tmp_path)
    stored = phoenix.spans("otel-jsonl-examples", expect=5, timeout=60)
    names = {s.get("name") for s in stored}
    assert {"invoke_agent travel-demo", "chat fake-travel-1", "execute_tool list_events"} <= names


def test_every_example_is_tested_and_documented() -> None:
    """Each script in examples/ has a test here, and a docstring that says how to run it
    against the real provider or backend and in the tests."""
    tested = {
        "openai_loop.py",
        "anthropic_loop.py",
        "responses_loop.py",
        "gemini_loop.py",
        "instrumented_app.py",
        "replay_and_diff.py",
        "ship_to_compose.py",
    }
    found = {p.name for p in EXAMPLES.glob("*.py")}
    assert found == tested
    source = Path(__file__).read_text()
    for name in sorted(found):
        assert f'"{name}"' in source.split("def test_every_example", 1)[0], name
        text = (EXAMPLES / name).read_text()
        assert text.startswith('"""'), name
        doc = text.split('"""')[1]
        assert "python examples/" + name in doc, name
        assert "tests" in doc, name
        hosts = set(re.findall(r"https?://([^/:\s]+)", text))
        assert hosts <= {"127.0.0.1"}, (name, hosts)  # loopback only

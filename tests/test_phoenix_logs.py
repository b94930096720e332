"""End to end with the real Phoenix: content carried by log records shows on its chat spans after
``convert --to phoenix``, and Phoenix's own span export imports back into the event schema."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support.log_orders import record_run

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events

if TYPE_CHECKING:
    from support.phoenix import PhoenixServer

pytestmark = pytest.mark.phoenix


@pytest.fixture
def project() -> str:
    """A project name no other test uses."""
    return f"otel-jsonl-logs-{uuid.uuid4().hex[:12]}"


def _roles(attrs: dict[str, Any]) -> list[str]:
    roles = []
    while f"llm.input_messages.{len(roles)}.message.role" in attrs:
        roles.append(attrs[f"llm.input_messages.{len(roles)}.message.role"])
    return roles


def _to_phoenix(path: Path, phoenix: PhoenixServer, project: str, mp: pytest.MonkeyPatch) -> None:
    mp.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix.base_url)
    mp.delenv("PHOENIX_API_KEY", raising=False)
    assert main(["convert", str(path), "--to", "phoenix", "--project", project, "-q"]) == 0


def test_event_only_trace_shows_its_messages_in_phoenix(
    phoenix: PhoenixServer, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EVENT_ONLY trace written spans-first shows its messages on Phoenix's chat spans."""
    path = tmp_path / "run.jsonl"
    calls = record_run(path, "openai-v2-event-only", "spans-first")
    _to_phoenix(path, phoenix, project, monkeypatch)
    spans = phoenix.spans(project, expect=4)
    chats = sorted((s for s in spans if s["span_kind"] == "LLM"), key=lambda s: s["start_time"])
    assert len(chats) == len(calls) == 3
    for span, call in zip(chats, calls, strict=True):
        attrs = span["attributes"]
        assert _roles(attrs) == [m["role"] for m in call.body["messages"]]
        assert attrs["llm.input_messages.1.message.content"] == call.body["messages"][1]["content"]
        assert attrs["llm.output_messages.0.message.role"] == "assistant"
    last = chats[-1]["attributes"]
    messages = calls[-1].body["messages"]
    tool_id = messages[-1]["tool_call_id"]
    assert last[f"llm.input_messages.{len(messages) - 1}.message.tool_call_id"] == tool_id


def test_phoenix_span_export_imports_into_events(
    phoenix: PhoenixServer, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phoenix's REST span export of the demo imports back into the demo's events."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id=uuid.uuid4().hex[:8])
    sent = list(events_to_spans(ev for _, ev in read_events(path)))
    _to_phoenix(path, phoenix, project, monkeypatch)
    spans = phoenix.spans(project, expect=len(sent))
    assert len(spans) == len(sent)
    export = tmp_path / "phoenix-export.jsonl"
    export.write_text("".join(json.dumps(s) + "\n" for s in spans))
    back = tmp_path / "back.jsonl"
    assert main(["import", str(export), "-o", str(back), "-q"]) == 0
    events = [ev for _, ev in read_events(back)]
    original = [ev for _, ev in read_events(path)]
    assert {ev["run"] for ev in events if ev["kind"] != "resource"} == {
        f"{sent[0].context.trace_id:032x}"  # type: ignore[union-attr]
    }
    llm = [ev for ev in events if ev["kind"] == "llm_call"]
    want_llm = [ev for ev in original if ev["kind"] == "llm_call"]
    assert len(llm) == len(want_llm) == 2
    assert {ev["model"] for ev in llm} == {"fake-travel-1"}
    assert sorted(ev["usage"]["input_tokens"] for ev in llm) == sorted(
        ev["usage"]["input_tokens"] for ev in want_llm
    )

    def tools(evs: list[dict[str, Any]], kind: str) -> list[tuple[Any, ...]]:
        return sorted((ev.get("id"), ev.get("name")) for ev in evs if ev["kind"] == kind)

    assert tools(events, "tool_call") == tools(original, "tool_call")
    assert len(tools(events, "tool_call")) == 2
    results = {ev["id"]: ev for ev in events if ev["kind"] == "tool_result"}
    for ev in original:
        if ev["kind"] == "tool_result":
            got = results[ev["id"]].get("output", results[ev["id"]].get("result"))
            assert json.dumps(got) == json.dumps(ev.get("output", ev.get("result")))
    final = [ev for ev in events if ev["kind"] == "final"]
    assert final and "Lisbon" in json.dumps(final[0])

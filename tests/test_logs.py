"""Tests for otel_jsonl.genai.logs and the read-time join: content that arrived as log records
reaches every reader of a run, wherever its ``log`` lines sit in the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.log_orders import INSTRUMENTATIONS, ORDERS, Instrumentation, Order, record_run

from otel_jsonl.analyze.diff import diff_runs
from otel_jsonl.analyze.replay import replay
from otel_jsonl.cli import main
from otel_jsonl.genai.logs import (
    fill_tool_call_ids,
    fill_tool_result_ids,
    fold_content,
    join_logs,
)
from otel_jsonl.read.lines import read_events
from otel_jsonl.read.runs import list_runs, read_run


def _llm_calls(path: Path) -> list[dict[str, Any]]:
    calls = [ev for _, ev in read_events(path, kind="llm_call")]
    return sorted(calls, key=lambda ev: ev.get("start", ev["ts"]))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
def test_replay_equals_wire_in_every_log_order(
    tmp_path: Path, instrumentation: Instrumentation, order: Order
) -> None:
    """Replay at each llm_call equals the request sent, wherever the log lines sit."""
    path = tmp_path / "run.jsonl"
    calls = record_run(path, instrumentation, order)
    llm = _llm_calls(path)
    assert len(llm) == len(calls) == 3
    if instrumentation != "openai-v2-span-and-event":
        # The content is only in log records; joined when written only in batch-logs-first.
        assert all(("input" in ev) == (order == "batch-logs-first") for ev in llm)
    for ev, call in zip(llm, calls, strict=True):
        assert replay(path, ev["seq"], run=ev["run"], format="openai") == call.body["messages"]


@pytest.mark.parametrize("order", ["spans-first", "logs-first", "interleaved"])
def test_every_reader_sees_joined_content(tmp_path: Path, order: Order) -> None:
    """read_run, runs/stats and diff see the log content on its llm_call, not as steps."""
    path = tmp_path / "run.jsonl"
    record_run(path, "openllmetry-events", order)
    events = read_run(path)
    kinds = [st.event["kind"] for st in events.steps]
    assert "log" not in kinds
    assert sum(1 for st in events.meta if st.event["kind"] == "log") == 15  # 3 + 5 + 7 records
    llm = [st.event for st in events.steps if st.event["kind"] == "llm_call"]
    assert all("input" in ev and "output" in ev for ev in llm)
    tool_msg = llm[1]["input"][-1]
    assert tool_msg["role"] == "tool"
    assert tool_msg["parts"][0]["id"] == llm[0]["output"][0]["parts"][0]["id"]
    (summary,) = list_runs(path)
    assert summary.steps == len(events.steps) == 4
    assert summary.tools == {"get_weather": 2}
    assert "log" not in summary.kinds
    lines = path.read_bytes().splitlines(keepends=True)
    logs_first = sorted(lines, key=lambda line: json.loads(line)["kind"] != "log")
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"".join(logs_first))
    assert logs_first != lines or order == "logs-first"
    assert diff_runs(read_run(path), read_run(other)).equal


def test_show_has_no_log_rows_after_join(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``show`` on a spans-first file draws the model calls and no ``log`` rows."""
    path = tmp_path / "run.jsonl"
    record_run(path, "openai-v2-event-only", "spans-first")
    assert main(["show", str(path), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert out.count("llm_call") == 3
    assert " log " not in out


def _log(span: str, **content: Any) -> dict[str, Any]:
    return {"ts": 1.0, "run": "r", "kind": "log", "span_id": span, "event": "e", **content}


def test_join_logs_any_position_and_leaves_input_untouched() -> None:
    """A log line joins its llm_call from before or after it; the input is not modified."""
    user = {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    answer = {"role": "assistant", "parts": [{"type": "text", "content": "yo"}]}
    events = [
        _log("a", input=[user]),
        {"ts": 2.0, "run": "r", "kind": "llm_call", "span_id": "a", "seq": 0},
        _log("a", output=[answer]),
        _log("zz", input=[user]),
    ]
    before = json.dumps(events)
    out, joined = join_logs(events)
    assert json.dumps(events) == before
    assert joined == {0, 2}
    assert out[1]["input"] == [user] and out[1]["output"] == [answer]
    assert out[3] is events[3]


def test_join_logs_per_message_records_are_not_modified() -> None:
    """Per-message records join into one input with the call id filled; records unchanged."""
    call = {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f"}]}
    answer = {"role": "tool", "parts": [{"type": "tool_call_response", "id": None}]}
    events = [
        {"ts": 3.0, "run": "r", "kind": "llm_call", "span_id": "a"},
        {**_log("a", input=[call]), "event": "gen_ai.assistant.message", "ts": 1.0},
        {**_log("a", input=[answer]), "event": "gen_ai.tool.message", "ts": 2.0},
    ]
    before = json.dumps(events)
    out, joined = join_logs(events)
    assert json.dumps(events) == before
    assert joined == {1, 2}
    assert [m["role"] for m in out[0]["input"]] == ["assistant", "tool"]
    assert out[0]["input"][1]["parts"][0]["id"] == "c1"


def test_capped_log_content_replays_in_full(tmp_path: Path) -> None:
    """Log content capped on its line replays capped, and in full with full=True."""
    from otel_jsonl.record.writer import LineWriter

    long = "x" * 300
    path = tmp_path / "run.jsonl"
    writer = LineWriter(path, cap=100)
    call = {"ts": 2.0, "run": "r", "seq": 0, "kind": "llm_call", "span_id": "a"}
    writer.write_event(call)
    message = {"role": "user", "parts": [{"type": "text", "content": long}]}
    writer.write_event(_log("a", input=[message]))
    writer.close()
    short = replay(path, 0, format="openai")
    assert short[0]["content"] != long and short[0]["content"].startswith("x" * 50)
    assert replay(path, 0, format="openai", full=True) == [{"role": "user", "content": long}]


def test_join_logs_keeps_span_content() -> None:
    """A step with its own content (SPAN_AND_EVENT) keeps it; its records count as joined."""
    msg = [{"role": "user", "parts": [{"type": "text", "content": "span"}]}]
    call = {"ts": 2.0, "run": "r", "kind": "llm_call", "span_id": "a", "input": msg, "output": []}
    out, joined = join_logs([call, _log("a", input=[{"role": "user", "parts": []}])])
    assert out[0] is call and joined == {1}


def test_fill_tool_call_ids_by_name_then_order() -> None:
    """A response naming its tool takes that call's id; an unnamed one the oldest open call."""
    messages = [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "c1", "name": "a"},
                {"type": "tool_call", "id": "c2", "name": "b"},
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": None, "name": "b"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": None}]},
    ]
    out = fill_tool_call_ids(messages)
    assert [m["parts"][0]["id"] for m in out[1:]] == ["c2", "c1"]
    assert messages[1]["parts"][0]["id"] is None


def test_fill_tool_result_ids_by_name_and_order() -> None:
    """A tool_result without id gets the id of the oldest unanswered tool_call of its name."""
    events = [
        {"kind": "tool_call", "id": "1", "name": "a"},
        {"kind": "tool_call", "id": "2", "name": "b"},
        {"kind": "tool_call", "id": "3", "name": "a"},
        {"kind": "tool_result", "name": "b"},
        {"kind": "tool_result", "name": "a"},
        {"kind": "tool_result", "name": "a"},
    ]
    out = fill_tool_result_ids(events)
    assert [ev.get("id") for ev in out[3:]] == ["2", "1", "3"]
    assert "id" not in events[3]


def test_fold_content_fills_only_what_is_missing() -> None:
    """Folding adds the GenAI message attributes a span lacks, as JSON text, never over one."""
    content = {"input": [{"role": "user", "parts": []}], "output": [], "system": "be brief"}
    out = fold_content({"gen_ai.output.messages": "[]"}, content)
    assert set(out) == {"gen_ai.input.messages", "gen_ai.system_instructions"}
    assert json.loads(out["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "be brief"}
    ]

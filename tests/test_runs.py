"""Tests for otel_jsonl.read.runs: step numbering and the one run summary that runs, stats and
show share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otel_jsonl import Trace, list_runs, read_run, summarize_runs
from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.read.runs import step_events

#: The shapes on which `runs` and `stats` once disagreed: tokens outside `usage`, a tool
#: result marked as an error, an article-style run with no seq, a run interleaved with another.
MIXED = [
    {"ts": 1.0, "run": "a1", "kind": "llm_call", "model": "gpt-4o-mini", "input_tokens": 100,
     "output_tokens": 20},
    {"ts": 2.0, "run": "b2", "kind": "llm_call", "usage": {"prompt_tokens": 7,
     "completion_tokens": 3}},
    {"ts": 3.0, "run": "a1", "kind": "tool_call", "name": "get_weather", "id": "c1"},
    {"ts": 4.0, "run": "a1", "kind": "tool_result", "id": "c1", "output": "boom",
     "is_error": True},
    {"ts": 4.5, "run": "b2", "kind": "error", "type": "ValueError", "message": "x"},
    {"ts": 5.0, "run": "a1", "kind": "final", "text": "done", "start": 0.5},
    {"ts": 5.0, "run": "a1", "kind": "blob_ref", "sha256": "0" * 64, "size": 1},
]  # fmt: skip


def _write(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _traces(tmp_path: Path) -> list[Path]:
    demo = tmp_path / "demo.jsonl"
    run_demo(str(demo), run_id="demo0001")
    recorded = tmp_path / "recorded.jsonl"
    with Trace(recorded, run_id="rec1") as trace:
        trace.step("input", messages=[{"role": "user", "content": "hi"}])
        trace.step("llm_call", model="m", usage={"input_tokens": 5, "output_tokens": 1})
        trace.step("error", type="E", message="m")
    return [demo, recorded, _write(tmp_path / "mixed.jsonl", MIXED)]


def test_runs_and_stats_agree_on_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runs --json` and `stats --json` give the same steps, tokens, errors and wall time."""
    for path in _traces(tmp_path):
        assert main(["runs", str(path), "--json"]) == 0
        runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert main(["stats", str(path), "--json"]) == 0
        stats = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["run"] for r in runs] == [s["run"] for s in stats]
        for r, s in zip(runs, stats, strict=True):
            assert (r["steps"], r["input_tokens"], r["output_tokens"], r["errors"]) == (
                s["steps"],
                s["input_tokens"],
                s["output_tokens"],
                s["errors"],
            ), path
            assert r["duration"] == pytest.approx(s["wall"])


def test_summary_counts_the_shapes_that_once_disagreed(tmp_path: Path) -> None:
    """Top-level token counts, old usage names, tool errors and `start` all count once."""
    a1, b2 = list_runs(_write(tmp_path / "m.jsonl", MIXED))
    assert (a1.run, a1.steps, a1.llm_calls) == ("a1", 4, 1)
    assert (a1.input_tokens, a1.output_tokens, a1.errors) == (100, 20, 1)
    assert a1.models == {"gpt-4o-mini": [100, 20]}
    assert dict(a1.tools) == {"get_weather": 1}
    assert (a1.first_ts, a1.last_ts, a1.duration) == (0.5, 5.0, 4.5)
    assert (b2.input_tokens, b2.output_tokens, b2.errors) == (7, 3, 1)
    assert b2.models == {None: [7, 3]}


def test_tools_come_from_outputs_when_a_run_has_no_tool_call_lines() -> None:
    """A run whose loop logged no tool_call steps counts the tool calls its model asked for."""
    events = [
        (1, {"ts": 1.0, "run": "r", "kind": "llm_call", "output": [
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]},
        ]}),
        (2, {"ts": 2.0, "run": "r", "kind": "llm_call", "content": {
            "role": "assistant", "content": [{"type": "tool_use", "name": "g"}]}}),
    ]  # fmt: skip
    (summary,) = summarize_runs(events)
    assert dict(summary.tools) == {"f": 1, "g": 1}


def test_steps_are_numbered_by_seq_or_position_per_run() -> None:
    """seq wins; lines without it count per run; meta lines are step -1."""
    events = [
        (1, {"ts": 1, "run": "a", "kind": "x"}),
        (2, {"ts": 1, "run": "b", "kind": "x"}),
        (3, {"ts": 1, "run": "a", "kind": "x", "seq": 7}),
        (4, {"ts": 1, "run": "a", "kind": "blob_ref"}),
        (5, {"ts": 1, "run": "a", "kind": "x"}),
    ]
    assert [s.step for s in step_events(events)] == [0, 0, 7, -1, 2]


def test_read_run_keeps_meta_lines_apart(tmp_path: Path) -> None:
    """read_run returns one run's steps in file order and its blob_ref lines as meta."""
    run = read_run(_write(tmp_path / "m.jsonl", MIXED), "a1")
    assert [s.event["kind"] for s in run.steps] == ["llm_call", "tool_call", "tool_result", "final"]
    assert [s.event["kind"] for s in run.meta] == ["blob_ref"]

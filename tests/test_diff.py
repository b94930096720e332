"""Tests for otel_jsonl.diff: aligning two runs and reporting where they diverge."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from otel_jsonl.analyze.diff import align, diff_runs
from otel_jsonl.cli import main


def _run(run: str, cities: list[str], *, ts: float = 0.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"ts": ts, "run": run, "kind": "input", "messages": [{"role": "user", "content": "go"}]}
    ]
    for i, city in enumerate(cities):
        events.append(
            {
                "ts": ts,
                "run": run,
                "kind": "llm_call",
                "model": "m",
                "response_id": f"resp-{run}-{i}",
                "usage": {"input_tokens": 5},
            }
        )
        events.append(
            {
                "ts": ts,
                "run": run,
                "kind": "tool_call",
                "name": "get_weather",
                "id": f"call_{i}",
                "args": {"city": city},
            }
        )
    for seq, ev in enumerate(events):
        ev["seq"] = seq
        ev["ts"] = ts + seq
    return events


def _write(path: Path, *runs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for run in runs for e in run))
    return path


def test_identical_runs_are_equal() -> None:
    """Two runs differing only in ts, run id and response ids are equal."""
    result = diff_runs(_run("a", ["L", "P"]), _run("b", ["L", "P"], ts=99.0))
    assert result.equal and result.first is None and result.pairs == 5


def test_changed_tool_argument_is_reported_at_its_step() -> None:
    """A changed argument at step 3 is the first divergence, with its field path and values."""
    result = diff_runs(_run("a", ["L", "P", "F"]), _run("b", ["L", "X", "F"]))
    assert result.first is not None
    assert (result.first.kind, result.first.step, result.first.path) == ("changed", 4, "/args/city")
    assert (result.first.a, result.first.b) == ("P", "X")
    assert len(result.differences) == 1


def test_changed_argument_at_step_3() -> None:
    """Two tool calls in one turn, the second (step 3) with another argument: reported at step 3
    with the field path and both values."""

    def run(second: str) -> list[dict[str, Any]]:
        return [
            {"ts": 0.0, "run": "r", "seq": 0, "kind": "input", "messages": []},
            {"ts": 1.0, "run": "r", "seq": 1, "kind": "llm_call", "model": "m"},
            {"ts": 2.0, "run": "r", "seq": 2, "kind": "tool_call", "name": "w", "args": {"c": "L"}},
            {
                "ts": 3.0,
                "run": "r",
                "seq": 3,
                "kind": "tool_call",
                "name": "w",
                "args": {"c": second},
            },
            {"ts": 4.0, "run": "r", "seq": 4, "kind": "final", "text": "ok"},
        ]

    result = diff_runs(run("P"), run("F"))
    assert [(d.kind, d.step, d.path, d.a, d.b) for d in result.differences] == [
        ("changed", 3, "/args/c", "P", "F")
    ]


def test_inserted_step_is_one_insertion_and_later_steps_align() -> None:
    """An extra step at step 2 is one insertion; every later step still pairs up."""
    a = _run("a", ["L", "P", "F"])
    b = _run("b", ["L", "P", "F"])
    extra = {"ts": 0.0, "run": "b", "kind": "error", "type": "TimeoutError", "message": "slow"}
    b.insert(2, extra)
    for seq, ev in enumerate(b):
        ev["seq"] = seq
    result = diff_runs(a, b)
    assert [(d.kind, d.step_b) for d in result.differences] == [("inserted", 2)]
    assert result.differences[0].b == {"kind": "error", "type": "TimeoutError", "message": "slow"}
    assert result.pairs == len(a)


def test_removed_step() -> None:
    """A step only in run A is reported as removed at A's step."""
    a = _run("a", ["L", "P", "F"])
    b = [e for e in _run("b", ["L", "P", "F"]) if e["seq"] != 3]
    result = diff_runs(a, b)
    assert [(d.kind, d.step_a) for d in result.differences] == [("removed", 3)]


def test_ignore_option() -> None:
    """--ignore paths (with * and **) hide fields that are expected to differ."""
    a, b = _run("a", ["L"]), _run("b", ["L"])
    b[1]["usage"] = {"input_tokens": 6}
    b[2]["id"] = "call_other"
    assert not diff_runs(a, b).equal
    assert diff_runs(a, b, ignore=["usage", "**.id"]).equal
    assert diff_runs(a, b, ignore=["usage.input_tokens", "id"]).equal


def test_runs_from_two_files_and_cli_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`otel-jsonl diff` compares runs of two files: exit 0 equal, 1 different, --json data."""
    fa = _write(tmp_path / "a.jsonl", _run("aaaaaaaa", ["L", "P"]))
    fb = _write(tmp_path / "b.jsonl", _run("bbbbbbbb", ["L", "P"]))
    fc = _write(tmp_path / "c.jsonl", _run("cccccccc", ["L", "X"]), _run("dddddddd", ["L"]))
    assert main(["diff", str(fa), str(fb)]) == 0
    assert "equal: 5 steps aligned" in capsys.readouterr().out
    assert main(["diff", str(fa), str(fc), "--run-b", "cccccccc"]) == 1
    out = capsys.readouterr().out
    assert "first divergence at step 4: changed /args/city" in out
    assert '    A: "P"\n    B: "X"' in out
    assert main(["diff", str(fa), str(fc), "--run-b", "cccccccc", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["first"] == {
        "kind": "changed",
        "step_a": 4,
        "step_b": 4,
        "path": "/args/city",
        "a": "P",
        "b": "X",
    }
    assert main(["diff", str(fa), str(fc)]) == 1
    assert "2 runs" in capsys.readouterr().err
    assert main(["diff", str(fc), str(fc), "--run-a", "cccccccc", "--run-b", "dddddddd"]) == 1


def test_align_is_a_shortest_edit_script() -> None:
    """align pairs as many equal elements as a longest common subsequence, in order."""
    rng = random.Random(5)
    for _ in range(300):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 10))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 10))]
        pairs = align(a, b)
        assert [i for i, _ in pairs if i is not None] == list(range(len(a)))
        assert [j for _, j in pairs if j is not None] == list(range(len(b)))
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a) - 1, -1, -1):
            for j in range(len(b) - 1, -1, -1):
                table[i][j] = (
                    table[i + 1][j + 1] + 1
                    if a[i] == b[j]
                    else max(table[i + 1][j], table[i][j + 1])
                )
        matched = sum(1 for i, j in pairs if i is not None and j is not None and a[i] == b[j])
        assert matched == table[0][0]


def test_align_beyond_max_edits_pairs_in_order() -> None:
    """Past max_edits the rest is paired in order rather than searched."""
    pairs = align(list("aaaa"), list("bbbbbb"), max_edits=2)
    assert pairs[:4] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert pairs[4:] == [(None, 4), (None, 5)]


def test_cli_shows_where_two_long_strings_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two long texts that differ late are shown from where they part, not cut before it."""
    head = "The forecast says light rain until six in the evening, so spend the afternoon at the "
    rows_a = [{"ts": 1, "run": "a", "seq": 0, "kind": "final", "text": head + "Gulbenkian."}]
    rows_b = [{"ts": 1, "run": "b", "seq": 0, "kind": "final", "text": head + "Berardo."}]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in rows_a))
    b.write_text("".join(json.dumps(r) + "\n" for r in rows_b))
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out.splitlines()
    line_a = next(line for line in out if line.startswith("    A: "))
    line_b = next(line for line in out if line.startswith("    B: "))
    assert "Gulbenkian." in line_a
    assert "Berardo." in line_b
    assert line_a.endswith(f"(from character {len(head) - 70 // 4})")

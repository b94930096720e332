"""Tests for otel_jsonl.view and the show/stats commands: golden text on a fixed trace."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from otel_jsonl.analyze.terminal import shorten
from otel_jsonl.cli import main
from otel_jsonl.cli import show as show_cli

GOLDEN = Path(__file__).parent / "golden"
T0 = 1_764_300_000.0
ANSWER = "It is 18°C and sunny in Lisbon. The listing timed out, so I cannot say what is on."

FIXED: list[dict[str, Any]] = [
    {
        "ts": T0,
        "run": "1a2b3c4d",
        "seq": 0,
        "kind": "input",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Weather in Lisbon and a long listing, please."}],
    },
    {
        "ts": T0 + 0.8,
        "start": T0 + 0.1,
        "run": "1a2b3c4d",
        "seq": 1,
        "kind": "llm_call",
        "model": "gpt-4o-mini",
        "finish_reason": "tool_calls",
        "usage": {"input_tokens": 1200, "output_tokens": 40},
        "output": [
            {
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool_call",
                        "id": "call_1",
                        "name": "get_weather",
                        "arguments": {"city": "Lisbon"},
                    },
                    {
                        "type": "tool_call",
                        "id": "call_2",
                        "name": "list_events",
                        "arguments": {"city": "Lisbon", "date": "today", "limit": 500},
                    },
                ],
            }
        ],
    },
    {
        "ts": T0 + 0.81,
        "run": "1a2b3c4d",
        "seq": 2,
        "kind": "tool_call",
        "name": "get_weather",
        "id": "call_1",
        "args": {"city": "Lisbon"},
    },
    {
        "ts": T0 + 0.9,
        "start": T0 + 0.81,
        "run": "1a2b3c4d",
        "seq": 3,
        "kind": "tool_result",
        "id": "call_1",
        "name": "get_weather",
        "output": "18°C and sunny",
    },
    {
        "ts": T0 + 0.91,
        "run": "1a2b3c4d",
        "seq": 4,
        "kind": "tool_call",
        "name": "list_events",
        "id": "call_2",
        "args": {"city": "Lisbon", "date": "today", "limit": 500},
    },
    {
        "ts": T0 + 1.2,
        "run": "1a2b3c4d",
        "seq": 5,
        "kind": "error",
        "type": "TimeoutError",
        "message": "list_events timed out after 0.3s",
        "step": 4,
    },
    {
        "ts": T0 + 1.2,
        "run": "1a2b3c4d",
        "seq": 6,
        "kind": "tool_result",
        "id": "call_2",
        "name": "list_events",
        "output": "error: timed out",
        "is_error": True,
    },
    {
        "ts": T0 + 2.0,
        "start": T0 + 1.3,
        "run": "1a2b3c4d",
        "seq": 7,
        "kind": "llm_call",
        "model": "gpt-4o-mini",
        "finish_reason": "stop",
        "usage": {"input_tokens": 1300, "output_tokens": 25},
        "output": [
            {
                "role": "assistant",
                "parts": [
                    {
                        "type": "text",
                        "content": ANSWER,
                    }
                ],
            }
        ],
    },
    {
        "ts": T0 + 2.0,
        "run": "1a2b3c4d",
        "seq": 8,
        "kind": "final",
        "text": ANSWER,
    },
    # The article's own format: no seq, no input, OpenAI message dumps, an unpriced model.
    {
        "ts": T0 + 10,
        "run": "9f8e7d6c",
        "kind": "llm_call",
        "turn": 0,
        "content": {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c9",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"q": "fado"}'},
                }
            ],
        },
        "usage": {"prompt_tokens": 50, "completion_tokens": 9},
        "model": "local-llama",
    },
    {
        "ts": T0 + 10.5,
        "run": "9f8e7d6c",
        "kind": "tool_call",
        "name": "search",
        "args": {"q": "fado"},
    },
    {"ts": T0 + 11, "run": "9f8e7d6c", "kind": "tool_result", "id": "c9", "output": "x" * 300},
]


@pytest.fixture
def fixed_trace(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in FIXED))
    return path


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("OTEL_JSONL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_show_golden(fixed_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`show` draws every run as a timeline with stable widths and no colour off a terminal."""
    assert main(["show", str(fixed_trace)]) == 0
    out = capsys.readouterr().out
    assert "\033[" not in out
    _golden("show.txt", out)


def test_show_one_run_and_colour(fixed_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--run keeps one run; --color always paints errors red; an unknown run is an error."""
    assert main(["show", str(fixed_trace), "--run", "1a2b3c4d", "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "9f8e7d6c" not in out
    assert "\033[1;31merror" in out
    assert main(["show", str(fixed_trace), "--run", "nope"]) == 1
    assert "no run 'nope'" in capsys.readouterr().err


def test_show_no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR turns colour off even on a terminal; never turns it off."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert show_cli._use_color("auto") is False
    assert show_cli._use_color("never") is False
    assert show_cli._use_color("always") is True


def test_show_follow_prints_steps_as_they_are_appended(tmp_path: Path) -> None:
    """`show -f` prints the steps in the file, then each step appended later, until Ctrl-C
    (exit 130, no traceback)."""
    path = tmp_path / "live.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in FIXED if e["run"] == "9f8e7d6c"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "otel_jsonl", "show", "-f", str(path), "--run", "9f8e7d6c"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        appended = False
        while time.monotonic() < deadline and "final" not in seen:
            line = proc.stdout.readline()
            fields = line.split()
            if len(fields) > 3 and fields[0].isdigit():
                seen.append(fields[3] if fields[2].endswith("s") else fields[2])
            if "tool_result" in seen and not appended:
                appended = True
                with path.open("a") as f:
                    f.write(json.dumps({"ts": 1e9, "run": "9f8e7d6c", "kind": "final"}) + "\n")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert seen == ["llm_call", "tool_call", "tool_result", "final"]
    assert proc.returncode == 130 and "Traceback" not in err


def test_stats_golden(fixed_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`stats` gives tokens, cost (? for an unpriced model), tool calls, errors, wall time."""
    assert main(["stats", str(fixed_trace)]) == 0
    _golden("stats.txt", capsys.readouterr().out)


def test_stats_prices_override(
    fixed_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--prices adds a model's price; --json gives the numbers."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"local-llama": {"input": 1.0, "output": 2.0}}))
    assert main(["stats", str(fixed_trace), "--prices", str(prices), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["cost_usd"] == pytest.approx((2500 * 0.15 + 65 * 0.60) / 1e6)
    assert rows[0]["tool_calls"] == {"get_weather": 1, "list_events": 1}
    assert rows[0]["errors"] == 2
    assert rows[1]["cost_usd"] == pytest.approx((50 * 1.0 + 9 * 2.0) / 1e6)
    prices.write_text('{"bad": {"input": "x"}}')
    assert main(["stats", str(fixed_trace), "--prices", str(prices)]) == 1
    assert "bad" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "width", "text"),
    [
        ("short", 10, "short"),
        ("a\nb  c", 10, "a b c"),
        ("abcdefghijk", 5, "abcd…"),
        ({"k": [1, 2]}, 40, '{"k": [1, 2]}'),
    ],
)
def test_shorten(value: Any, width: int, text: str) -> None:
    """Values become one line, cut with an ellipsis."""
    assert shorten(value, width) == text


def test_show_orders_span_lines_by_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Lines from spans (written as each span ends, the run's input last) are shown in the
    order they happened; their step numbers are kept."""
    run = "4bf92f3577b34da6a3ce929d0e0e4736"
    rows = [
        {
            "ts": 10.5,
            "run": run,
            "kind": "llm_call",
            "span_id": "00000000000000a1",
            "start": 10.1,
            "seq": 0,
            "model": "m",
        },
        {
            "ts": 10.6,
            "run": run,
            "kind": "tool_call",
            "span_id": "00000000000000a2",
            "seq": 1,
            "name": "t",
            "id": "c1",
            "args": {},
        },
        {
            "ts": 10.8,
            "run": run,
            "kind": "tool_result",
            "span_id": "00000000000000a2",
            "start": 10.6,
            "seq": 2,
            "id": "c1",
            "output": "ok",
        },
        {
            "ts": 10.0,
            "run": run,
            "kind": "input",
            "span_id": "00000000000000a0",
            "seq": 3,
            "messages": [],
        },
        {
            "ts": 11.0,
            "run": run,
            "kind": "final",
            "span_id": "00000000000000a0",
            "start": 10.0,
            "seq": 4,
            "text": "done",
        },
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["show", str(path), "--color", "never"]) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["3", "0", "1", "2", "4"]
    assert " input " in lines[0]
    assert " final " in lines[-1]


def test_show_reads_stdin_and_interleaved_runs_as_a_file(
    fixed_trace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`show -` draws what `show FILE` draws; interleaved runs still come out one block each."""
    lines = fixed_trace.read_text().splitlines(keepends=True)
    shuffled = fixed_trace.parent / "interleaved.jsonl"
    # Alternate the two runs' lines: each run's steps keep their order, the runs interleave.
    runs: dict[str, list[str]] = {}
    for line in lines:
        runs.setdefault(json.loads(line)["run"], []).append(line)
    a, b = runs.values()
    mixed = [x for pair in zip(a, b, strict=False) for x in pair] + a[len(b) :] + b[len(a) :]
    shuffled.write_text("".join(mixed))
    assert main(["show", str(fixed_trace)]) == 0
    expected = capsys.readouterr().out
    assert main(["show", str(shuffled)]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("".join(mixed).encode())))
    assert main(["show", "-"]) == 0
    assert capsys.readouterr().out == expected

"""Tests for the validate, runs, demo and --version commands (exact output, exit codes)."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from otel_jsonl import __version__, read_events, validate_event
from otel_jsonl.cli import COMMANDS, build_parser, main
from otel_jsonl.cli.common import Progress


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version and exits 0."""
    assert run(capsys, "--version") == (0, f"otel-jsonl {__version__}\n", "")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Running with no command prints help to stderr and exits 2."""
    code, out, err = run(capsys)
    assert code == 2 and out == "" and "usage: otel-jsonl" in err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option exits 2 with argparse's message."""
    code, _, err = run(capsys, "validate", "--nope", "x")
    assert code == 2 and "unrecognized arguments: --nope" in err


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands")


def test_command_table_names_every_command() -> None:
    """COMMANDS (command -> module) lists exactly the commands of the full parser."""
    assert sorted(_subcommands(build_parser())) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_one_command_parser_is_the_full_parsers_own(command: str) -> None:
    """The parser built for one command has that command alone, with the same help and
    options as in the full parser (so parsing and messages are the same)."""
    full = _subcommands(build_parser())[command]
    alone = _subcommands(build_parser(command))
    assert list(alone) == [command]
    assert alone[command].format_help() == full.format_help()


def test_show_loads_no_genai_message_forms(tmp_path: Path) -> None:
    """`show` and `stats` of a file without log lines import neither the GenAI message forms
    nor the OpenTelemetry side, the write side or orjson (start-up cost; issue 16)."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts": 1.0, "run": "r", "kind": "llm_call", "model": "m"}\n')
    probe = (
        "import sys\n"
        "from otel_jsonl.cli import main\n"
        "for argv in (['show', sys.argv[1]], ['stats', sys.argv[1]]):\n"
        "    assert main(argv) == 0\n"
        "heavy = ('otel_jsonl.genai.messages', 'otel_jsonl.genai.attributes', "
        "'otel_jsonl.otel', 'otel_jsonl.record', 'otel_jsonl.analyze.diff', 'orjson')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_validate_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file prints one summary line and exits 0."""
    path = tmp_path / "ok.jsonl"
    path.write_text(
        '{"ts":1,"run":"r","kind":"x"}\n{"ts":2,"run":"r","kind":"final","text":"hi"}\n'
    )
    assert run(capsys, "validate", str(path)) == (0, f"{path}: 2 valid, 0 bad (2 lines)\n", "")


def test_validate_reports_each_bad_line_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad line is printed as file:line: reason, then a summary; exit 1."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"ts":1,"run":"r","kind":"x"}\n'
        b"[1]\n"
        b'{"ts":1,"run":"r","kind":"llm_call","model":5}\n'
        b"\n"
        b'{"ts":1,"run":"r","kind":"x"}\n'
        b'{"ts":1,"run":"r","ki'
    )
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err == ""
    assert out == (
        f"{path}:2: expected a JSON object, got array\n"
        f"{path}:3: llm_call: 'model' must be a string, got 5\n"
        f"{path}:4: empty line\n"
        f"{path}:6: torn last line skipped (not valid JSON (unexpected end of data: "
        "line 1 column 22 (char 21))) (warning: the writer died mid-line)\n"
        f"{path}: 2 valid, 3 bad (6 lines)\n"
    )


def test_validate_torn_last_line_only_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file whose only defect is a torn last line validates (exit 0) with a warning line."""
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b'{"ts":1,"run":"r","kind":"x"}\n{"ts":1,"ru')
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}:2: torn last line skipped")
    assert lines[0].endswith("(warning: the writer died mid-line)")
    assert lines[1] == f"{path}: 1 valid, 0 bad (2 lines)"


def test_validate_many_files_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several files get a total line; a missing file is an error on stderr, exit 1."""
    a = tmp_path / "a.jsonl"
    a.write_text('{"ts":1,"run":"r","kind":"x"}\n')
    code, out, _ = run(capsys, "validate", str(a), str(a))
    assert code == 0 and out.splitlines()[-1] == "2 files: 2 valid, 0 bad"
    code, out, err = run(capsys, "validate", str(tmp_path / "nope.jsonl"))
    assert (code, out) == (1, "")
    assert err == f"otel-jsonl: error: {tmp_path / 'nope.jsonl'}: no such file\n"


def test_runs_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """runs lists each run with steps, start, wall time, tokens and errors."""
    path = tmp_path / "t.jsonl"
    rows = [
        {"ts": 1764300000.0, "run": "aaaa1111", "kind": "input"},
        {
            "ts": 1764300001.5,
            "run": "aaaa1111",
            "kind": "llm_call",
            "usage": {"input_tokens": 12, "output_tokens": 3},
        },
        {"ts": 1764300002.0, "run": "bbbb2222", "kind": "error", "type": "E"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run(capsys, "runs", str(path))
    assert (code, err) == (0, "")
    assert out == (
        "RUN       STEPS  START (UTC)               WALL    TOK IN   TOK OUT  ERRORS\n"
        "aaaa1111      2  2025-11-28T03:20:00Z     1.50s        12         3       0\n"
        "bbbb2222      1  2025-11-28T03:20:02Z     0.00s         0         0       1\n"
    )
    code, out, _ = run(capsys, "runs", "--json", str(path))
    first = json.loads(out.splitlines()[0])
    assert first["run"] == "aaaa1111" and first["steps"] == 2 and first["input_tokens"] == 12


def test_runs_reports_bad_lines_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """runs skips bad lines leniently and prints file:line: reason to stderr."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts":1,"run":"r","kind":"x"}\nnot json\n')
    code, out, err = run(capsys, "runs", str(path))
    assert code == 0 and "r " in out
    assert err.startswith(f"{path}:2: not valid JSON")
    code, _, err = run(capsys, "runs", "--strict", str(path))
    assert code == 1 and err.startswith(f"otel-jsonl: error: {path}:2: not valid JSON")


def test_demo_records_a_valid_two_turn_tool_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo records input, two llm_calls, paired tool calls/results, a capped output, final."""
    path = tmp_path / "traces" / "demo.jsonl"
    code, out, err = run(capsys, "demo", "-o", str(path), "--run-id", "demo0001")
    assert (code, err) == (0, "")
    assert out.startswith(f"recorded run demo0001 to {path}\n")
    # The steps are drawn exactly as `show` draws the run.
    assert main(["show", str(path), "--color", "never"]) == 0
    assert out.split("\n", 1)[1] == capsys.readouterr().out
    events = [ev for _, ev in read_events(path)]
    assert all(validate_event(e) == [] for e in events)
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "input",
        "llm_call",
        "tool_call",
        "tool_result",
        "tool_call",
        "blob_ref",
        "tool_result",
        "llm_call",
        "final",
    ]
    calls = {e["id"]: e for e in events if e["kind"] == "tool_call"}
    results = {e["id"]: e for e in events if e["kind"] == "tool_result"}
    assert set(calls) == set(results) == {"call_1", "call_2"}
    assert results["call_2"]["capped"]["/output"]["size"] > 4096
    assert "17°C" in events[-1]["text"]
    assert events[0]["messages"][0]["parts"][0]["content"].startswith("Plan a rainy-day")


def test_console_script_runs(tmp_path: Path) -> None:
    """The installed otel-jsonl entry point runs as a subprocess (python -m too)."""
    proc = subprocess.run(
        [sys.executable, "-m", "otel_jsonl.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"otel-jsonl {__version__}"


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_for_large_files(tmp_path: Path) -> None:
    """Progress draws a bar with the share read on a terminal, and erases it at the end."""
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 1000)
    ticks = iter(float(t) for t in range(100))
    term = _Terminal()
    bar = Progress(str(path), stream=term, min_bytes=1000, clock=lambda: next(ticks))
    bar.update(10, 250)
    bar.update(20, 500)
    bar.close()
    assert term.getvalue() == (
        f"\r{path} [######------------------]  25%  10 lines"
        f"\r{path} [############------------]  50%  20 lines"
        "\r\033[K"
    )


@pytest.mark.parametrize(("terminal", "size"), [(False, 10_000), (True, 999)])
def test_progress_bar_stays_quiet_when_piped_or_small(
    tmp_path: Path, terminal: bool, size: int
) -> None:
    """No progress output when the stream is not a terminal, or the file is small."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"x" * size)
    stream = _Terminal() if terminal else io.StringIO()
    bar = Progress(str(path), stream=stream, min_bytes=1000)
    bar.update(1, 10)
    bar.close()
    assert stream.getvalue() == ""


def test_report_counts_bytes_read(tmp_path: Path) -> None:
    """ReadReport.bytes_read counts every byte read, newlines included."""
    from otel_jsonl import ReadReport

    path = tmp_path / "t.jsonl"
    data = b'{"ts":1,"run":"r","kind":"x"}\n{"ts":2,"run":"r","kind":"y"}\n'
    path.write_bytes(data)
    report = ReadReport()
    assert len(list(read_events(path, report=report))) == 2
    assert report.bytes_read == len(data)


def test_torn_last_line_is_reported_once_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A torn last line is one report on stderr, not also counted as a hidden bad line."""
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b'{"ts":1,"run":"r","kind":"x"}\n{"ts":1,"ru')
    assert main(["runs", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"{path}:2: torn last line skipped")


def test_more_bad_lines_than_shown_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the report's limit, bad lines are counted in one closing line."""
    monkeypatch.setattr("otel_jsonl.read.lines.MAX_PROBLEMS", 2)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"x\n" * 5 + b'{"ts":1,"run":"r","kind":"x"}\n')
    assert main(["runs", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert err[0].startswith(f"{path}:1: not valid JSON")
    assert err[1].startswith(f"{path}:2: not valid JSON")
    assert err[2] == f"{path}: 3 more bad lines not shown"

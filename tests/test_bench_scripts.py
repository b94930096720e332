"""The benchmark scripts run and print every figure the docs quote, beside its baseline and
target (tiny sizes: these tests check the scripts work, never how fast anything is)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


def run_bench(*args: str, timeout: float = 240) -> str:
    """Run ``bench/<args>`` with this interpreter; its standard output (exit status 0)."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_recorder_bench_prints_every_variant_beside_the_article() -> None:
    """bench/recorder.py prints, for every payload, the article, the recorder (with orjson and
    the prefilter, with the scan in re, with the standard library alone), the recorder without
    redaction, the minimal recorders and the raw write, each with a time and a ratio, and a
    target with its verdict for the recorder."""
    out = run_bench("bench/recorder.py", "--reps", "1", "--steps", "30")
    assert "trace: the secret scan with the Hyperscan prefilter" in out
    payloads = ["200B step", "2KB llm_call", "4KB tool_result", "5KB capped", "5KB capped, new"]
    variants = ["article", "trace", "trace-re", "trace-stdlib", "trace-noredact", "minimal"]
    variants += ["minimal-stdlib", "raw"]
    for payload in payloads:
        for variant in variants:
            row = re.compile(
                rf"^{re.escape(payload)} +{re.escape(variant)} +{NUMBER} +{NUMBER}(?P<rest>.*)$",
                re.M,
            )
            found = row.search(out)
            assert found, f"no row for {payload} / {variant} in:\n{out}"
            if variant in ("trace", "trace-re", "trace-stdlib"):
                assert re.search(r"<= [0-9.]+ +(yes|NO)$", found["rest"]), found[0]


def test_recorder_bench_profile_prints_each_part() -> None:
    """bench/recorder.py --profile prints the cost of each part of a step, the screen's two
    passes and the cap included."""
    out = run_bench("bench/recorder.py", "--profile", "--reps", "1")
    parts = ["dumps_line", "screen: fold", "screen: scan", "screen: prefilter", "screen: whole"]
    for part in [*parts, "os.write"]:
        assert re.search(rf"{re.escape(part)} {NUMBER}", out), (part, out)
    assert re.search(rf"5KB capped \([0-9]+ B\):.* cap {NUMBER}", out), out


def test_startup_bench_prints_each_command_against_python() -> None:
    """bench/startup.py prints the start-up of the import and of each command beside
    ``python -c pass``, with the issue's target."""
    out = run_bench("bench/startup.py", "--reps", "1")
    assert re.search(rf"^python -c pass +{NUMBER} +1\.00", out, re.M), out
    for command, target in [
        ("from otel_jsonl import Trace", "<= 25 ms"),
        ("otel-jsonl --version", "<= 2.5x"),
        ("otel-jsonl show FILE", "<= 4.0x"),
        ("otel-jsonl stats FILE", "<= 4.0x"),
        ("otel-jsonl replay FILE --step 6", "<= 4.0x"),
    ]:
        row = rf"^{re.escape(command)} +{NUMBER} +{NUMBER} +{re.escape(target)}$"
        assert re.search(row, out, re.M), (command, out)


def test_follow_bench_prints_lines_per_second_beside_the_static_draw() -> None:
    """bench/follow.py prints how many lines a second ``show -f`` drew, beside the target and
    the static ``show FILE`` baseline."""
    out = run_bench("bench/follow.py", "--lines", "500", "--reps", "1")
    assert re.search(
        rf"{NUMBER} lines/s \(target >= 10,000\); baseline show FILE {NUMBER} lines/s", out
    ), out


@pytest.mark.slow
def test_bigfile_bench_prints_every_command_at_every_size() -> None:
    """bench/bigfile.py prints time, throughput and peak RSS of every data command at every
    size, and the targets it is read against."""
    out = run_bench("bench/bigfile.py", "--sizes", "1", "2", "--reps", "1")
    for command in ("convert -o", "diff", "replay --step", "runs", "show", "stats", "validate"):
        for size in (1, 2):
            row = rf"^{re.escape(command)} +{size} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}$"
            assert re.search(row, out, re.M), (command, size, out)
    assert "peak RSS <= 100 MB" in out


def test_redact_bench_prints_the_screen_beside_the_old_one_and_re_alone() -> None:
    """bench/redact.py prints, for every text and size and the recorder's steps, the screen as
    installed (with the Hyperscan prefilter here), the old 8-pattern screen, the ratio, the
    scan in ``re`` alone and its ratio."""
    out = run_bench("bench/redact.py", "--reps", "1")
    assert "screen: find_secrets as installed (Hyperscan prefilter, then re at its stops)" in out
    names = ["prose", "tool args", "code", "listing"]
    rows = [(n, s) for n in names for s in ("200", "20[0-9][0-9]", "40[0-9][0-9]", "65[0-9]+")]
    rows += [("recorder 200B", "1[0-9][0-9]"), ("recorder 2KB", "20[0-9][0-9]")]
    rows += [("recorder 4KB", "40[0-9][0-9]")]
    cells = " +".join([NUMBER] * 7)
    for name, size in rows:
        assert re.search(rf"^{name} +{size} +{cells} ", out, re.M), (name, size, out)


def test_convert_bench_prints_convert_beside_the_floor_the_lean_converter_and_a_baseline() -> None:
    """bench/convert.py --floor-only prints convert -o and the orjson floor, where convert's
    time goes, the ratio against the 0.6x target, the lean converter (whose bytes it checks
    against convert's) and, with --baseline, both trees' convert -o in child processes."""
    out = run_bench(
        "bench/convert.py", "--floor-only", "--reps", "1", "--runs", "20", "--baseline", "."
    )
    for name in ("orjson floor", "convert -o", "read only", "read + build spans", "lean converter"):
        assert re.search(rf"^{re.escape(name)} +{NUMBER} +{NUMBER} +{NUMBER}$", out, re.M), out
    assert re.search(rf"^convert -o per line: read {NUMBER} us, build spans", out, re.M), out
    assert re.search(rf"orjson floor \(median of rounds\): {NUMBER}x \(target >= 0.6x\)", out)
    assert re.search(rf"^lean converter .*/ orjson floor: {NUMBER}x$", out, re.M), out
    for label in ("this tree", "baseline"):
        assert re.search(rf"^  {label} +{NUMBER} s +{NUMBER} MB/s +{NUMBER} us/line$", out, re.M)
    assert re.search(rf"this tree / baseline speed \(median of rounds\): {NUMBER}x", out), out


def test_convert_bench_profile_prints_the_converters_functions() -> None:
    """bench/convert.py --profile samples convert -o and prints its functions' shares."""
    out = run_bench("bench/convert.py", "--profile", "3", "--runs", "400")
    assert re.search(rf"^convert -o, {NUMBER} samples over 3 conversions", out, re.M), out
    for name in ("otel/span_output.py:convert_stream", "otel/to_spans.py:feed"):
        assert re.search(rf"^ +{NUMBER}% +{NUMBER}% +{re.escape(name)}$", out, re.M), out

"""Bad input and hostile places to write: an error line, never a traceback, nothing lost
silently. Full disks and size limits, empty run ids, invalid OTLP for import, gzip anywhere,
the cap on import, OTLP lines under the collector's 1 MiB limit."""

from __future__ import annotations

import copy
import gzip
import io
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_jsonl.cli import main
from otel_jsonl.demo import run_demo
from otel_jsonl.otel.otlp_json import MAX_LINE_BYTES, spans_to_otlp_json_lines
from otel_jsonl.otel.otlp_logs import read_otlp_json
from otel_jsonl.otel.otlp_read import decode_traces_data
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events
from otel_jsonl.record.blobs import BlobStore

BIN = Path(sys.executable).parent


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A demo trace (one run, five spans)."""
    path = tmp_path / "demo.jsonl"
    run_demo(path, run_id="beef0001")
    return path


@pytest.fixture
def otlp_line(demo: Path, tmp_path: Path) -> dict[str, Any]:
    """One OTLP JSON TracesData object, converted from the demo."""
    out = tmp_path / "demo.otlp.jsonl"
    assert main(["convert", str(demo), "-o", str(out), "-q"]) == 0
    data: dict[str, Any] = json.loads(out.read_text().splitlines()[0])
    return data


def test_convert_to_dev_full_is_an_error_line(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """convert -o /dev/full: exit 1 and ``otel-jsonl: error: /dev/full: No space left ...``."""
    rc = main(["convert", str(demo), "-o", "/dev/full"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "otel-jsonl: error: /dev/full: No space left on device" in err
    assert "Traceback" not in err


def test_file_size_limit_leaves_only_whole_otlp_lines(demo: Path, tmp_path: Path) -> None:
    """Under RLIMIT_FSIZE, convert fails with an error line and the output holds only whole,
    parseable OTLP lines (the torn one is cut back)."""
    out = tmp_path / "out.otlp.jsonl"
    whole = out_lines(demo, tmp_path)
    assert len(whole) >= 3
    limit = len(whole[0]) + 1 + len(whole[1]) // 2  # the second line crosses the limit

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [str(BIN / "otel-jsonl"), "convert", str(demo), "-o", str(out), "--batch-size", "2"],
        preexec_fn=cap_file_size,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "File too large" in proc.stderr
    assert "whole lines" in proc.stderr
    assert "Traceback" not in proc.stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    assert data.splitlines() == whole[:1]
    for line in data.splitlines():
        decode_traces_data(json.loads(line))


def out_lines(demo: Path, tmp_path: Path) -> list[bytes]:
    """The OTLP lines convert writes for the demo with two spans per line."""
    out = tmp_path / "full.otlp.jsonl"
    assert main(["convert", str(demo), "-o", str(out), "--batch-size", "2", "-q"]) == 0
    return out.read_bytes().splitlines()


@pytest.mark.parametrize("run_id", ["", " ", "a\x1b[2Jb"])
def test_demo_with_a_bad_run_id_is_a_usage_error(
    run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo --run-id '' (or blank, or with control characters): exit 2, a usage message."""
    rc = main(["demo", "-q", "-o", str(tmp_path / "d.jsonl"), "--run-id", run_id])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--run-id" in err
    assert "Traceback" not in err


def _first_span(data: dict[str, Any]) -> dict[str, Any]:
    span: dict[str, Any] = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    return span


def _set(path: str, value: Any) -> Any:
    def change(span: dict[str, Any]) -> None:
        span[path] = value

    return change


def _attr(value: dict[str, Any]) -> Any:
    def change(span: dict[str, Any]) -> None:
        span.setdefault("attributes", []).append({"key": "x", "value": value})

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set("startTimeUnixNano", 1e30), "outside the fixed64 range"),
        (_set("startTimeUnixNano", "1e+30"), "must be an integer"),
        (_set("endTimeUnixNano", "-5"), "outside the fixed64 range"),
        (_set("endTimeUnixNano", "1"), "before startTimeUnixNano"),
        (_set("traceId", "0" * 32), "all zeros"),
        (_set("spanId", "0" * 16), "all zeros"),
        (_set("spanId", "xyz"), "neither 16 hex digits nor base64"),
        (_set("kind", 9), "unknown span kind 9"),
        (_set("status", {"code": 7}), "unknown status code 7"),
        (_set("name", 5), "span name must be a string"),
        (_attr({"intValue": str(2**63)}), "outside the int64 range"),
        (_attr({"intValue": "12.5"}), "must be an integer"),
        (_attr({"boolValue": "false"}), "boolValue must be true or false"),
        (_attr({"doubleValue": "fast"}), "is not a number"),
        (_attr({"stringValue": 5}), "stringValue must be a string"),
    ],
)
def test_import_validates_what_it_reads(
    otlp_line: dict[str, Any],
    change: Any,
    reason: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An invalid span is ``FILE:LINE: reason``, its line skipped, exit 1; the valid line
    after it is imported."""
    bad = copy.deepcopy(otlp_line)
    change(_first_span(bad))
    src = tmp_path / "in.otlp.jsonl"
    src.write_text(json.dumps(bad) + "\n" + json.dumps(otlp_line) + "\n")
    out = tmp_path / "out.jsonl"
    rc = main(["import", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{src}:1: " in err
    assert reason in err
    assert "Traceback" not in err
    assert "5 spans to" in err  # the second line


def test_import_reads_gzip_by_name_and_by_content(
    otlp_line: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """import x.gz reads gzip; so does a gzip file with another name, and stdin."""
    packed = gzip.compress((json.dumps(otlp_line) + "\n").encode())
    for name in ("x.otlp.jsonl.gz", "x.otlp.jsonl"):
        src = tmp_path / name
        src.write_bytes(packed)
        out = tmp_path / f"{name}.out.jsonl"
        assert main(["import", str(src), "-o", str(out)]) == 0, capsys.readouterr().err
        assert len([e for _, e in read_events(out) if e["kind"] != "resource"]) >= 5


def test_import_caps_with_a_blob_store(
    otlp_line: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 10 KB attribute: with -o FILE it is capped and its full value kept in blobs/ beside
    it; with -o - it is cut and the command says so; --blob-dir keeps it."""
    big = copy.deepcopy(otlp_line)
    _attr({"stringValue": "y" * 10_000})(_first_span(big))
    src = tmp_path / "big.otlp.jsonl"
    src.write_text(json.dumps(big) + "\n")

    out = tmp_path / "out.jsonl"
    assert main(["import", str(src), "-o", str(out), "-q"]) == 0
    refs = [e for _, e in read_events(out) if e["kind"] == "blob_ref"]
    assert len(refs) == 1
    assert BlobStore(tmp_path / "blobs").get_text(refs[0]["sha256"]) == "y" * 10_000

    capsys.readouterr()
    assert main(["import", str(src), "-o", "-", "-q"]) == 0
    captured = capsys.readouterr()
    assert "1 values over the 4096-byte cap were cut with no blob kept" in captured.err

    store = tmp_path / "store"
    assert main(["import", str(src), "-o", "-", "-q", "--blob-dir", str(store)]) == 0
    assert "cut" not in capsys.readouterr().err
    assert len(list(store.iterdir())) == 1


def test_otlp_lines_stay_under_the_collectors_line_limit(demo: Path) -> None:
    """Spans with large attributes: each OTLP JSON line is at most 1 MiB (a batch is halved
    until it fits) and all spans come back in order."""
    spans = list(events_to_spans(read_events(demo)))
    from opentelemetry.sdk.trace import ReadableSpan

    fat = []
    for i in range(40):
        base = spans[i % len(spans)]
        fat.append(
            ReadableSpan(
                name=base.name,
                context=base.context,
                parent=base.parent,
                resource=base.resource,
                attributes={**(base.attributes or {}), "blob": "z" * 100_000, "i": i},
                kind=base.kind,
                start_time=base.start_time,
                end_time=base.end_time,
                instrumentation_scope=base.instrumentation_scope,
            )
        )
    lines = list(spans_to_otlp_json_lines(fat, batch_size=512))
    assert len(lines) > 1
    assert all(len(line) <= MAX_LINE_BYTES for line in lines)
    back = list(read_otlp_json(io.BytesIO(b"".join(lines))))
    assert [s.attributes["i"] for s in back] == list(range(40))


def test_a_span_too_large_for_a_line_is_written_whole_and_noted(demo: Path) -> None:
    """One span over the limit on its own is written whole and reported in ``oversize``."""
    (span, *_) = events_to_spans(read_events(demo))
    oversize: list[Any] = []
    lines = list(spans_to_otlp_json_lines([span], max_line_bytes=100, oversize=oversize))
    assert len(lines) == 1
    assert oversize == [span]


def test_convert_never_writes_invalid_otlp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Values OTLP cannot hold are never written as such: an integer over int64 becomes its
    digits as a string, NaN a "NaN" string, and a time past 2554 or before 1970 is a
    ``FILE:LINE: cannot convert`` line, skipped (exit 1); what is written imports back."""
    src = tmp_path / "odd.jsonl"
    src.write_text(
        '{"ts": 10.0, "run": "r1", "seq": 0, "kind": "tool_call", "id": "c1", "name": "t",'
        ' "args": {"big": 1208925819614629174706176}, "score": 123456789012345678901234567890}\n'
        '{"ts": 11.0, "run": "r1", "seq": 1, "kind": "tool_result", "id": "c1", "output": "x"}\n'
        '{"ts": 1e30, "run": "r2", "seq": 0, "kind": "final", "text": "late"}\n'
        '{"ts": -5.0, "run": "r3", "seq": 0, "kind": "final", "text": "early"}\n'
        '{"ts": 12.0, "run": "r1", "seq": 2, "kind": "final", "text": "ok", "x": NaN}\n'
    )
    out = tmp_path / "odd.otlp.jsonl"
    rc = main(["convert", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{src}:3: cannot convert" in err
    assert f"{src}:4: cannot convert" in err
    text = out.read_text()
    for line in text.splitlines():
        data = json.loads(line, parse_constant=lambda c: pytest.fail(f"literal {c}"))
        for span in decode_traces_data(data):
            assert span.start_time is not None and 0 <= span.start_time < 1 << 64


def test_integers_over_int64_are_written_as_their_digits(demo: Path) -> None:
    """An attribute integer OTLP's int64 cannot hold is written as a stringValue of its exact
    digits, never as an invalid intValue (nor rounded to a double)."""
    from opentelemetry.sdk.trace import ReadableSpan

    (base, *_) = events_to_spans(read_events(demo))
    span = ReadableSpan(
        name="big",
        context=base.context,
        resource=base.resource,
        attributes={"big": 2**80, "neg": -(2**63), "max": 2**63 - 1},
        start_time=base.start_time,
        end_time=base.end_time,
    )
    (line,) = spans_to_otlp_json_lines([span])
    attrs = {
        kv["key"]: kv["value"]
        for kv in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    }
    assert attrs == {
        "big": {"stringValue": str(2**80)},
        "neg": {"intValue": str(-(2**63))},
        "max": {"intValue": str(2**63 - 1)},
    }


@pytest.mark.parametrize("redirect", [">", ">>"])
def test_stdout_redirected_to_a_file_keeps_only_whole_lines(
    demo: Path, tmp_path: Path, redirect: str
) -> None:
    """convert -o - into a file (> or >>) under a file-size limit: an error line, and the
    file holds what it held plus whole OTLP lines only."""
    whole = out_lines(demo, tmp_path)
    out = tmp_path / "stdout.otlp.jsonl"
    before = b'{"resourceSpans":[]}\n' if redirect == ">>" else b""
    out.write_bytes(before)
    limit = len(before) + len(whole[0]) + 1 + len(whole[1]) // 2

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    mode = "ab" if redirect == ">>" else "wb"
    with open(out, mode) as sink:
        proc = subprocess.run(
            [str(BIN / "otel-jsonl"), "convert", str(demo), "-o", "-", "--batch-size", "2"],
            stdout=sink,
            stderr=subprocess.PIPE,
            preexec_fn=cap_file_size,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1, proc.stderr
    assert "File too large" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == before + whole[0] + b"\n"

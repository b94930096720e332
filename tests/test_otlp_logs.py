"""Tests for otel_jsonl.otel.otlp_logs and log records through convert and import: LogsData
JSON both ways, ``log`` lines to OTLP and back, folding for trace-only backends."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.logs.v1.logs_pb2 import LogsData
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from support.log_lines import log_lines
from support.log_orders import INSTRUMENTATIONS, Instrumentation, Order, record_run

from otel_jsonl.analyze.replay import replay
from otel_jsonl.cli import main
from otel_jsonl.otel.exporter import log_line
from otel_jsonl.otel.otlp_json import OtlpFormatError
from otel_jsonl.otel.otlp_logs import (
    decode_logs_data,
    encode_logs_data,
    line_to_record,
    read_otlp_signals,
)
from otel_jsonl.read.lines import read_events
from otel_jsonl.read.runs import read_run

_IDS = ("traceId", "spanId")


def _base64_ids(value: Any) -> Any:
    """OTLP JSON (hex ids) -> generic protobuf JSON (base64 bytes), for json_format."""
    if isinstance(value, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode() if k in _IDS else _base64_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_base64_ids(v) for v in value]
    return value


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _canonical(events: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(ev, sort_keys=True) for ev in events)


def test_logs_file_parses_with_json_format(tmp_path: Path) -> None:
    """convert -o writes X.otlp.logs.jsonl: LogsData lines json_format reads, one per log."""
    trace = tmp_path / "run.jsonl"
    record_run(trace, "openai-v2-event-only", "spans-first")
    logs = [ev for _, ev in read_events(trace, kind="log")]
    out = tmp_path / "run.otlp.jsonl"
    assert main(["convert", str(trace), "-o", str(out), "-q"]) == 0
    logs_file = tmp_path / "run.otlp.logs.jsonl"
    assert oct(logs_file.stat().st_mode & 0o777) == "0o600"
    records = []
    for line in logs_file.read_text().splitlines():
        raw = json.loads(line)
        parsed = json_format.ParseDict(_base64_ids(raw), LogsData())
        for rl in parsed.resource_logs:
            for sl in rl.scope_logs:
                records.extend(sl.log_records)
    assert len(records) == len(logs) == 3
    for record, line in zip(records, logs, strict=True):
        assert record.trace_id.hex() == line["trace_id"]
        assert record.span_id.hex() == line["span_id"]
        assert record.event_name == line["event"]
        assert record.time_unix_nano / 1e9 == line["ts"]
        names = {kv.key for kv in record.attributes}
        assert {"gen_ai.input.messages", "gen_ai.output.messages"} <= names
    for line in out.read_text().splitlines():  # the spans file holds spans only
        assert json_format.ParseDict(_base64_ids(json.loads(line)), TracesData()).resource_spans


@pytest.mark.parametrize("order", ["spans-first", "logs-first", "interleaved"])
@pytest.mark.parametrize("instrumentation", INSTRUMENTATIONS)
def test_convert_then_import_gives_equal_events(
    tmp_path: Path, instrumentation: Instrumentation, order: Order
) -> None:
    """convert -o then import of both files gives back the same events, log lines included."""
    trace = tmp_path / "run.jsonl"
    record_run(trace, instrumentation, order)
    out = tmp_path / "run.otlp.jsonl"
    assert main(["convert", str(trace), "-o", str(out), "-q"]) == 0
    back = tmp_path / "back.jsonl"
    logs_file = tmp_path / "run.otlp.logs.jsonl"
    assert main(["import", str(logs_file), str(out), "-o", str(back), "-q"]) == 0
    original = _lines(trace)
    assert any(ev["kind"] == "log" for ev in original)
    assert _canonical(_lines(back)) == _canonical(original)


def test_joined_content_travels_as_a_log_record(tmp_path: Path) -> None:
    """Content joined at write time travels as one log record per call and replays back."""
    trace = tmp_path / "run.jsonl"
    calls = record_run(trace, "openllmetry-events", "batch-logs-first")
    assert not any(ev["kind"] == "log" for ev in _lines(trace))
    out = tmp_path / "run.otlp.jsonl"
    assert main(["convert", str(trace), "-o", str(out), "-q"]) == 0
    back = tmp_path / "back.jsonl"
    assert main(["import", str(out), str(tmp_path / "run.otlp.logs.jsonl"), "-o", str(back)]) == 0
    assert sum(1 for ev in _lines(back) if ev["kind"] == "log") == 3
    llm = sorted(
        (ev for ev in _lines(back) if ev["kind"] == "llm_call"), key=lambda ev: ev["start"]
    )
    assert not any("input" in ev for ev in llm)
    for ev, call in zip(llm, calls, strict=True):
        assert replay(back, ev["seq"], format="openai") == call.body["messages"]
    original = read_run(trace)
    assert [st.event.get("input") for st in read_run(back).steps] == [
        st.event.get("input") for st in original.steps
    ]


def test_fold_puts_log_content_on_chat_spans(tmp_path: Path) -> None:
    """--fold-logs puts the log content on the chat spans; --no-fold-logs does not."""
    trace = tmp_path / "run.jsonl"
    calls = record_run(trace, "openai-v2-event-only", "spans-first")
    for fold, expected in (("--fold-logs", True), ("--no-fold-logs", False)):
        out = tmp_path / f"{fold}.otlp.jsonl"
        assert main(["convert", str(trace), "-o", str(out), fold, "-q"]) == 0
        chats = []
        for line in out.read_text().splitlines():
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    chats.extend(s for s in ss["spans"] if s["name"].startswith("chat"))
        assert len(chats) == 3
        for span in chats:
            attrs = {kv["key"]: kv["value"].get("stringValue") for kv in span["attributes"]}
            assert ("gen_ai.input.messages" in attrs) is expected
            assert ("gen_ai.output.messages" in attrs) is expected
        if expected:
            chats.sort(key=lambda s: int(s["startTimeUnixNano"]))
            last = {kv["key"]: kv["value"] for kv in chats[-1]["attributes"]}
            sent = json.loads(last["gen_ai.input.messages"]["stringValue"])
            assert [m["role"] for m in sent] == [m["role"] for m in calls[-1].body["messages"]]


def test_import_reports_bad_lines_by_shape(tmp_path: Path) -> None:
    """A line of no known shape is reported as file:line; good lines still import."""
    good = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [{"body": {}}]}]}]}
    src = tmp_path / "mixed.jsonl"
    src.write_text(json.dumps(good) + "\n" + json.dumps({"spans": []}) + "\n")
    with (
        src.open("rb") as fh,
        pytest.raises(OtlpFormatError, match=r"mixed\.jsonl:2: not OTLP traces"),
    ):
        list(read_otlp_signals(fh, name="mixed.jsonl"))
    back = tmp_path / "back.jsonl"
    assert main(["import", str(src), "-o", str(back), "-q"]) == 1
    assert [ev["kind"] for ev in _lines(back)] == ["log"]


# --- the hypothesis round trip -------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(log_lines(), min_size=1, max_size=4))
def test_log_lines_round_trip_through_otlp_json(lines: list[dict[str, Any]]) -> None:
    """log line -> log record -> LogsData JSON -> log record -> log line gives the same line."""
    data = json.loads(json.dumps(encode_logs_data([line_to_record(line) for line in lines])))
    back = [json.loads(json.dumps(log_line(rec))) for rec in decode_logs_data(data)]
    assert back == lines


def test_convert_files_api_writes_and_sends_log_records(tmp_path: Path) -> None:
    """convert_files writes and sends the log records, and folds when it sends."""
    import io

    from support.otlp_receiver import OtlpReceiver

    from otel_jsonl.otel.files import convert_files

    trace = tmp_path / "run.jsonl"
    record_run(trace, "openai-v2-event-only", "logs-first")
    spans_out, logs_out = io.BytesIO(), io.BytesIO()
    with OtlpReceiver() as collector:
        result = convert_files(
            [trace], spans_out, endpoint=collector.base_url, logs_output=logs_out
        )
    assert result.ok and result.log_records == result.logs_written == 3
    assert result.folded == 3
    assert len(collector.logs) == 3
    (line,) = logs_out.getvalue().splitlines()
    assert len(decode_logs_data(json.loads(line))) == 3
    assert all(
        any(kv.key == "gen_ai.input.messages" for kv in s.attributes)
        for s in collector.spans
        if s.name.startswith("chat")
    )

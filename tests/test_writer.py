"""Tests for otel_jsonl.record.writer: the one line writer and its one options object, shared by
the recorder, the exporters and configure()."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from otel_jsonl import JsonlSpanExporter, Trace, WriterOptions
from otel_jsonl.record.writer import LineWriter


@pytest.mark.parametrize(
    "bad",
    [{"cap": -1}, {"cap": True}, {"cap": 1.5}, {"fsync": "sometimes"}, {"fsync": 0}],
)
def test_bad_options_fail_at_construction(bad: dict[str, Any]) -> None:
    """A bad option is a ValueError when the options are made, never at the first write."""
    with pytest.raises(ValueError):
        WriterOptions(**bad)
    with pytest.raises(ValueError):
        Trace(stream=io.BytesIO(), **bad)


def test_unknown_option_is_a_type_error() -> None:
    """A misspelt option is refused, not ignored."""
    with pytest.raises(TypeError, match="capp"):
        WriterOptions.build(None, capp=3)


def test_keywords_override_an_options_object(tmp_path: Path) -> None:
    """Keywords win over the options object they are given with."""
    opts = WriterOptions(cap=10, redact=False)
    writer = LineWriter(tmp_path / "t.jsonl", options=opts, cap=0)
    assert writer.options == WriterOptions(cap=0, redact=False)
    writer.close()


def test_every_entry_point_takes_the_same_options(tmp_path: Path) -> None:
    """Trace and the span exporter build the same writer from the same options object."""
    opts = WriterOptions(cap=64, redact=False, fsync="never")
    trace = Trace(tmp_path / "a.jsonl", options=opts)
    exporter = JsonlSpanExporter(tmp_path / "b.jsonl", options=opts)
    assert trace.options == exporter.writer.options == opts
    trace.close()
    exporter.shutdown()


def test_exporter_options_default_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zero-argument exporters read OTEL_JSONL_CAP and OTEL_JSONL_REDACT; given keywords win."""
    monkeypatch.setenv("OTEL_JSONL_CAP", "128")
    monkeypatch.setenv("OTEL_JSONL_REDACT", "false")
    monkeypatch.setenv("OTEL_EXPORTER_JSONL_PATH", str(tmp_path / "e.jsonl"))
    exporter = JsonlSpanExporter()
    assert (exporter.writer.options.cap, exporter.writer.options.redact) == (128, False)
    exporter.shutdown()
    exporter = JsonlSpanExporter(cap=7)
    assert (exporter.writer.options.cap, exporter.writer.options.redact) == (7, False)
    exporter.shutdown()


def test_one_write_holds_a_capped_event_and_its_blob_ref(tmp_path: Path) -> None:
    """A capped value's blob_ref line and the event's line go out together, blob_ref first."""
    writer = LineWriter(tmp_path / "t.jsonl", cap=16)
    assert writer.write_event({"ts": 1.0, "run": "r", "seq": 0, "kind": "x", "v": "y" * 100})
    writer.close()
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in lines] == ["blob_ref", "x"]
    assert lines[1]["v"] == "y" * 16 and lines[1]["capped"]["/v"]["size"] == 100
    assert writer.written == 1

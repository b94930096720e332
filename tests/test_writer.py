"""Tests for otel_jsonl.record.writer: the one line writer and its one options object, shared by
the recorder, the exporters and configure()."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_options_are_values_frozen_and_printable() -> None:
    """WriterOptions compare and hash by field, refuse assignment, print their fields, and
    take their fields by position in the documented order."""
    opts = WriterOptions(cap=10, redact=False)
    assert opts == WriterOptions(10, None, False)
    assert opts != WriterOptions(cap=11, redact=False)
    assert hash(opts) == hash(WriterOptions(cap=10, redact=False))
    assert repr(opts).startswith("WriterOptions(cap=10, blob_dir=None, redact=False,")
    with pytest.raises(AttributeError, match="immutable"):
        opts.cap = 3  # type: ignore[misc]
    assert WriterOptions.build(opts, fsync="never") == WriterOptions(
        cap=10, redact=False, fsync="never"
    )
    assert WriterOptions.build(opts) is opts


def test_options_survive_pickling() -> None:
    """WriterOptions pickle and unpickle equal (they cross process boundaries in tests)."""
    import pickle

    opts = WriterOptions(cap=7, fsync=3, insecure_dirs="warn")
    assert pickle.loads(pickle.dumps(opts)) == opts


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.text(min_size=30, max_size=60).map(lambda t: t * 3),  # long enough to be capped
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(_TEXT, inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(_TEXT.filter(lambda k: k not in {"ts", "run", "kind"}), _VALUE))
def test_capping_from_the_event_writes_what_parsing_the_line_writes(fields: dict[str, Any]) -> None:
    """cap_event (values taken from the event) gives the bytes cap_line (the line parsed back)
    gives, stores the same blobs, and leaves the event as it was."""
    import copy

    from otel_jsonl.record import codec
    from otel_jsonl.record.capping import cap_event, cap_line

    event = {"ts": 1.5, "run": "r", "seq": 0, "kind": "tool_result", **fields}
    before = copy.deepcopy(event)
    line = codec.dumps_line(event)
    stored: list[list[tuple[bytes, str]]] = [[], []]

    def put(n: int) -> Any:
        return lambda raw, pointer: stored[n].append((raw, pointer)) or "0" * 64

    by_event = cap_event(event, line, 16, put(0))
    assert by_event == cap_line(line, 16, put(1))
    assert stored[0] == stored[1]
    assert repr(event) == repr(before)  # nested values copied where cut, never changed


@pytest.mark.parametrize(
    "value",
    [float("nan"), ("a" * 50, 1), {1: "b" * 50}, "\ud800" + "c" * 50, Path("d" * 50)],
    ids=["nan", "tuple", "int-key", "lone-surrogate", "object"],
)
def test_capping_what_the_line_changes_takes_the_parse(value: Any) -> None:
    """A value the line does not give back as it is (NaN, a tuple, an int key, a lone
    surrogate, an object) is capped from the parsed line, with the same result."""
    from otel_jsonl.record import codec
    from otel_jsonl.record.capping import cap_event, cap_line

    event = {"ts": 1.0, "run": "r", "kind": "x", "v": value, "w": "e" * 50}
    line = codec.dumps_line(event)
    got = cap_event(event, line, 16, lambda raw, pointer: None)
    assert got == cap_line(line, 16, lambda raw, pointer: None)
    assert b'"capped"' in got

"""Tests for otel_jsonl.testing: helpers for users' tests."""

from __future__ import annotations

import io

import pytest

from otel_jsonl import Trace
from otel_jsonl.testing import TickingClock, memory_trace


def test_ticking_clock_is_deterministic() -> None:
    """The clock returns start, start+step, ... on successive calls."""
    clock = TickingClock(10.0, 0.25)
    assert [clock(), clock(), clock()] == [10.0, 10.25, 10.5]


def test_memory_trace_records_and_reads_back() -> None:
    """memory_trace gives a strict trace in memory and its parsed events."""
    trace, events = memory_trace()
    trace.step("llm_call", model="m")
    trace.step("final", text="ok")
    got = events()
    assert [(e["seq"], e["kind"], e["run"]) for e in got] == [
        (0, "llm_call", "test0001"),
        (1, "final", "test0001"),
    ]
    assert got[1]["ts"] - got[0]["ts"] == 0.5


def test_memory_trace_truncates_capped_values_without_a_blob_store() -> None:
    """Without a blob store a capped value is truncated and its size kept."""
    trace, events = memory_trace(cap=8)
    trace.step("tool_result", output="0123456789abcdef")
    (ev,) = events()
    assert ev["output"] == "01234567"
    assert ev["capped"] == {"/output": {"size": 16}}


def test_trace_takes_exactly_one_of_path_and_stream() -> None:
    """Trace refuses both or neither of path and stream."""
    with pytest.raises(ValueError, match="exactly one"):
        Trace()
    with pytest.raises(ValueError, match="exactly one"):
        Trace("x.jsonl", stream=io.BytesIO())


def test_text_stream_is_written_as_text() -> None:
    """A text stream receives whole lines as str, and is not closed by close()."""
    buffer = io.StringIO()
    trace = Trace(stream=buffer, run_id="r")
    trace.step("x", v="é")
    trace.close()
    assert not buffer.closed
    assert buffer.getvalue().endswith('"kind":"x","v":"é"}\n')

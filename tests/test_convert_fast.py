"""The quick paths of `convert -o` give what the general paths give, byte for byte: the
reader's usual-line check, spans encoded as they are built and copied into their line, and
message text written by orjson where json's would be the same."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import hashlib
import io
import json
import math
import uuid
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from test_fuzz_readers import json_values
from test_fuzz_readers import lines as fuzz_lines
from test_otlp import spans as sdk_spans_strategy
from test_otlp import write_exporter_jsonl

from otel_jsonl.exceptions import TornLineWarning
from otel_jsonl.genai.attributes import json_text
from otel_jsonl.otel.files import ConvertResult, convert_lines
from otel_jsonl.otel.otlp_json import write_otlp_json
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import Line, ReadReport, decode_line, read_events
from otel_jsonl.schema import check_required

# -- spans: encoded and copied into their line, against the SDK spans' general writer -------

TOOLS = ["search", "fetch"]
recorder_events = st.fixed_dictionaries(
    {
        "ts": st.floats(min_value=1.0, max_value=2e9, allow_nan=False) | st.integers(1, 2**33),
        "run": st.sampled_from(["r1", "r2", "0123456789abcdef0123456789abcdef"]),
        "kind": st.sampled_from(
            ["input", "llm_call", "tool_call", "tool_result", "error", "final", "note", "log"]
        ),
    },
    optional={
        "seq": st.integers(0, 20),
        "start": st.floats(min_value=0.5, max_value=2e9, allow_nan=False),
        "name": st.sampled_from(TOOLS),
        "tool": st.sampled_from(TOOLS),
        "id": st.sampled_from(["c1", "c2", "c3"]),
        "model": st.sampled_from(["m", "gpt-4o"]),
        "provider": st.sampled_from(["openai", "anthropic"]),
        "args": json_values,
        "output": json_values,
        "content": json_values,
        "input": json_values,
        "messages": json_values,
        "system": json_values,
        "text": json_values,
        "usage": json_values,
        "finish_reason": json_values,
        "is_error": st.booleans(),
        "step": st.integers(0, 20),
        "message": json_values,
        "extra": json_values,
    },
)


def _general(events: list[Any], batch_size: int) -> tuple[bytes, ConvertResult]:
    """The general path: SDK spans through the general writer (an identity ``transform``
    keeps the spans from being encoded as they are built)."""
    out = io.BytesIO()
    result = convert_lines(events, out, batch_size=batch_size, transform=lambda span: span)
    return out.getvalue(), result


def _quick(events: list[Any], batch_size: int) -> tuple[bytes, ConvertResult]:
    out = io.BytesIO()
    result = convert_lines(events, out, batch_size=batch_size)
    return out.getvalue(), result


def _same(events: list[Any], batch_sizes: Iterable[int] = (1, 2, 3, 512)) -> None:
    for batch_size in batch_sizes:
        quick, quick_result = _quick(events, batch_size)
        general, general_result = _general(events, batch_size)
        assert quick == general
        assert quick_result.written == general_result.written
        assert quick_result.oversize == general_result.oversize
        assert quick_result.unconvertible == general_result.unconvertible


@settings(max_examples=150, deadline=None)
@given(st.lists(recorder_events, max_size=25))
def test_encoded_spans_are_the_general_writers_bytes(events: list[dict[str, Any]]) -> None:
    """Generated recorder events (every kind, odd values, floats, huge integers) give the
    same OTLP JSON lines through the quick path as through SDK spans, at any batch size."""
    _same(events)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batch=st.lists(
        sdk_spans_strategy(), min_size=1, max_size=4, unique_by=lambda s: s.context.span_id
    ),  # type: ignore[union-attr]
    events=st.lists(recorder_events, max_size=12),
    where=st.integers(0, 12),
)
def test_exporter_lines_among_recorder_lines_are_the_general_writers_bytes(
    batch: list[ReadableSpan],
    events: list[dict[str, Any]],
    where: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Exporter lines (other resources and scopes, SDK spans) between recorder lines: the
    quick path hands over to the general writer and back, with the same bytes."""
    path = tmp_path_factory.mktemp("mixed") / "spans.jsonl"
    write_exporter_jsonl(batch, path)
    exported = [line.event for line in read_events(path)]
    mixed = events[:where] + exported + events[where:] + exported[:1]
    _same(mixed)


def test_lines_over_the_size_limit_are_halved_as_the_general_writer_does() -> None:
    """Spans of 300 KB (a line of 512 is over 1 MiB, halved until it fits) and one of 1.5 MB
    (written whole, counted): the same lines and counts on both paths."""
    events: list[dict[str, Any]] = []
    for i in range(9):
        events.append(
            {"ts": 1.0 + i, "run": "big", "seq": 2 * i, "kind": "tool_call", "id": f"c{i}"}
        )
        events.append(
            {
                "ts": 1.5 + i,
                "run": "big",
                "seq": 2 * i + 1,
                "kind": "tool_result",
                "id": f"c{i}",
                "output": "x" * 300_000,
            }
        )
    events.append({"ts": 20.0, "run": "big", "kind": "note", "text": "y" * 1_500_000})
    _same(events, (4, 512))
    quick, result = _quick(events, 512)
    assert result.oversize == 1
    assert max(len(line) for line in quick.splitlines(keepends=True)) > 1 << 20
    assert sum(1 for line in quick.splitlines() if len(line) <= 1 << 20) >= 3


def test_sdk_and_encoded_paths_agree_with_write_otlp_json() -> None:
    """With one line for everything (and one line a span) the quick path writes what
    write_otlp_json writes of events_to_spans's SDK spans."""
    events: list[dict[str, Any]] = [
        {"ts": 1.0 + i / 10, "run": f"r{i % 3}", "kind": "llm_call", "model": "m", "content": "hi"}
        for i in range(30)
    ]
    for batch_size in (1, 10**6):
        sdk = io.BytesIO()
        write_otlp_json(events_to_spans(events), sdk, batch_size=batch_size)
        assert _quick(events, batch_size)[0] == sdk.getvalue()


# -- message text: orjson where it writes json's text ---------------------------------------


class Colour(enum.Enum):
    RED = "red"


class Number(enum.IntEnum):
    TWO = 2


class Letter(str, enum.Enum):
    A = "a"


class Text(str):
    def __str__(self) -> str:
        return "other"


@dataclasses.dataclass
class Point:
    x: int


def _moved() -> collections.OrderedDict[str, int]:
    ordered = collections.OrderedDict(a=1, b=2)
    ordered.move_to_end("a")
    return ordered


@pytest.mark.parametrize(
    "value",
    [
        {"a": Colour.RED},
        {"a": Number.TWO},
        [Letter.A],
        {"u": uuid.UUID(int=7)},
        [datetime.datetime(2020, 1, 2, 3, 4, 5)],
        [Point(1)],
        [_moved()],
        {"x": Text("q")},
        [math.nan, math.inf],
        [1e16, 1e-5, 0.1, -0.0, 5e-324],
        {"a": [1, (2, 3)]},
        {"k": '\u2028\x00\x1f\x7f"\\\U0001f600'},
        [1 << 70, -(1 << 64), (1 << 64) - 1],
        {1: 2, None: 3},
        {"a": "v1.2 and 3e4 in text"},
        [True, False, None, -5, ""],
        [{"role": "assistant", "parts": [{"type": "text", "content": "plain"}]}],
    ],
)
def test_json_text_is_json_dumps_for_values_orjson_writes_otherwise(value: Any) -> None:
    """Enums, UUIDs, dates, dataclasses, str subclasses, a reordered OrderedDict, NaN,
    exponent floats, huge integers, odd keys, control characters: json.dumps's text."""
    assert json_text(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=str
    )


@settings(max_examples=300)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_json_text_is_json_dumps_for_json_values(value: Any) -> None:
    """Any JSON value (every string, any integer or finite float) gives json.dumps's text."""
    assert json_text(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=str
    )


# -- the reader's quick check of the usual line, against the long way --------------------


def _long_way_read(data: bytes) -> tuple[list[tuple[int, Mapping[str, Any]]], ReadReport]:
    """Every line decoded and checked the long way (what the reader did before the quick
    check): events, bad lines, and the torn last line."""
    report = ReadReport(path="f")
    events: list[tuple[int, Mapping[str, Any]]] = []
    pending: tuple[int, str] | None = None
    from otel_jsonl.read.lines import Problem

    raws = io.BytesIO(data).readlines()  # split at "\n" only, as a file is read
    for lineno, raw in enumerate(raws, 1):
        report.lines += 1
        report.bytes_read += len(raw)
        if pending is not None:
            report.add(Problem("f", *pending))
            pending = None
        complete = raw.endswith(b"\n")
        body = raw.rstrip(b"\r\n") if complete else raw
        if not body.strip():
            if complete:
                report.add(Problem("f", lineno, "empty line"))
            continue
        obj, reason = decode_line(body)
        if reason is None:
            reason = check_required(obj)
        if reason is not None:
            if complete:
                report.add(Problem("f", lineno, reason))
            else:
                pending = (lineno, reason)
            continue
        report.events += 1
        events.append((lineno, obj))
    if pending is not None:
        report.torn = Problem("f", pending[0], f"torn last line skipped ({pending[1]})")
        report.skipped += 1
    return events, report


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        fuzz_lines
        | st.sampled_from(
            [
                b'{"ts": 1.5, "run": "r", "kind": "k"}',
                b'{"ts": 1, "run": "r", "kind": "k"}\r',
                b'  {"ts": 2.0, "run": "r", "kind": "k", "x": [1e16]}  ',
                b'{"ts": true, "run": "r", "kind": "k"}',
                b'{"ts": NaN, "run": "r", "kind": "k"}',
                b'{"ts": 1e400, "run": "r", "kind": "k"}',
                b'{"ts": 1, "run": "", "kind": "k"}',
                b'{"ts": 1, "run": "r", "kind": 5}',
                b'{"ts": 1, "run": "r"}',
                b"   ",
                b"\r",
            ]
        ),
        max_size=8,
    ),
    st.booleans(),
)
def test_reader_quick_check_gives_what_the_long_way_gives(
    lines: list[bytes], newline_at_end: bool
) -> None:
    """Any lines (events, JSON of every shape, junk, blank, CRLF, a torn last line): the same
    events, bad lines, reasons and torn-line report as decoding every line the long way."""
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines)
    if newline_at_end and data:
        data += b"\n"
    report = ReadReport()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TornLineWarning)
        got = [
            (line.lineno, line.event)
            for line in read_events(io.BytesIO(data), strict=False, report=report, name="f")
        ]
    want, want_report = _long_way_read(data)
    assert got == want
    assert report == want_report


def test_reader_gives_line_objects(tmp_path: Path) -> None:
    """The quick path yields Line(lineno, event) as the long way did."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'{"ts": 1.0, "run": "r", "kind": "k"}\n\n{"ts": 2, "run": "r", "kind": "k"}\n'
    )
    got = list(read_events(path, strict=False))
    assert got == [
        Line(1, {"ts": 1.0, "run": "r", "kind": "k"}),
        Line(3, {"ts": 2, "run": "r", "kind": "k"}),
    ]


@given(
    st.text(st.characters(), max_size=8),
    st.one_of(st.none(), st.integers(-5, 1 << 40), st.booleans()),
    st.integers(0, 100),
)
def test_step_span_ids_from_a_runs_key_are_span_id_for_step(
    run: str, seq: int | None, position: int
) -> None:
    """The converter's per-run key gives the documented span ids (surrogates, bools included)."""
    from otel_jsonl.otel.ids import span_id_for_step, step_key, step_span_id

    step = f"s{seq}" if seq is not None else f"n{position}"
    data = f"otel-jsonl/v1\0span\0{run}\0{step}".encode("utf-8", "surrogatepass")
    documented = hashlib.sha256(data).digest()
    want = int.from_bytes(documented[:8], "big") or 1
    assert (
        step_span_id(step_key(run), seq, position) == span_id_for_step(run, seq, position) == want
    )


# -- the recorder's usual model call in one pass, against llm_attributes ----------------------

_PLAIN_PART = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "tool_call", "reasoning"])},
    optional={
        "content": st.text(max_size=8),
        "id": st.sampled_from(["c1", ""]),
        "name": st.text(max_size=4),
        "arguments": json_values,
    },
)
_PLAIN_MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["assistant", "user", "model"]),
        "parts": st.lists(_PLAIN_PART, max_size=3) | st.lists(json_values, max_size=2),
        "finish_reason": st.sampled_from(["stop", "STOP", "tool_call", "MAX_TOKENS", "", None]),
    },
    optional={"content": st.just("x"), "type": st.just("message")},
)
# Mostly the recorder's usual model call, with every key the general path reads sometimes
# another kind of value (then the one-pass path must either decline or agree).
_USAGE = st.dictionaries(
    st.sampled_from(["input_tokens", "output_tokens", "total_tokens", "prompt_tokens"]),
    st.integers(-5, 1 << 70) | st.booleans() | st.just(1.5),
    max_size=3,
)
model_calls = st.fixed_dictionaries(
    {
        "ts": st.just(1.0),
        "run": st.just("r"),
        "kind": st.just("llm_call"),
        "output": st.lists(_PLAIN_MESSAGE, min_size=1, max_size=2),
    },
    optional={
        "model": st.sampled_from(["gpt-4o", ""]) | json_values,
        "operation": st.sampled_from(["chat", "text_completion", ""]) | st.integers(),
        "provider": st.sampled_from(["openai", "Gemini", "google", ""]) | st.integers(),
        "response_model": st.sampled_from(["m-1", ""]) | st.integers(),
        "response_id": st.sampled_from(["r-1", ""]) | st.integers(),
        "usage": _USAGE | st.none() | json_values,
        "finish_reason": st.sampled_from(["stop", "STOP", "tool_calls", "length", "", None])
        | json_values,
        "content": json_values,
        "input": st.none() | st.lists(_PLAIN_MESSAGE, max_size=1) | st.text(max_size=3),
        "system": st.sampled_from(["", "be brief", None]) | st.lists(st.just("s"), max_size=1),
        "request": st.none() | st.just({"temperature": 0.5}) | st.just("x"),
    },
)


@settings(max_examples=500, deadline=None)
@given(model_calls)
def test_plain_model_call_attributes_are_llm_attributes(ev: dict[str, Any]) -> None:
    """Where the one-pass path takes a model call, its name and attributes (keys in order,
    values and their types) are llm_attributes's; it takes the recorder's usual line."""
    from otel_jsonl.genai.attributes import llm_attributes
    from otel_jsonl.genai.plain_steps import plain_llm_attributes

    quick = plain_llm_attributes(ev)
    if quick is None:
        return
    name, attrs = llm_attributes(ev)
    assert quick[0] == name
    assert [(k, type(v), v) for k, v in quick[1].items()] == [
        (k, type(v), v) for k, v in attrs.items()
    ]


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"usage": {"input_tokens": True, "output_tokens": 2}},
        {"usage": {"prompt_tokens": 5, "completion_tokens": 1}},
        {"usage": {"input_tokens": 1 << 70, "total_tokens": 9}},
        {"usage": None},
        {"provider": "Gemini", "finish_reason": "MAX_TOKENS"},
        {"operation": "", "model": 3, "response_id": ""},
        {"system": "be brief"},
        {"input": [{"role": "user", "parts": []}]},
        {"request": {"temperature": 0.5}},
    ],
)
def test_plain_model_call_path_on_the_recorders_line(change: dict[str, Any]) -> None:
    """The recorder's usual model call (one output message in the parts form, usage) takes
    the one-pass path, and it or a variation of it gives what llm_attributes gives."""
    from otel_jsonl.genai.attributes import llm_attributes
    from otel_jsonl.genai.plain_steps import plain_llm_attributes

    ev = {
        "ts": 1.0,
        "run": "r",
        "kind": "llm_call",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "output": [
            {
                "role": "assistant",
                "parts": [{"type": "tool_call", "id": "c", "name": "f", "arguments": {}}],
                "finish_reason": "stop",
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 4},
        "finish_reason": "STOP",
        **change,
    }
    quick = plain_llm_attributes(ev)
    if not change:
        assert quick is not None
        assert quick[1]["gen_ai.response.finish_reasons"] == ["tool_call"]
    if quick is not None:
        name, attrs = llm_attributes(ev)
        assert quick[0] == name
        assert [(k, type(v), v) for k, v in quick[1].items()] == [
            (k, type(v), v) for k, v in attrs.items()
        ]

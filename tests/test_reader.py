"""Tests for otel_jsonl.reader: streaming events with line numbers."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_jsonl import ReadReport, TornLineWarning, TraceFormatError, list_runs, read_events

GOOD = '{"ts":1.0,"run":"r1","kind":"llm_call","usage":{"prompt_tokens":3,"completion_tokens":4}}'


def write(tmp_path: Path, text: str | bytes, name: str = "t.jsonl") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_yields_events_with_line_numbers(tmp_path: Path) -> None:
    """Each event comes with its 1-based line number."""
    path = write(tmp_path, GOOD + "\n" + GOOD.replace("r1", "r2") + "\n")
    lines = list(read_events(path))
    assert [n for n, _ in lines] == [1, 2]
    assert [e["run"] for _, e in lines] == ["r1", "r2"]


@pytest.mark.parametrize(
    ("content", "lineno", "reason"),
    [
        (b"\n", 1, "empty line"),
        (b"   \n", 1, "empty line"),
        (b"[1,2]\n", 1, "expected a JSON object, got array"),
        (b"42\n", 1, "expected a JSON object, got number"),
        (b'"text"\n', 1, "expected a JSON object, got string"),
        (b"{not json}\n", 1, "not valid JSON"),
        (
            b'{"ts":1,"run":"r","kind":"x","s":"\xff\xfe"}\n',
            1,
            "not valid UTF-8 (byte 0xff at column 35)",
        ),
        (b'{"run":"r","kind":"x"}\n', 1, "missing required key 'ts'"),
        (b'{"ts":1,"kind":"x"}\n', 1, "missing required key 'run'"),
        (b'{"ts":1,"run":"r"}\n', 1, "missing required key 'kind'"),
        (b'{"ts":"now","run":"r","kind":"x"}\n', 1, "'ts' must be a number of seconds, got string"),
        (b'{"ts":true,"run":"r","kind":"x"}\n', 1, "'ts' must be a number of seconds, got boolean"),
        (b'{"ts":1,"run":"","kind":"x"}\n', 1, "'run' must be a non-empty string, got string"),
        (b'{"ts":1,"run":7,"kind":"x"}\n', 1, "'run' must be a non-empty string, got number"),
        (b'{"ts":1,"run":"r","kind":null}\n', 1, "'kind' must be a non-empty string, got null"),
    ],
)
def test_bad_lines_strict_and_lenient(
    tmp_path: Path, content: bytes, lineno: int, reason: str
) -> None:
    """A bad line raises path:line: reason in strict mode and is skipped and counted otherwise."""
    path = write(tmp_path, GOOD.encode() + b"\n" + content + GOOD.encode() + b"\n")
    with pytest.raises(TraceFormatError) as info:
        list(read_events(path))
    assert info.value.lineno == lineno + 1
    assert info.value.path == str(path)
    assert reason in str(info.value)
    assert str(info.value).startswith(f"{path}:{lineno + 1}: ")
    report = ReadReport()
    events = list(read_events(path, strict=False, report=report))
    assert [n for n, _ in events] == [1, 3]
    assert report.skipped == 1
    assert report.problems[0].lineno == lineno + 1 and reason in report.problems[0].reason
    assert report.torn is None


def test_torn_last_line_is_reported_and_skipped_even_in_strict_mode(tmp_path: Path) -> None:
    """A last line cut mid-write is skipped and reported, never fatal."""
    path = write(tmp_path, GOOD + "\n" + GOOD + "\n" + GOOD[:30])
    report = ReadReport()
    events = list(read_events(path, strict=True, report=report))
    assert len(events) == 2
    assert report.torn is not None
    assert report.torn.lineno == 3
    assert str(report.torn).startswith(f"{path}:3: torn last line skipped")


def test_torn_last_line_without_report_warns(tmp_path: Path) -> None:
    """With no report object, a torn last line is issued as a TornLineWarning."""
    path = write(tmp_path, GOOD + "\n" + GOOD[:10])
    with pytest.warns(TornLineWarning, match=":2: torn last line"):
        assert len(list(read_events(path))) == 1


def test_complete_last_line_without_newline_is_accepted(tmp_path: Path) -> None:
    """A last line that parses is an event even without its newline."""
    path = write(tmp_path, GOOD + "\n" + GOOD)
    assert len(list(read_events(path))) == 2


def test_filters_by_run_and_kind(tmp_path: Path) -> None:
    """run= and kind= keep only matching events (a name or a collection)."""
    rows = [
        {"ts": 1, "run": "a", "kind": "llm_call"},
        {"ts": 2, "run": "b", "kind": "tool_call"},
        {"ts": 3, "run": "a", "kind": "tool_call"},
    ]
    path = write(tmp_path, "".join(json.dumps(r) + "\n" for r in rows))
    assert [n for n, _ in read_events(path, run="a")] == [1, 3]
    assert [n for n, _ in read_events(path, kind="tool_call")] == [2, 3]
    assert [n for n, _ in read_events(path, run={"a", "b"}, kind=["tool_call"])] == [2, 3]


def test_reads_gzip_and_streams(tmp_path: Path) -> None:
    """A .gz path is read through gzip; an open binary stream is read as is."""
    gz = tmp_path / "t.jsonl.gz"
    with gzip.open(gz, "wt") as f:
        f.write(GOOD + "\n")
    assert [e["run"] for _, e in read_events(gz)] == ["r1"]
    assert [e["run"] for _, e in read_events(io.BytesIO((GOOD + "\n").encode()))] == ["r1"]


def test_reads_stdin_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'-' reads standard input."""

    class FakeStdin:
        buffer = io.BytesIO((GOOD + "\n").encode())

    monkeypatch.setattr("sys.stdin", FakeStdin)
    report = ReadReport()
    assert len(list(read_events("-", report=report))) == 1
    assert report.path == "<stdin>"


def test_list_runs_counts_steps_time_and_tokens(tmp_path: Path) -> None:
    """list_runs gives steps, time span and token totals per run, meta kinds excluded."""
    rows = [
        {"ts": 10, "run": "a", "kind": "input"},
        {
            "ts": 12,
            "run": "a",
            "kind": "llm_call",
            "usage": {"input_tokens": 5, "output_tokens": 2},
        },
        {
            "ts": 13,
            "run": "b",
            "kind": "llm_call",
            "usage": {"prompt_tokens": 7, "completion_tokens": 1},
        },
        {"ts": 14, "run": "a", "kind": "blob_ref", "sha256": "0" * 64},
        {"ts": 15, "run": "a", "kind": "error", "type": "E"},
        {"ts": 16, "run": "a", "kind": "llm_call", "start": 9.5, "usage": {"input_tokens": 1}},
    ]
    path = write(tmp_path, "".join(json.dumps(r) + "\n" for r in rows))
    a, b = list_runs(path)
    assert (a.run, a.steps, a.first_ts, a.last_ts, a.input_tokens, a.output_tokens, a.errors) == (
        "a",
        4,
        9.5,
        16,
        6,
        2,
        1,
    )
    assert a.duration == 6.5
    assert (b.run, b.steps, b.input_tokens, b.output_tokens) == ("b", 1, 7, 1)


def test_memory_stays_flat_on_a_large_file(tmp_path: Path) -> None:
    """Reading 20x more lines does not use 20x more memory (nothing is kept per line)."""
    line = json.dumps({"ts": 1.0, "run": "r", "kind": "tool_result", "output": "x" * 500}) + "\n"
    small = write(tmp_path, line * 1_000, "small.jsonl")
    large = write(tmp_path, line * 20_000, "large.jsonl")

    def peak(path: Path) -> int:
        tracemalloc.start()
        count = sum(1 for _ in read_events(path))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count > 0
        return top

    assert peak(large) < 3 * peak(small) + 256 * 1024


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_lenient_reading(data: bytes) -> None:
    """Any bytes read leniently yield only valid events, and every other line is reported."""
    report = ReadReport()
    events = list(read_events(io.BytesIO(data), strict=False, report=report))
    assert all(isinstance(e, dict) and {"ts", "run", "kind"} <= set(e) for _, e in events)
    nonblank = len(data.splitlines())
    assert len(events) + report.skipped <= max(nonblank, report.lines)
    assert report.lines == len(io.BytesIO(data).readlines())


def test_paused_gc_restores_the_collector_even_on_error() -> None:
    """paused_gc turns the collector off inside and back on after, also when the body raises;
    a collector that was already off stays off."""
    import gc

    from otel_jsonl.read.lines import paused_gc

    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"), paused_gc():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_replay_and_diff_leave_the_collector_on(tmp_path: Path) -> None:
    """replay and diff_runs pause the collector while they work and restore it, errors too."""
    import gc

    from otel_jsonl import RunNotFoundError, diff_runs, replay

    path = write(tmp_path, GOOD + "\n")
    assert diff_runs(path, path).equal
    assert gc.isenabled()
    with pytest.raises(RunNotFoundError):
        replay(path, 99)
    assert gc.isenabled()


# -- the narrow standard-library decoder of the first lines agrees with the codec ----------

TRICKY_LINES = [
    b'{"a":1,"b":2,"a":3}',
    b"NaN",
    b'{"x":Infinity}',
    b'{"x":-Infinity}',
    b"1e400",
    b"-1.7976931348623157e309",
    b"1e-400",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"9" * 5000,
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b'"\\ud83d\\ude00"',
    b'"\\uD83D\\uDE00"',
    b'"\xed\xa0\x80"',
    b'"\xff"',
    b"\xef\xbb\xbf{}",
    b"[" * 1000 + b"]" * 1000,
    b"[" * 1030 + b"]" * 1030,
    b"-0",
    b"-0.0",
    b"2.2250738585072011e-308",
    b"4.9e-324",
    b'"\x1f"',
    b'"\x7f"',
    b"[1,]",
    b"01",
    b" {} ",
    b"{}\x00",
    b'{"\\u00e9":"\\/"}',
]


class _Key(str):
    """A dict key on the walk's stack (told apart from a string value)."""


def _tokens(value: object) -> list[tuple[str, str]]:
    """A value as a flat list of (type, repr) tokens, found without recursion (deeply nested
    values would exceed the recursion limit of ``repr`` and ``==``)."""
    out: list[tuple[str, str]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Key):
            out.append(("key", repr(str(item))))
        elif isinstance(item, dict):
            out.append(("dict", str(len(item))))
            for key, child in reversed(list(item.items())):
                stack.append(child)
                stack.append(_Key(key))
        elif isinstance(item, list):
            out.append(("list", str(len(item))))
            stack.extend(reversed(item))
        else:
            out.append((type(item).__name__, repr(item)))
    return out


def _same_as_codec(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_jsonl.read import lines
    from otel_jsonl.record import codec

    monkeypatch.setattr(lines, "_plain_left", 1 << 30)
    try:
        want = ("ok", _tokens(codec.loads(raw)))
    except (ValueError, RecursionError):  # the stdlib codec (OTEL_JSONL_NO_ORJSON) recurses
        want = ("error", [])
    try:
        got = ("ok", _tokens(lines.loads(raw)))
    except (ValueError, RecursionError):
        got = ("error", [])
    assert got == want, raw[:80]
    if want[0] == "ok" or codec.HAVE_ORJSON:
        assert lines.decode_line(raw)[1] == _codec_reason(raw)


def _codec_reason(raw: bytes) -> str | None:
    """What decode_line said before the narrow decoder: the codec's message."""
    from otel_jsonl.record import codec

    try:
        codec.loads(raw)
    except ValueError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            return f"not valid UTF-8 (byte 0x{raw[uexc.start]:02x} at column {uexc.start + 1})"
        return f"not valid JSON ({str(exc).splitlines()[0]})"
    return None


@pytest.mark.parametrize("raw", TRICKY_LINES, ids=lambda raw: repr(raw[:24]))
def test_first_lines_decode_as_the_codec_does(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard-library decoder of a process's first lines gives the codec's value, or
    the codec's verdict and message, on every edge where JSON decoders differ."""
    _same_as_codec(raw, monkeypatch)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(_JSON, st.booleans(), st.binary(max_size=3), st.integers(min_value=0, max_value=60))
def test_generated_lines_decode_as_the_codec_does(
    value: object, ascii_only: bool, noise: bytes, at: int
) -> None:
    """Generated JSON (any numbers, any text, escaped or not), whole or with a few bytes
    spliced in, decodes to the codec's value or fails as the codec does."""
    text = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same_as_codec(text, monkeypatch)
        _same_as_codec(text[:at] + noise + text[at:], monkeypatch)

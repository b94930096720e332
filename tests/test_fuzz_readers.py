"""Every data command against arbitrary bytes, plain and gzip (whole, truncated or corrupt):
an exit code and an error line, never a traceback."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_jsonl.cli import main

KEYS = [
    "ts",
    "run",
    "seq",
    "kind",
    "start",
    "model",
    "provider",
    "input",
    "output",
    "usage",
    "messages",
    "system",
    "id",
    "name",
    "args",
    "text",
    "trace_id",
    "span_id",
    "parent_id",
    "capped",
    "otel",
    "finish_reason",
    "type",
    "message",
    "step",
    "sha256",
    "size",
    "field",
    "of",
    "is_error",
    "attrs",
    "role",
    "content",
    "parts",
    "input_tokens",
    "output_tokens",
    "tool_calls",
    "arguments",
    "function",
]
KINDS = [
    "input",
    "llm_call",
    "tool_call",
    "tool_result",
    "error",
    "final",
    "blob_ref",
    "span",
    "log",
    "resource",
    "embeddings",
    "retrieval",
    "other",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(KINDS),
    st.sampled_from(["0" * 32, "ab" * 16, "0" * 16, "12" * 8, "\x1b]0;x\x07", "日本語", "👍🏽"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    ),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {
        "ts": st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=4)),
        "run": st.one_of(st.sampled_from(["r1", "r2", ""]), scalars),
        "kind": st.one_of(st.sampled_from(KINDS), scalars),
    },
    optional=dict.fromkeys(KEYS[4:], json_values),
)


def _dump(value: object) -> bytes:
    return json.dumps(value, allow_nan=True, default=str).encode("utf-8", "surrogatepass")


otlp_attr_values = st.one_of(
    st.fixed_dictionaries({"stringValue": st.one_of(st.text(max_size=8), scalars)}),
    st.fixed_dictionaries({"intValue": st.one_of(st.integers(), st.text(max_size=25))}),
    st.fixed_dictionaries({"doubleValue": st.one_of(st.floats(), st.text(max_size=6))}),
    st.fixed_dictionaries({"boolValue": scalars}),
    st.fixed_dictionaries({"bytesValue": st.text(max_size=8)}),
    st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": json_values})}),
    json_values,
)
otlp_spans = st.fixed_dictionaries(
    {},
    optional={
        "traceId": st.one_of(st.sampled_from(["ab" * 16, "0" * 32, "xyz"]), scalars),
        "spanId": st.one_of(st.sampled_from(["12" * 8, "0" * 16]), scalars),
        "parentSpanId": st.one_of(st.sampled_from(["34" * 8, ""]), scalars),
        "name": scalars,
        "kind": st.one_of(st.integers(min_value=-1, max_value=9), scalars),
        "startTimeUnixNano": st.one_of(st.integers(), st.text(max_size=22), scalars),
        "endTimeUnixNano": st.one_of(st.integers(), st.text(max_size=22), scalars),
        "attributes": st.lists(
            st.fixed_dictionaries(
                {"key": st.one_of(st.sampled_from(["gen_ai.operation.name", "a"]), scalars)},
                optional={"value": otlp_attr_values},
            ),
            max_size=3,
        ),
        "status": st.one_of(
            st.fixed_dictionaries({}, optional={"code": scalars, "message": scalars}), scalars
        ),
        "events": st.lists(json_values, max_size=2),
        "links": st.lists(json_values, max_size=2),
        "traceState": scalars,
        "flags": scalars,
    },
)
otlp_lines = st.fixed_dictionaries(
    {
        "resourceSpans": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "resource": json_values,
                        "scopeSpans": st.lists(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "scope": json_values,
                                    "spans": st.one_of(st.lists(otlp_spans, max_size=3), scalars),
                                },
                            ),
                            max_size=2,
                        ),
                    },
                ),
                max_size=2,
            ),
            scalars,
        )
    }
)

lines = st.one_of(
    events.map(_dump),
    otlp_lines.map(_dump),
    json_values.map(_dump),
    st.binary(max_size=40),
    st.sampled_from([b"", b"{", b"\xff\xfe", b"null", b"[]", b'{"ts":1e999}', b"\x1b[2J"]),
)


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file name and its bytes: JSON-ish lines or raw bytes, plain or gzip (whole,
    truncated, or with a byte flipped)."""
    body = b"\n".join(draw(st.lists(lines, max_size=8)))
    if draw(st.booleans()):
        body += b"\n"
    if draw(st.booleans()):
        body = draw(st.binary(max_size=200)) if draw(st.booleans()) else body
    form = draw(st.sampled_from(["plain", "gzip", "gzip-truncated", "gzip-corrupt", "gz-name"]))
    if form == "plain":
        return "trace.jsonl", body
    if form == "gz-name":
        return "trace.jsonl.gz", body  # not gzip at all despite the name
    packed = gzip.compress(body)
    if form == "gzip-truncated":
        packed = packed[: draw(st.integers(min_value=0, max_value=len(packed) - 1))]
    elif form == "gzip-corrupt":
        i = draw(st.integers(min_value=0, max_value=len(packed) - 1))
        packed = packed[:i] + bytes([packed[i] ^ 0x5A]) + packed[i + 1 :]
    return "trace.jsonl.gz", packed


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in this process; any exception escaping ``main`` fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def commands(path: str, other: str, out_dir: Path) -> list[list[str]]:
    """Every data command reading ``path``."""
    return [
        ["validate", path],
        ["runs", path],
        ["runs", "--strict", path],
        ["show", path],
        ["stats", path],
        ["replay", path, "--step", "1"],
        ["replay", path, "--step", "0", "--run", "r1", "--format", "anthropic"],
        ["diff", path, other],
        ["convert", path, "-o", str(out_dir / "out.otlp.jsonl"), "-q"],
        ["convert", path, "--strict", "-o", str(out_dir / "out2.otlp.jsonl"), "-q"],
        ["import", path, "-o", str(out_dir / "imported.jsonl"), "-q"],
        ["view", path, "-o", str(out_dir / "page.html")],
        ["view", path, other, "-o", str(out_dir / "diff.html")],
    ]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=files())
def test_no_data_command_ever_raises(data: tuple[str, bytes], tmp_path: Path) -> None:
    """Arbitrary bytes, gzip included: every data command returns 0 or 1 and prints no
    traceback; a failure is an ``otel-jsonl: error:`` line or ``file:line: reason`` lines."""
    case = tmp_path / "case"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    name, raw = data
    path = case / name
    path.write_bytes(raw)
    other = case / "other.jsonl"
    other.write_bytes(b'{"ts":1,"run":"r1","seq":0,"kind":"final","text":"x"}\n')
    for argv in commands(str(path), str(other), case):
        rc, out, err = run_cli(argv)
        assert rc in (0, 1), (argv, rc, err)
        assert "Traceback" not in err, (argv, err)
        assert "error: unexpected" not in err, (argv, err)  # the last line of defence
        if rc == 1 and argv[0] != "diff":
            # validate reports bad lines on stdout; errors go to stderr
            assert (out + err).strip(), (argv, "exit 1, no reason")


@pytest.mark.parametrize(
    "command",
    ["validate", "runs", "show", "stats", "replay", "diff", "convert", "import", "view"],
)
def test_truncated_gzip_is_an_error_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .gz cut short: the lines before the cut are read, then ``file: ...`` says the gzip
    stream ended early; exit 1, no traceback."""
    lines = [
        json.dumps({"ts": 1.0 + i, "run": "r1", "seq": i, "kind": "final", "text": "x" * 50})
        for i in range(200)
    ]
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    argv = {
        "validate": ["validate", str(path)],
        "runs": ["runs", str(path)],
        "show": ["show", str(path)],
        "stats": ["stats", str(path)],
        "replay": ["replay", str(path), "--step", "0"],
        "diff": ["diff", str(path), str(path)],
        "convert": ["convert", str(path), "-o", str(tmp_path / "o.jsonl")],
        "import": ["import", str(path), "-o", str(tmp_path / "i.jsonl")],
        "view": ["view", str(path), "-o", str(tmp_path / "v.html")],
    }[command]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert f"otel-jsonl: error: {path}" in err
    assert "ended" in err or "truncated" in err
    assert "Traceback" not in err


def test_nan_and_infinity_in_a_file_never_raise(tmp_path: Path) -> None:
    """NaN and Infinity as numbers (Python's json writes them) are read without a traceback
    by every command; convert writes no NaN into OTLP JSON."""
    path = tmp_path / "nan.jsonl"
    path.write_text(
        '{"ts": 1.0, "run": "r1", "seq": 0, "kind": "llm_call", "model": "m", '
        '"usage": {"input_tokens": NaN, "output_tokens": Infinity}, "score": NaN}\n'
        '{"ts": NaN, "run": "r1", "seq": 1, "kind": "final", "text": "x"}\n'
    )
    for argv in commands(str(path), str(path), tmp_path):
        rc, _, err = run_cli(argv)
        assert rc in (0, 1), (argv, err)
    for out in tmp_path.glob("out*.otlp.jsonl"):
        for raw in out.read_bytes().splitlines():
            json.loads(raw, parse_constant=lambda c: pytest.fail(f"{c} in OTLP JSON"))

"""The span exporter's secret screen on the span's own strings: same bytes as the whole-line
screen (in ``re`` alone and with the compiled prefilter), on the redaction corpus and on
generated spans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_redact_scan import corpus_text, corpus_values

from otel_jsonl.otel.exporter import JsonlSpanExporter
from otel_jsonl.otel.exporter_screen import LineScreen
from otel_jsonl.record import secrets
from otel_jsonl.record.secrets import candidates

#: Every key the exporter writes on a step line and in its ``otel`` object.
OUR_KEYS = str.split(
    "ts run seq kind trace_id span_id parent_id start step duplicate_of name operation model "
    "response_model provider response_id usage input_tokens output_tokens total_tokens "
    "cache_read_input_tokens cache_creation_input_tokens reasoning_tokens finish_reason request "
    "input output system otel ns status code description attrs moved events links scope "
    "version schema_url resource flags trace_state parent_remote remote dropped float bytes map"
)


def _corpus() -> list[str]:
    return [corpus_text(value) for value in corpus_values()]


CORPUS = _corpus()
SECRET_KEYS = ["password", "api_key", "x-api-key", "AWS_SECRET_ACCESS_KEY", "token", "auth"]


@pytest.fixture(scope="module")
def tracer() -> Iterator[Any]:
    """A tracer whose finished spans land in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider.get_tracer("screen", "1.0"), memory
    provider.shutdown()


def _messages(content: str, args: dict[str, str]) -> tuple[str, str]:
    inp = [
        {"role": "user", "parts": [{"type": "text", "content": content}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": args}],
        },
    ]
    out = [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}]}]
    return json.dumps(inp, separators=(",", ":")), json.dumps(out, separators=(",", ":"))


#: The places a span's string goes on a step line.
PLACES = (
    "content", "argument", "model", "response_id", "request", "request_name", "attr",
    "attr_name", "span_name", "finish_reason",
)  # fmt: skip


def _spans(tracer: Any, values: list[str], key: str) -> list[ReadableSpan]:
    """Model-call spans, each with one of ``values`` in one place a span's string goes on a
    line (every value in every place), and plain words elsewhere."""
    tr, memory = tracer
    memory.clear()
    for i, text in enumerate(values):
        for place in PLACES:
            put = {place: text}
            inp, out = _messages(put.get("content", "hi"), {key: put.get("argument", "x")})
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": put.get("model", "m"),
                "gen_ai.response.id": put.get("response_id", f"r{i}"),
                f"gen_ai.request.{key}": put.get("request", "v"),
                "gen_ai.request." + put.get("request_name", "top_k"): 3,
                "gen_ai.response.finish_reasons": (put.get("finish_reason", "stop"),),
                "gen_ai.input.messages": inp,
                "gen_ai.output.messages": out,
                key: put.get("attr", "v"),
                put.get("attr_name", "note"): "v",
                "gen_ai.usage.input_tokens": i,
            }
            kind = SpanKind.CLIENT if i % 2 else SpanKind.INTERNAL
            name = put.get("span_name", "chat m")
            with tr.start_as_current_span(name, attributes=attrs, kind=kind):
                pass
    return list(memory.get_finished_spans())


@pytest.fixture(autouse=True)
def _accelerator_back_on() -> Iterator[None]:
    """The tests switch the secret scan's prefilter off and on: it is left on."""
    yield
    secrets.use_accelerator(True)


def _export(spans: list[ReadableSpan], screen: bool, accel: bool = False) -> tuple[bytes, bool]:
    """The bytes of ``spans`` exported, with the LineScreen (``screen``, the scan in ``re``)
    or the whole-line screen (with the scan's compiled prefilter when ``accel``); and whether
    any line skipped the whole-line screen."""
    import io

    secrets.use_accelerator(accel)
    buf = io.BytesIO()
    exporter = JsonlSpanExporter(stream=buf, cap=0)
    assert (exporter._screen is None) is accel  # with the prefilter, the whole line is cheaper
    skipped = [0]
    if screen:
        assert exporter._screen is not None
        clean = exporter._screen.clean

        def counting(event: dict[str, Any]) -> bool:
            found = clean(event)
            skipped[0] += found
            return found

        exporter._screen.clean = counting  # type: ignore[method-assign]
    else:
        exporter._screen = None
    exporter.export(spans)
    exporter.shutdown()
    return buf.getvalue(), skipped[0] > 0


def test_our_keys_ids_and_numbers_hold_no_candidate() -> None:
    """The exporter's own keys, hex ids, numbers and span kinds are never where a secret is."""
    for key in OUR_KEYS:
        assert candidates(f'{{"{key}":1,"{key}":"x"}}'.encode()) == [], key
    for kind in SpanKind:
        assert candidates(f'{{"kind":"{kind.name}"}}'.encode()) == [], kind
    hexes = "".join(f"{a}{b}" for a in "0123456789abcdef" for b in "0123456789abcdef")
    assert candidates(f'{{"trace_id":"{hexes}","r":"r-{hexes[:12]}"}}'.encode()) == []
    numbers = "[9,-9,99.9,1e-05,-1.5e+300,1796033353.1985726,-0.0,90,29,9.29]"
    assert candidates(f'{{"ns":{numbers},"ts":9.9,"seq":99}}'.encode()) == []


@pytest.mark.parametrize("key", [*SECRET_KEYS, "note"])
def test_corpus_lines_are_the_same_bytes(tracer: Any, key: str) -> None:
    """Every corpus value, in every place a span's string goes, gives the same lines as the
    whole-line screen; lines with no candidate skip it."""
    spans = _spans(tracer, CORPUS, key)
    fast, skipped = _export(spans, screen=True)
    slow, _ = _export(spans, screen=False)
    assert fast == slow
    assert _export(spans, screen=False, accel=True)[0] == slow
    assert b"[REDACTED:" in fast
    assert skipped or key in SECRET_KEYS  # a secret-named attribute is a candidate on each line


_TEXT = st.one_of(
    st.sampled_from(CORPUS),
    st.text(max_size=40),
    st.text(alphabet='sk-_proj:=ABGJ9aeyz"\\/ @.', max_size=60),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_TEXT, min_size=1, max_size=4), key=st.sampled_from([*SECRET_KEYS, "k"]))
def test_generated_spans_are_the_same_bytes(tracer: Any, values: list[str], key: str) -> None:
    """Generated strings (secrets, look-alikes, scan bytes, escapes) give the same lines with
    the screen on the span's strings as with the whole-line screen."""
    spans = _spans(tracer, values, key)
    slow = _export(spans, screen=False)[0]
    assert _export(spans, screen=True)[0] == slow
    assert _export(spans, screen=False, accel=True)[0] == slow


def test_unknown_line_shape_is_screened_whole() -> None:
    """A line without ``otel``, or with a key that may be a secret's, is left to the writer."""
    screen = LineScreen()
    assert not screen.clean({"ts": 1.0, "run": "ab", "kind": "log"})
    event = {"ts": 1.0, "run": "ab", "seq": 0, "kind": "span", "password": 1, "otel": {}}
    assert not screen.clean(event)
    event = {"ts": 1.0, "run": "ab", "seq": 0, "kind": "span", "otel": {"name": "x"}}
    assert screen.clean(event)
    assert not screen.clean(dict(event, name="Bearer abcdefghijklmnopqrstuvwxyz012345"))


def test_values_orjson_refuses_leave_the_line_to_the_writer() -> None:
    """An integer over 64 bits or a lone surrogate (the line takes the codec's careful path)
    makes the line screened whole; clean values of the same shape do not."""
    screen = LineScreen()
    event: dict[str, Any] = {"ts": 1.0, "run": "ab", "seq": 0, "kind": "span", "otel": {}}
    assert screen.clean(dict(event, request={"n": 1}))
    assert not screen.clean(dict(event, request={"n": 2**70}))
    assert not screen.clean(dict(event, response_id="\ud800"))

"""OTLP JSON encode/decode: spec shape, exact round trips, and the exporter -> convert path."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from support.log_lines import log_lines

from otel_jsonl.cli import main
from otel_jsonl.otel import otlp_json as otlp
from otel_jsonl.otel import otlp_logs, otlp_read
from otel_jsonl.otel.exporter import JsonlSpanExporter
from otel_jsonl.otel.to_spans import events_to_spans
from otel_jsonl.read.lines import read_events

# -- strategies ----------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
keys = st.text("abcdefghijklmnop._", min_size=1, max_size=10)
int64 = st.integers(-(2**63), 2**63 - 1)
floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(text, st.booleans(), int64, floats)
values = st.one_of(
    scalars,
    st.lists(text, max_size=3).map(tuple),
    st.lists(int64, max_size=3).map(tuple),
    st.lists(floats, max_size=3).map(tuple),
    st.lists(st.booleans(), max_size=3).map(tuple),
)
attributes = st.dictionaries(keys, values, max_size=5)
trace_ids = st.integers(1, 2**128 - 1)
span_ids = st.integers(1, 2**64 - 1)
times = st.integers(1_600_000_000_000_000_000, 1_900_000_000_000_000_000)
trace_states = st.one_of(
    st.just(TraceState()), st.just(TraceState([("vendor", "v1"), ("other", "x-2")]))
)


@st.composite
def spans(draw: Any) -> ReadableSpan:
    """A finished span with every field OTLP carries."""
    trace_id = draw(trace_ids)
    start = draw(times)
    end = start + draw(st.integers(0, 10**12))
    flags = TraceFlags(draw(st.sampled_from([0, 1])))
    parent = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda sid, remote: SpanContext(trace_id, sid, remote, flags),
                span_ids,
                st.booleans(),
            ),
        )
    )
    code = draw(st.sampled_from(list(StatusCode)))
    status = Status(code, draw(text) or None) if code is StatusCode.ERROR else Status(code)
    events = draw(
        st.lists(st.builds(lambda n, a, t: Event(n, a, t), text, attributes, times), max_size=3)
    )
    links = draw(
        st.lists(
            st.builds(
                lambda t, s, r, a, f: Link(SpanContext(t, s, r, TraceFlags(f)), a),
                trace_ids,
                span_ids,
                st.booleans(),
                attributes,
                st.sampled_from([0, 1]),
            ),
            max_size=2,
        )
    )
    scope = InstrumentationScope(
        draw(st.sampled_from(["lib.a", "lib.b"])),
        draw(st.sampled_from([None, "1.2.3"])),
        draw(st.sampled_from([None, "https://opentelemetry.io/schemas/1.30.0"])),
        draw(st.sampled_from([None, {"scope.attr": "x"}])),
    )
    resource = draw(
        st.sampled_from(
            [
                Resource({"service.name": "a"}),
                Resource({"service.name": "b", "n": 3}, "https://opentelemetry.io/schemas/1.9.0"),
            ]
        )
    )
    return ReadableSpan(
        name=draw(text),
        context=SpanContext(trace_id, draw(span_ids), False, flags, draw(trace_states)),
        parent=parent,
        resource=resource,
        attributes=draw(attributes),
        events=events,
        links=links,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=status,
        start_time=start,
        end_time=end,
        instrumentation_scope=scope,
    )


def _ctx(c: SpanContext | None) -> Any:
    if c is None:
        return None
    return (c.trace_id, c.span_id, int(c.trace_flags), c.is_remote, c.trace_state.to_header())


def _attrs(a: Any) -> Any:
    return {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in (a or {}).items()}


def canon(span: ReadableSpan) -> tuple[Any, ...]:
    """Everything about a span that OTLP carries, comparable with ==."""
    scope = span.instrumentation_scope
    return (
        span.name,
        _ctx(span.context),
        _ctx(span.parent),
        span.kind,
        span.start_time,
        span.end_time,
        span.status.status_code,
        span.status.description,
        _attrs(span.attributes),
        [(e.name, e.timestamp, _attrs(e.attributes)) for e in span.events],
        [(_ctx(link.context), _attrs(link.attributes)) for link in span.links],
        None
        if scope is None
        else (scope.name, scope.version, scope.schema_url, _attrs(scope.attributes)),
        (_attrs(span.resource.attributes), span.resource.schema_url),
    )


def roundtrip_json(batch: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """Spans -> OTLP JSON lines -> spans."""
    data = b"".join(otlp.spans_to_otlp_json_lines(batch, batch_size=3))
    return list(otlp_logs.read_otlp_json(io.BytesIO(data)))


def by_id(batch: Sequence[ReadableSpan]) -> list[tuple[Any, ...]]:
    """Canonical spans in a stable order (encoding groups spans by resource and scope)."""
    return sorted((canon(s) for s in batch), key=repr)


HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def hex_ids_to_base64(value: Any) -> Any:
    """OTLP JSON -> generic protobuf JSON: json_format reads bytes fields as base64."""
    if isinstance(value, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in _ID_KEYS and isinstance(v, str)
            else hex_ids_to_base64(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [hex_ids_to_base64(v) for v in value]
    return value


# -- tests ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=6))
def test_otlp_json_round_trip_is_exact(batch: list[ReadableSpan]) -> None:
    """Spans -> OTLP JSON -> spans keeps every field, typed attributes included."""
    assert by_id(roundtrip_json(batch)) == by_id(batch)


@settings(max_examples=100, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=6))
def test_every_line_parses_as_traces_data_with_hex_ids(batch: list[ReadableSpan]) -> None:
    """Each line is spec OTLP JSON: json_format.Parse accepts it; ids are hex, not base64."""
    for line in otlp.spans_to_otlp_json_lines(batch, batch_size=4):
        parsed = json_format.Parse(line, TracesData())
        raw = json.loads(line)
        for rs, prs in zip(raw["resourceSpans"], parsed.resource_spans, strict=True):
            for ss, pss in zip(rs["scopeSpans"], prs.scope_spans, strict=True):
                for span, pspan in zip(ss["spans"], pss.spans, strict=True):
                    assert HEX32.fullmatch(span["traceId"])
                    assert HEX16.fullmatch(span["spanId"])
                    assert span["name"] == pspan.name
                    assert isinstance(span["startTimeUnixNano"], str)
                    assert isinstance(span["kind"], int)


@settings(max_examples=100, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=6))
def test_encoding_matches_the_sdk_protobuf(batch: list[ReadableSpan]) -> None:
    """Parsed into protobuf, our JSON equals the SDK's encoder output (flags aside: we also
    keep the W3C trace flags in the low byte, as the spec says; an UNSET status is omitted)."""
    ours = TracesData()
    for line in otlp.spans_to_otlp_json_lines(batch, batch_size=len(batch)):
        json_format.ParseDict(hex_ids_to_base64(json.loads(line)), ours)
    sdk = TracesData(resource_spans=encode_spans(batch).resource_spans)
    for message in (ours, sdk):
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    span.flags &= ~0xFF
                    if not span.status.code and not span.status.message:
                        span.ClearField("status")  # the SDK writes an empty one; same meaning
                    for link in span.links:
                        link.flags &= ~0xFF
    assert flatten(ours) == flatten(sdk)


def flatten(message: TracesData) -> list[bytes]:
    """(resource, scope, span) triples, serialised and sorted: grouping is not meaning."""
    out = []
    for rs in message.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                out.append(
                    rs.resource.SerializeToString(deterministic=True)
                    + rs.schema_url.encode()
                    + ss.scope.SerializeToString(deterministic=True)
                    + ss.schema_url.encode()
                    + span.SerializeToString(deterministic=True)
                )
    return sorted(out)


@settings(max_examples=50, deadline=None)
@given(st.lists(spans(), min_size=1, max_size=4))
def test_decoder_reads_generic_protobuf_json(batch: list[ReadableSpan]) -> None:
    """Generic protobuf JSON (base64 ids, enum names, int64 as strings) decodes to the spans,
    except trace flags, which the SDK encoder does not write."""
    text = json_format.MessageToJson(
        TracesData(resource_spans=encode_spans(batch).resource_spans), indent=None
    )
    assert '"SPAN_KIND' in text or '"kind"' not in text
    back = list(otlp_logs.read_otlp_json(io.BytesIO(text.encode() + b"\n")))

    def no_flags(c: tuple[Any, ...]) -> tuple[Any, ...]:
        def strip(ctx: Any) -> Any:
            return None if ctx is None else (ctx[0], ctx[1], ctx[3], ctx[4])

        links = [(strip(lc), a) for lc, a in c[10]]
        return (c[0], strip(c[1]), strip(c[2]), *c[3:10], links, *c[11:])

    assert sorted(map(no_flags, map(canon, back)), key=repr) == sorted(
        map(no_flags, map(canon, batch)), key=repr
    )


def write_exporter_jsonl(batch: Sequence[ReadableSpan], path: Path) -> None:
    """What JsonlSpanExporter writes for ``batch`` (no cap, no redaction: exactness)."""
    exporter = JsonlSpanExporter(path, cap=0, redact=False)
    exporter.export(list(batch))
    exporter.shutdown()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(spans(), min_size=1, max_size=5, unique_by=lambda s: s.context.span_id))  # type: ignore[union-attr]
def test_exporter_jsonl_through_the_converter_is_exact(
    batch: list[ReadableSpan], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Spans -> JsonlSpanExporter -> JSONL -> events_to_spans gives back the same spans."""
    path = tmp_path_factory.mktemp("rt") / "spans.jsonl"
    write_exporter_jsonl(batch, path)
    back = list(events_to_spans(read_events(path)))
    assert by_id(back) == by_id(batch)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batch=st.lists(spans(), min_size=1, max_size=5, unique_by=lambda s: s.context.span_id),  # type: ignore[union-attr]
    logs=st.lists(log_lines(), max_size=4),
)
def test_jsonl_to_otlp_json_to_import_gives_equal_events(
    batch: list[ReadableSpan], logs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Exporter JSONL with log lines -> convert -> OTLP JSON -> import gives equal events."""
    tmp = tmp_path_factory.mktemp("imp")
    original = tmp / "a.jsonl"
    write_exporter_jsonl(batch, original)
    with original.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(line) + "\n" for line in logs)
    assert main(["convert", str(original), "-o", str(tmp / "a.otlp.json"), "-q"]) == 0
    otlp_files = [str(tmp / "a.otlp.json")]
    if logs:
        otlp_files.insert(0, str(tmp / "a.otlp.json.logs.jsonl"))
    assert main(["import", *otlp_files, "-o", str(tmp / "b.jsonl"), "-q"]) == 0

    def events(path: Path) -> list[Any]:
        return sorted(
            (json.dumps(line.event, sort_keys=True) for line in read_events(path)),
        )

    assert events(tmp / "b.jsonl") == events(original)


def test_bad_ids_are_reported() -> None:
    """An id that is neither hex nor base64 of the right length is a clear error."""
    span = {"traceId": "xyz", "spanId": "00f067aa0ba902b7"}
    line = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode() + b"\n"
    with pytest.raises(otlp.OtlpFormatError, match=r"<stream>:1: traceId 'xyz'"):
        list(otlp_logs.read_otlp_json(io.BytesIO(line)))


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ({"intValue": "9223372036854775807"}, 2**63 - 1),
        ({"intValue": -5}, -5),
        ({"doubleValue": "NaN"}, "nan"),
        ({"doubleValue": "-Infinity"}, float("-inf")),
        ({"bytesValue": "AAE="}, b"\x00\x01"),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}, {"k": True}),
        ({"arrayValue": {}}, ()),
        ({}, None),
    ],
)
def test_any_value_decoding(raw: dict[str, Any], value: Any) -> None:
    """AnyValue variants decode to Python values (int64 as string or number)."""
    line = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                                "spanId": "00f067aa0ba902b7",
                                "name": "s",
                                "attributes": [{"key": "a", "value": raw}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (span,) = otlp_read.decode_traces_data(line)
    got = (span.attributes or {})["a"]
    if value == "nan":
        assert got != got
    else:
        assert got == value


def test_non_finite_doubles_are_spelled_as_strings() -> None:
    """NaN and infinities are encoded as proto3 JSON strings, never as null."""
    span = ReadableSpan(
        "s",
        SpanContext(1, 1, False),
        attributes={"x": float("inf")},
        start_time=1,
        end_time=2,
    )
    (line,) = otlp.spans_to_otlp_json_lines([span])
    assert b'"doubleValue":"Infinity"' in line
    json_format.Parse(line, TracesData())


def test_interleaved_resources_keep_span_order_and_seq(tmp_path: Path) -> None:
    """Spans of one trace from two resources, interleaved, come back from convert and import
    in the same order, so every step keeps its seq (OTLP groups by resource; the encoder opens
    a new group rather than reorder)."""
    service_a = Resource.create({"service.name": "a"})
    service_b = Resource.create({"service.name": "b"})
    scope = InstrumentationScope("lib.a")
    batch = [
        ReadableSpan(
            name=f"step {i}",
            context=SpanContext(1, i + 1, False, TraceFlags(1)),
            resource=service_a if i % 2 == 0 else service_b,
            instrumentation_scope=scope,
            start_time=1_600_000_000_000_000_000 + i,
            end_time=1_600_000_000_000_000_000 + i + 1,
        )
        for i in range(4)
    ]
    original = tmp_path / "a.jsonl"
    write_exporter_jsonl(batch, original)
    assert main(["convert", str(original), "-o", str(tmp_path / "a.otlp.json"), "-q"]) == 0
    line = json.loads((tmp_path / "a.otlp.json").read_text().splitlines()[0])
    assert len(line["resourceSpans"]) == 4
    assert main(["import", str(tmp_path / "a.otlp.json"), "-o", str(tmp_path / "b.jsonl")]) == 0

    def steps(path: Path) -> list[tuple[str, int]]:
        return [(e["span_id"], e["seq"]) for _, e in read_events(path) if e["kind"] == "span"]

    assert steps(tmp_path / "b.jsonl") == steps(original)
    assert [s for s, _ in steps(original)] == [f"{i + 1:016x}" for i in range(4)]

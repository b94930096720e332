"""A span's fields read from the SDK span's own dict give the lines its properties give, and
the direct read is taken only while the SDK keeps its fields where it looks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, TraceFlags, TraceState

from otel_jsonl.otel import mapping, span_fields
from otel_jsonl.record import codec


def _made(
    attrs: dict[str, Any],
    *,
    events: int = 0,
    links: int = 0,
    status: StatusCode = StatusCode.UNSET,
    remote_parent: bool = False,
    limits: SpanLimits | None = None,
) -> ReadableSpan:
    """One span from a real tracer (a scope with attributes, a resource), as a span
    processor hands it to an exporter."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "s"}),
        sampler=ALWAYS_ON,  # the remote parent is not sampled: its child is, by this sampler
        span_limits=limits,
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scope", "1.0", attributes={"a": 1})
    parent = trace.SpanContext(
        0x12, 0x34, is_remote=True, trace_flags=TraceFlags(0), trace_state=TraceState([("k", "v")])
    )
    context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if remote_parent else None
    other = trace.SpanContext(0x56, 0x78, is_remote=False)
    with tracer.start_as_current_span(
        "work",
        context=context,
        kind=SpanKind.CLIENT,
        attributes=attrs,
        links=[Link(other, {"n": i}) for i in range(links)],
    ) as span:
        for i in range(events):
            span.add_event(f"e{i}", {"i": i, "x": math.nan}, timestamp=100 + i)
        if status is not StatusCode.UNSET:
            span.set_status(Status(status, "why" if status is StatusCode.ERROR else None))
    (made,) = memory.get_finished_spans()
    provider.shutdown()
    return made


def _encoded(span: ReadableSpan) -> list[bytes]:
    return [codec.dumps_line(e) for e in mapping.span_to_events(span, resource_ref="r-1")]


@pytest.fixture
def properties_only() -> Iterator[None]:
    """Every span read through its properties (the careful path)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(span_fields, "_direct", False)
        yield


def test_sdk_span_is_read_from_its_own_dict() -> None:
    """The SDK's ReadableSpan is read from its instance dict; a subclass through its
    properties."""
    span = _made({"k": "v"})
    assert type(span) is ReadableSpan
    assert span_fields.fields_of(span) is vars(span)

    class Wrapped(ReadableSpan):
        @property
        def name(self) -> str:
            return "renamed"

    wrapped = Wrapped("orig", context=span.context, attributes={"k": "v"})
    fields = span_fields.fields_of(wrapped)
    assert fields is not vars(wrapped) and fields["_name"] == "renamed"
    assert mapping.span_to_events(wrapped)[0]["otel"]["name"] == "renamed"


def test_probe_declines_an_sdk_that_keeps_a_field_elsewhere() -> None:
    """When a ReadableSpan property no longer returns the field the direct read takes (a
    later SDK), the probe says so and spans are read through their properties."""
    span = _made({"k": "v"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(span_fields, "_direct", None)
        mp.setattr(ReadableSpan, "dropped_links", property(lambda self: 0))
        assert span_fields.fields_of(span) is not vars(span)
        assert span_fields._direct is False
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ReadableSpan, "name", property(lambda self: "kept elsewhere"))
        assert not span_fields._direct_read_holds()
    assert span_fields._direct_read_holds()
    assert span_fields.fields_of(span) is vars(span)


def test_dropped_counts_match_the_properties() -> None:
    """Attributes, events and links dropped over the span limits are counted as the SDK's
    properties count them."""
    limits = SpanLimits(max_span_attributes=2, max_events=1, max_links=1)
    span = _made({"a": 1, "b": 2, "c": 3}, events=3, links=2, limits=limits)
    counts = (span.dropped_attributes, span.dropped_events, span.dropped_links)
    assert counts == (1, 2, 1)
    assert span_fields.dropped_counts(span_fields.fields_of(span)) == counts
    assert mapping.span_to_events(span)[0]["otel"]["dropped"] == {
        "attrs": 1,
        "events": 2,
        "links": 1,
    }


_values = st.one_of(
    st.text(max_size=5),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2).map(tuple),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attrs=st.dictionaries(
        st.sampled_from(
            [
                "gen_ai.operation.name",
                "gen_ai.request.model",
                "gen_ai.tool.name",
                "gen_ai.usage.input_tokens",
                "error.type",
                "k",
            ]
        ),
        _values,
        max_size=5,
    ),
    op=st.sampled_from([None, "chat", "execute_tool", "invoke_agent", "retrieval"]),
    events=st.integers(0, 2),
    links=st.integers(0, 2),
    status=st.sampled_from([StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR]),
    remote_parent=st.booleans(),
    limited=st.booleans(),
)
def test_direct_read_gives_the_lines_of_the_properties(
    attrs: dict[str, Any],
    op: str | None,
    events: int,
    links: int,
    status: StatusCode,
    remote_parent: bool,
    limited: bool,
) -> None:
    """On generated SDK spans (every operation, events, links, status, remote parents, trace
    state, dropped counts) the direct read and the properties give the same bytes."""
    if op is not None:
        attrs = {**attrs, "gen_ai.operation.name": op}
    limits = SpanLimits(max_span_attributes=3, max_events=1, max_links=1) if limited else None
    span = _made(
        attrs,
        events=events,
        links=links,
        status=status,
        remote_parent=remote_parent,
        limits=limits,
    )
    direct = _encoded(span)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(span_fields, "_direct", False)
        assert span_fields.fields_of(span) is not vars(span)
        assert _encoded(span) == direct


def test_hand_built_span_reads_the_same_both_ways(properties_only: None) -> None:
    """A ReadableSpan built by hand (plain dict attributes, lists of events, no scope) maps
    the same through its properties as through its dict."""
    span = ReadableSpan(
        "hand",
        context=trace.SpanContext(1, 2, False),
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"},
        events=[],
        links=[Link(trace.SpanContext(1, 3, False))],
        start_time=1,
        end_time=2,
    )
    careful = _encoded(span)
    span_fields._direct = None  # restored by the fixture
    assert span_fields.fields_of(span) is vars(span)
    assert _encoded(span) == careful


_ids = st.one_of(
    st.integers(0, 2**64 - 1),
    st.integers(2**64, 2**128 - 1),
    st.integers(2**128, 2**140),
    st.integers(-(2**70), -1),
    st.sampled_from([0, 1, 2**64 - 1, 2**64, 2**128 - 1, 2**128]),
)


@settings(max_examples=200, deadline=None)
@given(trace_id=_ids, span_id=_ids, parent_id=_ids)
def test_ids_are_written_as_the_format_spec_writes_them(
    trace_id: int, span_id: int, parent_id: int
) -> None:
    """Trace, span and parent ids on the lines are what f"{id:032x}" and f"{id:016x}" write,
    also for ids out of their range (negative, too large)."""
    span = ReadableSpan(
        "s",
        context=trace.SpanContext(trace_id, span_id, False),
        parent=trace.SpanContext(trace_id, parent_id, False),
    )
    main = mapping.span_to_events(span)[0]
    assert (main["trace_id"], main["span_id"], main["parent_id"]) == (
        f"{trace_id:032x}",
        f"{span_id:016x}",
        f"{parent_id:016x}",
    )
    assert main["run"] == main["trace_id"]

"""OTLP JSON: spans to and from OTLP JSON lines files.

The encoder is the spec's "JSON Protobuf Encoding" of ``TracesData`` (opentelemetry-proto 1.x):
``traceId``/``spanId``/``parentSpanId`` as lowercase hex (not base64), enums as integers, 64-bit
integers (times, ``intValue``) as decimal strings, lowerCamelCase keys, zero values omitted,
``bytesValue`` in base64. It builds plain dicts and serialises them with orjson, much faster than
``google.protobuf.json_format`` (the baseline in ``bench/convert.py``). One ``TracesData`` per
line, as the collector's ``file`` exporter and ``otlp_json_file`` receiver expect.

Reading such lines back is :mod:`otel_jsonl.otel.otlp_read`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.trace.status import Status, StatusCode

from ..exceptions import OtelJsonlError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_LINE_BYTES",
    "EncodedSpan",
    "OtlpFormatError",
    "encode_span",
    "encode_span_fields",
    "encode_traces_data",
    "sdk_spans",
    "spans_to_otlp_json_lines",
    "write_otlp_json",
]

#: Spans per ``TracesData`` line and per export request, unless told otherwise.
DEFAULT_BATCH_SIZE = 512
#: Estimated bytes per export request before a batch is cut (the SDK drops requests over 64 MiB).
DEFAULT_BATCH_BYTES = 4 << 20

# OTLP SpanFlags (trace.proto): low 8 bits are the W3C trace flags.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


class OtlpFormatError(OtelJsonlError, ValueError):
    """Raised when an OTLP JSON line cannot be decoded into spans (with the reason)."""


# -- encoding ------------------------------------------------------------------------------


def _any_value(value: Any) -> dict[str, Any]:
    t = type(value)
    if t is list or t is tuple:  # (exact types first: the Mapping check below is slow)
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    # bool before int: bool is an int subclass.
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if -(1 << 63) <= value < 1 << 63:
            return {"intValue": str(value)}
        # intValue is int64: a larger integer keeps its exact digits as a string.
        return {"stringValue": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"doubleValue": value}
        # proto3 JSON spells non-finite doubles as strings.
        return {
            "doubleValue": "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
        }
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _key_values(value)}}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def _key_values(attrs: Mapping[str, Any] | None) -> list[Any]:
    if not attrs:
        return []
    # Exact-type dispatch for strings and 64-bit ints (bool is not int here); the rest via
    # _any_value. This is most of the encoder's time.
    return [
        {"key": k, "value": {"stringValue": v}}
        if type(v) is str
        else {"key": k, "value": {"intValue": str(v)}}
        if type(v) is int and -(1 << 63) <= v < 1 << 63
        else {"key": k, "value": _any_value(v)}
        for k, v in attrs.items()
    ]


def _flags(context: SpanContext | None, trace_flags: int) -> int:
    flags = (trace_flags & 0xFF) | _HAS_IS_REMOTE
    if context is not None and context.is_remote:
        flags |= _IS_REMOTE
    return flags


_KIND_NUMBERS = {kind: kind.value + 1 for kind in SpanKind}
#: The same by the member's id: hashing an enum member runs Python code, id() does not.
_KIND_BY_ID = {id(kind): number for kind, number in _KIND_NUMBERS.items()}


def _dropped(seq: Any) -> int:
    return int(getattr(seq, "dropped", 0) or 0)


def encode_span(span: ReadableSpan) -> dict[str, Any]:
    """One span as an OTLP JSON ``Span`` object."""
    # The private fields, not the properties: the properties copy events and links and wrap
    # attributes on every access, which is most of the cost of encoding a span.
    ctx = span._context
    assert ctx is not None
    parent = span._parent
    out: dict[str, Any] = {
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
    }
    if ctx.trace_state:
        out["traceState"] = ctx.trace_state.to_header()
    if parent is not None:
        out["parentSpanId"] = f"{parent.span_id:016x}"
    flags = (ctx.trace_flags & 0xFF) | _HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= _IS_REMOTE
    out["flags"] = flags
    out["name"] = span._name
    kind = span._kind
    out["kind"] = _KIND_BY_ID.get(id(kind)) or _KIND_NUMBERS[kind]
    out["startTimeUnixNano"] = str(span._start_time or 0)
    out["endTimeUnixNano"] = str(span._end_time or 0)
    attrs = span._attributes
    if attrs:
        out["attributes"] = _key_values(attrs)
        if dropped := _dropped(attrs):
            out["droppedAttributesCount"] = dropped
    events = span._events
    if events:
        out["events"] = [_encode_event(e) for e in events]
        if dropped := _dropped(events):
            out["droppedEventsCount"] = dropped
    links = span._links
    if links:
        out["links"] = [_encode_link(link) for link in links]
        if dropped := _dropped(links):
            out["droppedLinksCount"] = dropped
    status = span._status
    if status.status_code is not StatusCode.UNSET:
        st: dict[str, Any] = {"code": status.status_code.value}
        if status.description:
            st["message"] = status.description
        out["status"] = st
    return out


class EncodedSpan:
    """A span already in OTLP JSON form (the orjson bytes of :func:`encode_span_fields`, which
    the writers splice into the line), with the resource and scope it is grouped under: what
    the converter makes when its spans only go to a file, so no SDK span objects are built on
    the way. The writers take it beside ``ReadableSpan``."""

    __slots__ = ("_instrumentation_scope", "_resource", "otlp")

    def __init__(self, resource: Resource, scope: InstrumentationScope, otlp: bytes) -> None:
        self._resource = resource
        self._instrumentation_scope = scope
        self.otlp = otlp


#: What the writers take: SDK spans, and spans the converter encoded itself.
AnySpan = ReadableSpan | EncodedSpan


def sdk_spans(spans: Sequence[AnySpan]) -> list[ReadableSpan]:
    """``spans`` as SDK spans (a converter without ``encoded`` makes no other kind)."""
    sdk = [span for span in spans if isinstance(span, ReadableSpan)]
    if len(sdk) != len(spans):
        raise TypeError("an encoded span where SDK spans are needed (SpanConverter(encoded=True))")
    return sdk


_SAMPLED_FLAGS = 0x01 | _HAS_IS_REMOTE


def encode_span_fields(
    trace_hex: str,
    span_id: int,
    parent_id: int | None,
    head: tuple[str, SpanKind, int, int],
    attrs: Mapping[str, Any],
    events: list[Event],
    status: Status | None,
) -> dict[str, Any]:
    """A sampled, local span as an OTLP JSON ``Span`` object, from its fields (``head`` is its
    name, kind, start and end): exactly what :func:`encode_span` makes of the ``ReadableSpan``
    with these fields, without building one."""
    name, kind, start, end = head
    number = _KIND_BY_ID.get(id(kind)) or _KIND_NUMBERS[kind]
    # Dict literals in the order encode_span writes the keys (the bytes depend on it).
    if parent_id is None:
        out: dict[str, Any] = {
            "traceId": trace_hex,
            "spanId": f"{span_id:016x}",
            "flags": _SAMPLED_FLAGS,
            "name": name,
            "kind": number,
            "startTimeUnixNano": str(start or 0),
            "endTimeUnixNano": str(end or 0),
        }
    else:
        out = {
            "traceId": trace_hex,
            "spanId": f"{span_id:016x}",
            "parentSpanId": f"{parent_id:016x}",
            "flags": _SAMPLED_FLAGS,
            "name": name,
            "kind": number,
            "startTimeUnixNano": str(start or 0),
            "endTimeUnixNano": str(end or 0),
        }
    if attrs:
        out["attributes"] = _key_values(attrs)
    if events:
        out["events"] = [_encode_event(e) for e in events]
    if status is not None and status.status_code is not StatusCode.UNSET:
        st: dict[str, Any] = {"code": status.status_code.value}
        if status.description:
            st["message"] = status.description
        out["status"] = st
    return out


def _encode_event(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.timestamp), "name": event.name}
    if event.attributes:
        out["attributes"] = _key_values(event.attributes)
    if event.dropped_attributes:
        out["droppedAttributesCount"] = event.dropped_attributes
    return out


def _encode_link(link: Link) -> dict[str, Any]:
    ctx = link.context
    out: dict[str, Any] = {"traceId": f"{ctx.trace_id:032x}", "spanId": f"{ctx.span_id:016x}"}
    if ctx.trace_state:
        out["traceState"] = ctx.trace_state.to_header()
    if link.attributes:
        out["attributes"] = _key_values(link.attributes)
    if link.dropped_attributes:
        out["droppedAttributesCount"] = link.dropped_attributes
    out["flags"] = _flags(ctx, ctx.trace_flags)
    return out


def _encode_resource(resource: Resource) -> dict[str, Any]:
    return {"attributes": _key_values(resource.attributes)}


def _encode_scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    if scope is None:
        return {}
    out: dict[str, Any] = {"name": scope.name}
    if scope.version:
        out["version"] = scope.version
    if scope.attributes:
        out["attributes"] = _key_values(scope.attributes)
    return out


def _scope_key(scope: InstrumentationScope) -> Any:
    attrs = scope.attributes
    if not attrs:
        return (scope.name, scope.version, scope.schema_url)
    try:
        frozen = tuple(attrs.items())
        hash(frozen)
    except TypeError:
        frozen = (id(attrs),)  # type: ignore[assignment]
    return (scope.name, scope.version, scope.schema_url, frozen)


def encode_traces_data(spans: Iterable[AnySpan]) -> dict[str, Any]:
    """A ``TracesData`` object: spans grouped by resource, then by instrumentation scope.

    Grouping keeps the spans' order: a span whose resource (or scope) differs from the one
    before it opens a new ``ResourceSpans`` (or ``ScopeSpans``), which OTLP allows. Importing
    the file then meets the spans in the order they were converted, so the steps get the same
    ``seq`` back. With one resource and one scope (the usual case) there is one group of each.
    """
    resource_spans: list[dict[str, Any]] = []
    scope_keys: dict[int, Any] = {}
    last_resource: Resource | None = None
    last_scope: Any = _NO_SCOPE
    scope_list: list[dict[str, Any]] = []
    encoded: list[Any] = []  # span dicts, and encoded spans as Fragments
    group_scope: Any = _NO_SCOPE  # the scope object of the open group
    for span in spans:
        resource = span._resource
        scope = span._instrumentation_scope
        if type(span) is EncodedSpan and resource is last_resource and scope is group_scope:
            # The converter's usual run: same resource and scope objects as the span before.
            encoded.append(orjson.Fragment(span.otlp))
            continue
        group_scope = scope
        if scope is None:
            key = None
        else:
            key = scope_keys.get(id(scope))
            if key is None:
                key = scope_keys[id(scope)] = _scope_key(scope)
        if resource is not last_resource:
            rs: dict[str, Any] = {"resource": _encode_resource(resource), "scopeSpans": []}
            if resource.schema_url:
                rs["schemaUrl"] = resource.schema_url
            resource_spans.append(rs)
            scope_list = rs["scopeSpans"]
            last_resource, last_scope = resource, _NO_SCOPE
        if key != last_scope:
            encoded = []
            ss: dict[str, Any] = {"scope": _encode_scope(scope), "spans": encoded}
            if scope is not None and scope.schema_url:
                ss["schemaUrl"] = scope.schema_url
            scope_list.append(ss)
            last_scope = key
        if isinstance(span, EncodedSpan):
            encoded.append(orjson.Fragment(span.otlp))
        else:
            encoded.append(encode_span(span))
    return {"resourceSpans": resource_spans}


_NO_SCOPE = object()


def _batches(spans: Iterable[AnySpan], size: int) -> Iterator[list[AnySpan]]:
    batch: list[AnySpan] = []
    for span in spans:
        batch.append(span)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


#: Longest OTLP JSON line written, newline included: the collector's ``otlp_json_file``
#: receiver drops a line longer than its ``max_log_size`` (default 1 MiB) whole.
MAX_LINE_BYTES = 1 << 20


def _encode_lines(
    batch: list[AnySpan], max_line_bytes: int, oversize: list[AnySpan]
) -> Iterator[bytes]:
    line: bytes = orjson.dumps(encode_traces_data(batch), option=orjson.OPT_APPEND_NEWLINE)
    if len(line) <= max_line_bytes:
        yield line
    elif len(batch) == 1:
        # One span larger than a line may be: written whole (cutting it would change the
        # data) and noted, so the caller can say so.
        oversize.append(batch[0])
        yield line
    else:
        half = len(batch) // 2
        yield from _encode_lines(batch[:half], max_line_bytes, oversize)
        yield from _encode_lines(batch[half:], max_line_bytes, oversize)


def spans_to_otlp_json_lines(
    spans: Iterable[AnySpan],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_line_bytes: int = MAX_LINE_BYTES,
    oversize: list[AnySpan] | None = None,
) -> Iterator[bytes]:
    """OTLP JSON lines (newline included), one ``TracesData`` per ``batch_size`` spans, a batch
    halved until its line fits in ``max_line_bytes``. A single span that does not fit is
    written whole and appended to ``oversize`` (when given)."""
    sink: list[AnySpan] = oversize if oversize is not None else []
    for batch in _batches(spans, batch_size):
        yield from _encode_lines(batch, max_line_bytes, sink)


def write_otlp_json(
    spans: Iterable[AnySpan],
    out: IO[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_line_bytes: int = MAX_LINE_BYTES,
    oversize: list[AnySpan] | None = None,
) -> int:
    """Write spans to ``out`` as OTLP JSON lines (see :func:`spans_to_otlp_json_lines`); return
    how many spans were written."""
    count = 0
    for batch in _batches(spans, batch_size):
        for line in _encode_lines(batch, max_line_bytes, oversize if oversize is not None else []):
            out.write(line)
        count += len(batch)
    return count

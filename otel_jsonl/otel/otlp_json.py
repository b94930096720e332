"""OTLP JSON: spans to and from OTLP JSON lines files.

The encoder is the spec's "JSON Protobuf Encoding" of ``TracesData`` (opentelemetry-proto 1.x):
``traceId``/``spanId``/``parentSpanId`` as lowercase hex (not base64), enums as integers, 64-bit
integers (times, ``intValue``) as decimal strings, lowerCamelCase keys, zero values omitted,
``bytesValue`` in base64. It builds plain dicts and serialises them with orjson, much faster than
``google.protobuf.json_format`` (the baseline in ``bench/convert.py``). One ``TracesData`` per
line, as the collector's ``file`` exporter and ``otlp_json_file`` receiver expect.

The decoder reads such lines (the collector's ``file`` exporter, the official
``opentelemetry-exporter-otlp-json-file``, OTLP JSON downloaded from a backend) back into
``ReadableSpan`` objects; it also accepts numbers for 64-bit integers, enum names, and base64
ids (generic protobuf JSON).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from ..exceptions import OtelJsonlError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ImportReport",
    "OtlpFormatError",
    "decode_traces_data",
    "encode_span",
    "encode_traces_data",
    "read_otlp_json",
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
    # bool before int: bool is an int subclass.
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
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


def _key_values(attrs: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not attrs:
        return []
    out: list[dict[str, Any]] = []
    append = out.append
    for k, v in attrs.items():
        # Exact-type dispatch for the common cases (bool is not int here); the rest via
        # _any_value. This loop is most of the encoder's time.
        t = type(v)
        if t is str:
            append({"key": k, "value": {"stringValue": v}})
        elif t is int:
            append({"key": k, "value": {"intValue": str(v)}})
        else:
            append({"key": k, "value": _any_value(v)})
    return out


def _flags(context: SpanContext | None, trace_flags: int) -> int:
    flags = (trace_flags & 0xFF) | _HAS_IS_REMOTE
    if context is not None and context.is_remote:
        flags |= _IS_REMOTE
    return flags


_KIND_NUMBERS = {kind: kind.value + 1 for kind in SpanKind}


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
    out["kind"] = _KIND_NUMBERS[span._kind]
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


def encode_traces_data(spans: Iterable[ReadableSpan]) -> dict[str, Any]:
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
    encoded: list[dict[str, Any]] = []
    for span in spans:
        resource = span._resource
        scope = span._instrumentation_scope
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
        encoded.append(encode_span(span))
    return {"resourceSpans": resource_spans}


_NO_SCOPE = object()


def _batches(spans: Iterable[ReadableSpan], size: int) -> Iterator[list[ReadableSpan]]:
    batch: list[ReadableSpan] = []
    for span in spans:
        batch.append(span)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def spans_to_otlp_json_lines(
    spans: Iterable[ReadableSpan], *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[bytes]:
    """OTLP JSON lines (newline included), one ``TracesData`` per ``batch_size`` spans."""
    for batch in _batches(spans, batch_size):
        yield orjson.dumps(encode_traces_data(batch), option=orjson.OPT_APPEND_NEWLINE)


def write_otlp_json(
    spans: Iterable[ReadableSpan], out: IO[bytes], *, batch_size: int = DEFAULT_BATCH_SIZE
) -> int:
    """Write spans to ``out`` as OTLP JSON lines; return how many spans were written."""
    count = 0
    for batch in _batches(spans, batch_size):
        out.write(orjson.dumps(encode_traces_data(batch), option=orjson.OPT_APPEND_NEWLINE))
        count += len(batch)
    return count


# -- decoding ------------------------------------------------------------------------------


def _id(value: Any, nbytes: int, what: str) -> int | None:
    """An id from hex (the OTLP JSON spelling) or base64 (generic protobuf JSON)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OtlpFormatError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) == 2 * nbytes:
        try:
            return int(value, 16)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != nbytes:
        raise OtlpFormatError(f"{what} {value!r} is neither {2 * nbytes} hex digits nor base64")
    return int.from_bytes(raw, "big")


def _int(value: Any, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise OtlpFormatError(f"{what} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise OtlpFormatError(f"{what} must be an integer, got {value!r}")


_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _value(av: Any) -> Any:
    if not isinstance(av, Mapping) or not av:
        return None
    if "stringValue" in av:
        return av["stringValue"]
    if "intValue" in av:
        return _int(av["intValue"], "intValue")
    if "boolValue" in av:
        return bool(av["boolValue"])
    if "doubleValue" in av:
        d = av["doubleValue"]
        if isinstance(d, str):
            return _NONFINITE[d] if d in _NONFINITE else float(d)
        return float(d)
    if "arrayValue" in av:
        return tuple(_value(v) for v in (av["arrayValue"] or {}).get("values") or ())
    if "kvlistValue" in av:
        return _attrs((av["kvlistValue"] or {}).get("values"))
    if "bytesValue" in av:
        return base64.b64decode(av["bytesValue"])
    return None


def _attrs(kvs: Any) -> dict[str, Any]:
    if not kvs:
        return {}
    return {kv["key"]: _value(kv.get("value")) for kv in kvs}


_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _enum(value: Any, names: Mapping[str, int], what: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _int(value, what)


def _trace_state(value: Any) -> TraceState | None:
    if not value:
        return None
    return TraceState.from_header([str(value)])


def _decode_span(
    raw: Mapping[str, Any], resource: Resource, scope: InstrumentationScope | None
) -> ReadableSpan:
    trace_id = _id(raw.get("traceId"), 16, "traceId")
    span_id = _id(raw.get("spanId"), 8, "spanId")
    if trace_id is None or span_id is None:
        raise OtlpFormatError("a span has no traceId or spanId")
    flags = _int(raw.get("flags"), "flags")
    state = _trace_state(raw.get("traceState"))
    context = SpanContext(trace_id, span_id, False, TraceFlags(flags & 0xFF), state)
    parent_id = _id(raw.get("parentSpanId"), 8, "parentSpanId")
    parent = None
    if parent_id is not None:
        parent = SpanContext(
            trace_id, parent_id, bool(flags & _IS_REMOTE), TraceFlags(flags & 0xFF)
        )
    kind = _enum(raw.get("kind", 0), _KIND_NAMES, "kind")
    if not 0 <= kind <= 5:
        raise OtlpFormatError(f"unknown span kind {kind}")
    status_raw = raw.get("status") or {}
    code = _enum(status_raw.get("code", 0), _STATUS_NAMES, "status.code")
    if code == 2:
        status = Status(StatusCode.ERROR, status_raw.get("message") or None)
    elif code == 1:
        status = Status(StatusCode.OK)
    else:
        status = Status(StatusCode.UNSET)
    events = tuple(
        Event(
            e.get("name", ""),
            _attrs(e.get("attributes")),
            _int(e.get("timeUnixNano"), "timeUnixNano"),
        )
        for e in raw.get("events") or ()
    )
    links = tuple(_decode_link(link) for link in raw.get("links") or ())
    return ReadableSpan(
        name=raw.get("name", ""),
        context=context,
        parent=parent,
        resource=resource,
        attributes=_attrs(raw.get("attributes")),
        events=events,
        links=links,
        kind=SpanKind(max(kind - 1, 0)),
        status=status,
        start_time=_int(raw.get("startTimeUnixNano"), "startTimeUnixNano"),
        end_time=_int(raw.get("endTimeUnixNano"), "endTimeUnixNano"),
        instrumentation_scope=scope,
    )


def _decode_link(raw: Mapping[str, Any]) -> Link:
    trace_id = _id(raw.get("traceId"), 16, "link traceId")
    span_id = _id(raw.get("spanId"), 8, "link spanId")
    if trace_id is None or span_id is None:
        raise OtlpFormatError("a link has no traceId or spanId")
    flags = _int(raw.get("flags"), "link flags")
    context = SpanContext(
        trace_id,
        span_id,
        bool(flags & _IS_REMOTE),
        TraceFlags(flags & 0xFF),
        _trace_state(raw.get("traceState")),
    )
    return Link(context, _attrs(raw.get("attributes")) or None)


def decode_traces_data(data: Any) -> list[ReadableSpan]:
    """The spans of one ``TracesData`` (or ``ExportTraceServiceRequest``) JSON object."""
    if not isinstance(data, Mapping):
        raise OtlpFormatError("expected a JSON object with resourceSpans")
    resource_spans = data.get("resourceSpans", data.get("resource_spans"))
    if resource_spans is None:
        raise OtlpFormatError("not OTLP traces: no resourceSpans")
    spans: list[ReadableSpan] = []
    try:
        for rs in resource_spans:
            res = rs.get("resource") or {}
            resource = Resource(_attrs(res.get("attributes")), rs.get("schemaUrl") or None)
            for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or ():
                sc = ss.get("scope") or ss.get("instrumentationLibrary")
                scope = None
                if sc is not None:
                    scope = InstrumentationScope(
                        sc.get("name", ""),
                        sc.get("version") or None,
                        ss.get("schemaUrl") or None,
                        _attrs(sc.get("attributes")) or None,
                    )
                for raw in ss.get("spans") or ():
                    spans.append(_decode_span(raw, resource, scope))
    except OtlpFormatError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise OtlpFormatError(f"malformed OTLP JSON ({type(exc).__name__}: {exc})") from None
    return spans


@dataclass
class ImportReport:
    """What :func:`read_otlp_json` saw."""

    path: str = ""
    lines: int = 0
    spans: int = 0
    problems: list[str] = field(default_factory=list)
    logs: int = 0
    """Log records read (``LogsData`` lines; see ``otlp_logs.read_otlp_signals``)."""


def read_otlp_json(
    stream: IO[bytes],
    *,
    name: str = "<stream>",
    strict: bool = True,
    report: ImportReport | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Iterator[ReadableSpan]:
    """Yield the spans of an OTLP JSON lines stream, line by line.

    A bad line raises :class:`OtlpFormatError` (``name:line: reason``) when ``strict``;
    otherwise it is skipped, recorded in ``report`` and passed to ``on_problem``.
    """
    report = report if report is not None else ImportReport()
    report.path = name
    for lineno, raw in enumerate(stream, 1):
        report.lines += 1
        if not raw.strip():
            continue
        try:
            data = orjson.loads(raw)
            spans = decode_traces_data(data)
        except (orjson.JSONDecodeError, OtlpFormatError) as exc:
            reason = str(exc) if isinstance(exc, OtlpFormatError) else "not valid JSON"
            message = f"{name}:{lineno}: {reason}"
            if strict:
                raise OtlpFormatError(message) from None
            report.problems.append(message)
            if on_problem is not None:
                on_problem(message)
            continue
        report.spans += len(spans)
        yield from spans

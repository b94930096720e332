"""OTLP JSON lines back to spans: the collector's ``file`` exporter output, the official
``opentelemetry-exporter-otlp-json-file``, OTLP JSON downloaded from a backend. Besides the
spec's encoding (hex ids, integers as strings, enums as numbers) it accepts numbers for 64-bit
integers, enum names, and base64 ids (generic protobuf JSON). What it reads is validated: times
within fixed64 and an end not before the start, non-zero ids, known kinds and status codes,
``intValue`` within int64, values of their declared type; a gzip stream that is cut short is an
error at its line, never a traceback."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from .otlp_json import _IS_REMOTE, OtlpFormatError

__all__ = ["ImportReport", "decode_traces_data"]


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
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1


def _time(value: Any, what: str) -> int:
    """A fixed64 time in nanoseconds: an integer in 0 .. 2**64-1."""
    ns = _int(value, what)
    if not 0 <= ns <= _UINT64_MAX:
        raise OtlpFormatError(f"{what} {value!r} is outside the fixed64 range of OTLP times")
    return ns


def _int64(value: Any, what: str) -> int:
    n = _int(value, what)
    if not _INT64_MIN <= n <= _INT64_MAX:
        raise OtlpFormatError(f"{what} {value!r} is outside the int64 range")
    return n


def _value(av: Any) -> Any:
    if not isinstance(av, Mapping) or not av:
        return None
    if "stringValue" in av:
        text = av["stringValue"]
        if not isinstance(text, str):
            raise OtlpFormatError(f"stringValue must be a string, got {text!r}")
        return text
    if "intValue" in av:
        return _int64(av["intValue"], "intValue")
    if "boolValue" in av:
        flag = av["boolValue"]
        if not isinstance(flag, bool):
            raise OtlpFormatError(f"boolValue must be true or false, got {flag!r}")
        return flag
    if "doubleValue" in av:
        d = av["doubleValue"]
        if isinstance(d, str):
            if d in _NONFINITE:
                return _NONFINITE[d]
            try:
                return float(d)
            except ValueError:
                raise OtlpFormatError(f"doubleValue {d!r} is not a number") from None
        if isinstance(d, bool) or not isinstance(d, (int, float)):
            raise OtlpFormatError(f"doubleValue must be a number, got {d!r}")
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
    out: dict[str, Any] = {}
    for kv in kvs:
        key = kv["key"]
        if not isinstance(key, str):
            raise OtlpFormatError(f"an attribute key must be a string, got {key!r}")
        out[key] = _value(kv.get("value"))
    return out


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
    if not trace_id or not span_id:
        raise OtlpFormatError("a span's traceId or spanId is all zeros (invalid)")
    flags = _int(raw.get("flags"), "flags")
    if not 0 <= flags <= 0xFFFFFFFF:
        raise OtlpFormatError(f"flags {flags} is outside the fixed32 range")
    state = _trace_state(raw.get("traceState"))
    context = SpanContext(trace_id, span_id, False, TraceFlags(flags & 0xFF), state)
    parent_id = _id(raw.get("parentSpanId"), 8, "parentSpanId")
    parent = None
    if parent_id:  # an all-zero parent id means no parent
        parent = SpanContext(
            trace_id, parent_id, bool(flags & _IS_REMOTE), TraceFlags(flags & 0xFF)
        )
    kind = _enum(raw.get("kind", 0), _KIND_NAMES, "kind")
    if not 0 <= kind <= 5:
        raise OtlpFormatError(f"unknown span kind {kind}")
    status_raw = raw.get("status") or {}
    if not isinstance(status_raw, Mapping):
        raise OtlpFormatError(f"status must be an object, got {status_raw!r}")
    code = _enum(status_raw.get("code", 0), _STATUS_NAMES, "status.code")
    if code not in (0, 1, 2):
        raise OtlpFormatError(f"unknown status code {code} (0 unset, 1 ok, 2 error)")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise OtlpFormatError(f"a span name must be a string, got {name!r}")
    start = _time(raw.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _time(raw.get("endTimeUnixNano"), "endTimeUnixNano")
    if end and end < start:
        raise OtlpFormatError(f"endTimeUnixNano {end} is before startTimeUnixNano {start}")
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
            _time(e.get("timeUnixNano"), "timeUnixNano"),
        )
        for e in raw.get("events") or ()
    )
    links = tuple(_decode_link(link) for link in raw.get("links") or ())
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=_attrs(raw.get("attributes")),
        events=events,
        links=links,
        kind=SpanKind(max(kind - 1, 0)),
        status=status,
        start_time=start,
        end_time=end,
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
    """What a read of OTLP JSON lines saw (:func:`~otel_jsonl.otel.otlp_logs.read_otlp_signals`)."""

    path: str = ""
    lines: int = 0
    spans: int = 0
    problems: list[str] = field(default_factory=list)
    logs: int = 0
    """Log records read (``LogsData`` lines; see ``otlp_logs.read_otlp_signals``)."""

"""OTLP requests (protobuf, or OTLP JSON with hex ids) into the SDK's own ``ReadableSpan`` and
``ReadableLogRecord`` objects, the input of the JSONL exporters: the receiver's one decoding
path. Spans keep what the exporter maps (ids, parent and its remoteness, kind, status, times,
attributes with their types, events, links, dropped counts, scope, resource)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from typing import Any

import orjson
from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message  # type: ignore[import-untyped]
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

__all__ = ["BodyError", "ResourceCache", "decode_logs", "decode_spans", "parse_body"]

# Span.flags (OTLP 1.x): bits 0-7 are the W3C trace flags, bit 8 says whether bit 9 (the
# parent or link context is remote) is known.
_IS_REMOTE = 0x200


class BodyError(ValueError):
    """A request body that does not decode as the OTLP message it should be."""


# --- OTLP protobuf -> SDK objects ------------------------------------------------------------


def _value(v: AnyValue, *, seq: type = tuple) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "bool_value":
        return v.bool_value
    if which == "double_value":
        return v.double_value
    if which == "array_value":
        return seq(_value(x, seq=seq) for x in v.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value, seq=seq) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value
    return None


_SCALARS = frozenset({"string_value", "int_value", "bool_value", "double_value", "bytes_value"})


def _attrs(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    # This runs for every attribute of every span: the set field's name, then one getattr.
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.value
        which = v.WhichOneof("value")
        if which in _SCALARS:
            out[kv.key] = getattr(v, which)
        else:
            out[kv.key] = _value(v)
    return out


def _bounded_attrs(kvs: Iterable[KeyValue], dropped: int) -> Any:
    attrs = _attrs(kvs)
    if not dropped:
        return attrs
    bounded = BoundedAttributes(attributes=attrs, immutable=False)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: list[Any], dropped: int) -> Any:
    if not dropped:
        return tuple(items)
    bl: BoundedList[Any] = BoundedList.from_seq(None, items)
    bl.dropped = dropped
    return bl


def _trace_state(raw: str) -> TraceState | None:
    return TraceState.from_header([raw]) if raw else None


class ResourceCache:
    """Resources and scopes by their encoded form, so a sender's repeated resource is one
    object (the exporter recognises a resource it already wrote by identity first)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._resources: dict[tuple[bytes, str], Resource] = {}
        self._scopes: dict[tuple[bytes, str], SdkScope] = {}
        self._lock = threading.Lock()

    def resource(self, pb: PbResource, schema_url: str) -> Resource:
        key = (pb.SerializeToString(deterministic=True), schema_url)
        with self._lock:
            found = self._resources.get(key)
        if found is None:
            found = Resource(_attrs(pb.attributes), schema_url or None)
            with self._lock:
                if len(self._resources) >= self.limit:
                    self._resources.clear()
                self._resources[key] = found
        return found

    def scope(self, pb: InstrumentationScope, schema_url: str) -> SdkScope:
        key = (pb.SerializeToString(deterministic=True), schema_url)
        with self._lock:
            found = self._scopes.get(key)
        if found is None:
            found = SdkScope(pb.name, pb.version, schema_url or None, _attrs(pb.attributes) or None)
            with self._lock:
                if len(self._scopes) >= self.limit:
                    self._scopes.clear()
                self._scopes[key] = found
        return found


_SHARED_RESOURCES = ResourceCache()

# The Python SDK (1.45) does not send a span's trace flags (the low byte of Span.flags is 0):
# read them as what its default sampler and id generator give, sampled with a random trace id.
# Only sampled spans are exported, so 0 itself never describes an exported span.
_UNSENT_FLAGS = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
_STATUS = {1: Status(StatusCode.OK), 0: Status(StatusCode.UNSET)}
_KINDS = {k.value + 1: k for k in SpanKind}


def decode_spans(
    request: ExportTraceServiceRequest, resources: ResourceCache | None = None
) -> tuple[list[ReadableSpan], int]:
    """The spans of ``request`` as SDK ``ReadableSpan`` objects, and how many were rejected
    (no valid trace or span id).

    A span's trace flags are the low byte of ``flags``; 0 there (the Python SDK does not fill
    it) is read as sampled with a random trace id (see ``_UNSENT_FLAGS``). A scope keeps its
    version as sent (the SDK's tracers have ``""`` for none).
    """
    cache = resources or _SHARED_RESOURCES
    spans: list[ReadableSpan] = []
    rejected = 0
    for rs in request.resource_spans:
        resource = cache.resource(rs.resource, rs.schema_url)
        for ss in rs.scope_spans:
            scope = cache.scope(ss.scope, ss.schema_url) if ss.HasField("scope") else None
            for s in ss.spans:
                span = _decode_span(s, resource, scope)
                if span is None:
                    rejected += 1
                else:
                    spans.append(span)
    return spans, rejected


def _decode_span(s: Any, resource: Resource, scope: SdkScope | None) -> ReadableSpan | None:
    tid, sid = s.trace_id, s.span_id
    if len(tid) != 16 or len(sid) != 8:
        return None
    trace_id = int.from_bytes(tid, "big")
    span_id = int.from_bytes(sid, "big")
    if not trace_id or not span_id:
        return None
    flags = s.flags
    trace_flags = TraceFlags(flags & 0xFF or _UNSENT_FLAGS)
    context = SpanContext(trace_id, span_id, False, trace_flags, _trace_state(s.trace_state))
    parent = None
    if len(s.parent_span_id) == 8:
        parent_id = int.from_bytes(s.parent_span_id, "big")
        if parent_id:
            parent = SpanContext(trace_id, parent_id, bool(flags & _IS_REMOTE), trace_flags)
    code = s.status.code
    if code == 2:
        status = Status(StatusCode.ERROR, s.status.message or None)
    else:
        status = _STATUS.get(code, _STATUS[0])
    events = [
        Event(e.name, _bounded_attrs(e.attributes, e.dropped_attributes_count), e.time_unix_nano)
        for e in s.events
    ]
    return ReadableSpan(
        name=s.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=_bounded_attrs(s.attributes, s.dropped_attributes_count),
        events=_bounded_list(events, s.dropped_events_count),
        links=_bounded_list(_links(s.links), s.dropped_links_count),
        kind=_KINDS.get(s.kind, SpanKind.INTERNAL),
        status=status,
        start_time=s.start_time_unix_nano,
        end_time=s.end_time_unix_nano,
        instrumentation_scope=scope,
    )


def _links(raw: Iterable[Any]) -> list[Link]:
    links = []
    for link in raw:
        if len(link.trace_id) != 16 or len(link.span_id) != 8:
            continue
        context = SpanContext(
            int.from_bytes(link.trace_id, "big"),
            int.from_bytes(link.span_id, "big"),
            bool(link.flags & _IS_REMOTE),
            TraceFlags(link.flags & 0xFF),
            _trace_state(link.trace_state),
        )
        links.append(Link(context, _bounded_attrs(link.attributes, link.dropped_attributes_count)))
    return links


def decode_logs(
    request: ExportLogsServiceRequest, resources: ResourceCache | None = None
) -> tuple[list[ReadableLogRecord], int]:
    """The log records of ``request`` as SDK ``ReadableLogRecord`` objects, and how many were
    rejected (a trace or span id of the wrong length)."""
    cache = resources or _SHARED_RESOURCES
    records: list[ReadableLogRecord] = []
    rejected = 0
    for rl in request.resource_logs:
        resource = cache.resource(rl.resource, rl.schema_url)
        for sl in rl.scope_logs:
            scope = cache.scope(sl.scope, sl.schema_url) if sl.HasField("scope") else None
            for r in sl.log_records:
                tid, sid = r.trace_id, r.span_id
                if len(tid) not in (0, 16) or len(sid) not in (0, 8):
                    rejected += 1
                    continue
                severity = None
                if r.severity_number:
                    try:
                        severity = SeverityNumber(r.severity_number)
                    except ValueError:
                        severity = None
                record = LogRecord(
                    timestamp=r.time_unix_nano or None,
                    observed_timestamp=r.observed_time_unix_nano or None,
                    severity_text=r.severity_text or None,
                    severity_number=severity,
                    body=_value(r.body, seq=list) if r.HasField("body") else None,
                    attributes=_bounded_attrs(r.attributes, r.dropped_attributes_count),
                    event_name=r.event_name or None,
                )
                # Set after construction: the constructor takes ids only from a context.
                record.trace_id = int.from_bytes(tid, "big") if tid else 0
                record.span_id = int.from_bytes(sid, "big") if sid else 0
                record.trace_flags = TraceFlags(r.flags & 0xFF)
                records.append(ReadableLogRecord(record, resource, scope))
    return records, rejected


# --- OTLP JSON -> protobuf -------------------------------------------------------------------


def _hex_to_b64(obj: Any, key: str, nbytes: int) -> None:
    value = obj.get(key)
    if isinstance(value, str) and len(value) == 2 * nbytes:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            return  # not hex: maybe base64 (generic protobuf JSON), left to the parser
        obj[key] = base64.b64encode(raw).decode("ascii")


def _dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _fix_json_ids(data: Any) -> None:
    """OTLP JSON spells ids as hex, protobuf JSON as base64: rewrite them for the parser."""
    if not isinstance(data, dict):
        return
    for rs in _dicts(data.get("resourceSpans")):
        for ss in _dicts(rs.get("scopeSpans")):
            for span in _dicts(ss.get("spans")):
                _hex_to_b64(span, "traceId", 16)
                _hex_to_b64(span, "spanId", 8)
                _hex_to_b64(span, "parentSpanId", 8)
                for link in _dicts(span.get("links")):
                    _hex_to_b64(link, "traceId", 16)
                    _hex_to_b64(link, "spanId", 8)
    for rl in _dicts(data.get("resourceLogs")):
        for sl in _dicts(rl.get("scopeLogs")):
            for record in _dicts(sl.get("logRecords")):
                _hex_to_b64(record, "traceId", 16)
                _hex_to_b64(record, "spanId", 8)


def parse_body(body: bytes, message: Message, *, json: bool) -> None:
    """Fill ``message`` from a protobuf or OTLP JSON body; :class:`BodyError` when it does not
    decode."""
    try:
        if json:
            data = orjson.loads(body)
            if not isinstance(data, dict):
                raise BodyError("the JSON body is not an object")
            _fix_json_ids(data)
            json_format.ParseDict(data, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except BodyError:
        raise
    except (DecodeError, json_format.ParseError, orjson.JSONDecodeError, ValueError) as exc:
        kind = "JSON" if json else "protobuf"
        raise BodyError(
            f"the body is not a valid {type(message).__name__} ({kind}): {exc}"
        ) from None

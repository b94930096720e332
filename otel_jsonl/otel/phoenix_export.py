"""Phoenix's own span export, read as spans: the JSON lines of flat span objects that Phoenix's
REST API (``GET /v1/projects/{project}/spans``), its client and its UI's download give.

One object per line: ``name``, ``context.trace_id`` / ``context.span_id`` (hex), ``parent_id``,
``span_kind`` (OpenInference's: LLM, TOOL, AGENT, CHAIN, ...), ``start_time`` / ``end_time``
(ISO 8601), ``status_code`` (``OK`` / ``ERROR`` / ``UNSET``), ``status_message``,
``attributes`` (OpenInference keys, flat or nested) and ``events``. The span kind goes back to
``openinference.span.kind`` so the GenAI mapping reads the span as it reads OpenInference's
own. What Phoenix does not keep (resource, OTel span kind, links, sub-microsecond times) does
not come back. A line is taken for a Phoenix span by its shape (:func:`is_phoenix_span`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from ..genai import names as n
from .otlp_json import OtlpFormatError
from .otlp_read import _id

__all__ = ["decode_phoenix_span", "is_phoenix_span"]

SCOPE = InstrumentationScope("otel_jsonl.phoenix_export")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_STATUS = {"OK": StatusCode.OK, "ERROR": StatusCode.ERROR, "UNSET": StatusCode.UNSET}


def is_phoenix_span(data: Mapping[str, Any]) -> bool:
    """True for one of Phoenix's flat span objects (``context.trace_id`` and ``span_kind``)."""
    context = data.get("context")
    return (
        isinstance(context, Mapping)
        and "trace_id" in context
        and "span_id" in context
        and "span_kind" in data
    )


def _ns(value: Any, what: str) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        raise OtlpFormatError(f"{what} must be an ISO 8601 time, got {value!r}")
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OtlpFormatError(f"{what} is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    delta = when - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Nested attribute objects to dotted keys; lists of objects by index (OpenInference's
    ``llm.input_messages.0.message.role``); lists of scalars stay one attribute."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for i, inner in enumerate(value):
            _flatten(inner, f"{prefix}.{i}", out)
    elif isinstance(value, list):
        out[prefix] = tuple(value)
    elif value is not None:
        out[prefix] = value


def decode_phoenix_span(data: Mapping[str, Any]) -> ReadableSpan:
    """One Phoenix span object as an SDK span (see the module docstring)."""
    context = data["context"]
    trace_id = _id(context.get("trace_id"), 16, "context.trace_id")
    span_id = _id(context.get("span_id"), 8, "context.span_id")
    if not trace_id or not span_id:
        raise OtlpFormatError("a Phoenix span needs context.trace_id and context.span_id")
    parent_id = _id(data.get("parent_id"), 8, "parent_id")
    attrs: dict[str, Any] = {}
    _flatten(data.get("attributes") or {}, "", attrs)
    kind = data.get("span_kind")
    if isinstance(kind, str) and kind and kind != "UNKNOWN":
        attrs.setdefault(n.OPENINFERENCE_SPAN_KIND, kind)
    status_name = str(data.get("status_code") or "UNSET").upper()
    code = _STATUS.get(status_name, StatusCode.UNSET)
    message = data.get("status_message") or None
    events = []
    for raw in data.get("events") or ():
        if not isinstance(raw, Mapping):
            continue
        event_attrs: dict[str, Any] = {}
        _flatten(raw.get("attributes") or {}, "", event_attrs)
        events.append(
            Event(
                str(raw.get("name", "")),
                event_attrs,
                timestamp=_ns(raw.get("timestamp"), "event timestamp"),
            )
        )
    ctx = SpanContext(trace_id, span_id, False, _SAMPLED)
    parent = SpanContext(trace_id, parent_id, False, _SAMPLED) if parent_id else None
    return ReadableSpan(
        name=str(data.get("name", "")),
        context=ctx,
        parent=parent,
        resource=Resource({}),
        attributes=attrs,
        events=events,
        links=(),
        kind=SpanKind.INTERNAL,
        status=Status(code, message if code is StatusCode.ERROR else None),
        start_time=_ns(data.get("start_time"), "start_time"),
        end_time=_ns(data.get("end_time"), "end_time"),
        instrumentation_scope=SCOPE,
    )

"""Spans to events and back: pure functions, no I/O.

:func:`span_to_events` turns one finished span into the events of docs/schema.md (an LLM span
into ``llm_call``, a tool span into ``tool_call`` + ``tool_result``, an agent span into
``input`` + ``final``, anything else into ``span``, plus an ``error`` line for an ERROR status
or an ``exception`` event). The line that carries ``otel`` holds everything else the span had,
so :func:`events_to_span` rebuilds the very same span: ids, parent, name, kind, nanosecond
times, status, every attribute with its type, events, links, scope and resource.

Attribute values in ``otel.attrs`` (and in events, links, scope and resources) are JSON values
with their types kept: strings, booleans, integers and finite floats as they are, arrays as
arrays (read back as tuples, as the SDK stores them). What JSON cannot hold is a one-key
object: ``{"float": "NaN" | "Infinity" | "-Infinity"}``, ``{"bytes": "<base64>"}``,
``{"map": {...}}`` (attribute values are never objects, so there is no ambiguity).

An attribute whose exact value a field holds is not repeated in ``otel.attrs``:
``otel.moved`` maps its key to where it is, either a JSON pointer into the line that carries
``otel``, or ``[pointer, codec]`` / ``[pointer, codec, kind]`` where ``codec`` is ``""`` (the
value as is) or one of the JSON styles below (a JSON-string attribute stored parsed, moved only
when re-encoding in that style reproduces the string byte for byte) and ``kind`` names the
other line of the same span that holds the field (``tool_call``, ``input``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from ..genai import names as n
from ..genai.jsontext import JSON_STYLES
from ..genai.run_steps import RunSteps
from ..genai.spans import FieldBuilder, fill_step, operation_of
from ..record import codec as _codec
from .span_fields import events_of, fields_of, hex_id, otel_block, span_attrs
from .typed_values import decode_attrs, encode_attrs

__all__ = [
    "decode_attrs",
    "encode_attrs",
    "events_to_span",
    "number_events",
    "replace_span",
    "resource_event",
    "resource_from_event",
    "resource_id",
    "span_lines",
    "span_to_events",
]

_ERROR = StatusCode.ERROR


# --- resources -------------------------------------------------------------------------------


def resource_id(resource: Resource) -> str:
    """A short stable id for a resource: ``r-`` and 12 hex of the sha256 of its content."""
    blob = json.dumps(
        [encode_attrs(resource.attributes), resource.schema_url or ""],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "r-" + hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:12]


def resource_event(
    resource: Resource, *, run: str = "resource", ts: float = 0.0, rid: str | None = None
) -> dict[str, Any]:
    """The ``resource`` line for ``resource`` (meta kind: no ``seq``)."""
    event: dict[str, Any] = {
        "ts": ts,
        "run": run,
        "kind": "resource",
        "id": rid or resource_id(resource),
        "attrs": encode_attrs(resource.attributes),
    }
    if resource.schema_url:
        event["schema_url"] = resource.schema_url
    return event


def resource_from_event(event: Mapping[str, Any]) -> Resource:
    """The resource a ``resource`` line describes."""
    return Resource(decode_attrs(event.get("attrs")), event.get("schema_url") or None)


def _errors(
    span: ReadableSpan, base: dict[str, Any], events: Sequence[Event]
) -> list[dict[str, Any]]:
    out = []
    for event in events:
        if event.name != n.EXCEPTION_EVENT:
            continue
        attrs = event.attributes or {}
        line = dict(base)
        line["ts"] = (event.timestamp or span.end_time or 0) / 1e9
        line["kind"] = "error"
        line["type"] = str(attrs.get(n.EXCEPTION_TYPE, "Exception"))
        message = attrs.get(n.EXCEPTION_MESSAGE)
        line["message"] = str(message) if message is not None else None
        if n.EXCEPTION_STACKTRACE in attrs:
            line["traceback"] = str(attrs[n.EXCEPTION_STACKTRACE])
        out.append(line)
    if not out and span.status.status_code is StatusCode.ERROR:
        line = dict(base)
        line["kind"] = "error"
        error_type = (span.attributes or {}).get(n.ERROR_TYPE)
        line["type"] = str(error_type) if error_type is not None else "Error"
        line["message"] = span.status.description
        out.append(line)
    return out


def span_to_events(
    span: ReadableSpan, *, resource_ref: str | None = None, run_steps: RunSteps | None = None
) -> list[dict[str, Any]]:
    """The events of one span (see :func:`span_lines`)."""
    return span_lines(span, resource_ref=resource_ref, run_steps=run_steps)[0]


def span_lines(
    span: ReadableSpan, *, resource_ref: str | None = None, run_steps: RunSteps | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The events of one span, in file order, their ``seq`` None until :func:`number_events`
    numbers them (the exporter does, per run). ``run_steps`` (the exporter's) decides the
    operation of agent spans from the other spans of the run (nested agents, LangChain's root).

    The line that carries ``otel`` is the span's step; ``error`` lines (derived from the
    status or ``exception`` events) come last, carry the same ``span_id`` and no ``otel``, and
    their ``step`` is filled by :func:`number_events`. Besides the events, whether the line
    that carries ``otel`` is known to hold no NaN or infinite float (the writer then encodes it
    without looking for them).
    """
    fields = fields_of(span)
    ctx = fields["_context"]
    if ctx is not None:
        # As f"{id:032x}" writes them, three times faster (span_fields.hex_id: the others).
        try:
            trace_id, span_id = (
                ctx.trace_id.to_bytes(16, "big").hex(),
                ctx.span_id.to_bytes(8, "big").hex(),
            )
        except (OverflowError, AttributeError, TypeError):
            trace_id, span_id = hex_id(ctx.trace_id, 32), hex_id(ctx.span_id, 16)
    else:
        trace_id, span_id = "0" * 32, "0" * 16
    # "seq" holds its place (after "run", as on the recorder's lines) until number_events.
    main: dict[str, Any] = {
        "ts": (fields["_end_time"] or 0) / 1e9,
        "run": trace_id,
        "seq": None,
        "kind": "span",
        "trace_id": trace_id,
        "span_id": span_id,
    }
    parent = fields["_parent"]
    parent_id = None
    if parent is not None:
        try:
            parent_id = parent.span_id.to_bytes(8, "big").hex()
        except (OverflowError, AttributeError, TypeError):
            parent_id = hex_id(parent.span_id, 16)
        main["parent_id"] = parent_id
    start = (fields["_start_time"] or 0) / 1e9
    attrs = span_attrs(fields)
    op = operation_of(attrs)
    if run_steps is not None:
        op = run_steps.operation(trace_id, span_id, parent_id, op, attrs)
    error = fields["_status"].status_code is _ERROR
    events = events_of(fields)
    # What every line of the span has (the start and error lines), when there are others.
    llm = op in n.LLM_OPERATIONS
    base = main.copy() if events or error or not llm else main
    main["start"] = start
    b = FieldBuilder(attrs, main)
    # Only tool and agent spans have a line at their start.
    first = {} if llm else dict(base, ts=start)
    pairs = [(e.name, e.attributes) for e in events] if events else ()
    lines: list[dict[str, Any]] = []
    if fill_step(b, op, attrs, pairs, first, error=error):
        lines.append(first)
    if main["kind"] == "span":
        main["name"] = fields["_name"]
    main["otel"] = otel_block(fields, b.attrs, b.moved, resource_ref, events)
    lines.append(main)
    if events or error:
        lines.extend(_errors(span, base, events))
    # The otel block's values are finite: encode_attrs writes the others as objects.
    return lines, b.native


def number_events(events: list[dict[str, Any]], next_seq: Any) -> None:
    """Give each step of one span its ``seq`` (``next_seq()`` per line) and point the
    span's ``error`` lines at the span's step."""
    step = None
    for event in events:
        event["seq"] = seq = next_seq()
        if "otel" in event:
            step = seq
        elif event["kind"] == "error" and step is not None:
            event["step"] = step


# --- events -> span --------------------------------------------------------------------------


def _resolve(line: Mapping[str, Any], pointer: str) -> Any:
    target: Any = line
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        target = target[int(key)] if isinstance(target, list) else target[key]
    return target


def _span_context(
    trace_id: str, span_id: str, flags: int, trace_state: str | None, remote: bool
) -> SpanContext:
    return SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=remote,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState.from_header([trace_state]) if trace_state else TraceState(),
    )


def _bounded(items: list[Any], dropped: int) -> Any:
    if not dropped:
        return items
    bl: BoundedList[Any] = BoundedList.from_seq(None, items)
    bl.dropped = dropped
    return bl


def _restored_attrs(
    main: Mapping[str, Any], otel: Mapping[str, Any], by_kind: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The span's attributes: those kept in ``otel.attrs`` and those moved into fields."""
    attrs = decode_attrs(otel.get("attrs"))
    for key, where in (otel.get("moved") or {}).items():
        if isinstance(where, str):
            pointer, codec, kind = where, "", None
        else:
            pointer, codec = where[0], where[1]
            kind = where[2] if len(where) > 2 else None
        source = main if kind is None else by_kind.get(kind)
        if source is None:
            raise ValueError(f"attribute {key!r} lives on a {kind!r} line that is missing")
        value = _resolve(source, pointer)
        if codec == "json/o":
            # Checked with orjson at export; orjson again here (the stdlib compact form is
            # the same text but for rare float spellings, used only without orjson).
            value = _codec.dumps(value).decode("utf-8")
        elif codec:
            value = json.dumps(value, **JSON_STYLES[codec])
        attrs[key] = value
    return attrs


def _links(otel: Mapping[str, Any]) -> list[Link]:
    links = []
    for link in otel.get("links") or ():
        lctx = _span_context(
            link["trace_id"],
            link["span_id"],
            int(link.get("flags", 0)),
            link.get("trace_state"),
            bool(link.get("remote")),
        )
        links.append(Link(lctx, decode_attrs(link.get("attrs"))))
    return links


def _scope(otel: Mapping[str, Any]) -> InstrumentationScope | None:
    scope_json = otel.get("scope")
    if not scope_json:
        return None
    return InstrumentationScope(
        scope_json["name"],
        scope_json.get("version"),
        scope_json.get("schema_url"),
        decode_attrs(scope_json.get("attrs")),
    )


def _checked_ns(pair: Any) -> tuple[int, int]:
    """``otel.ns`` as (start, end): OTLP times are fixed64 nanoseconds, and anything else
    would make the OTLP written later invalid."""
    start_ns, end_ns = pair
    for ns in (start_ns, end_ns):
        if type(ns) is not int or not 0 <= ns < 1 << 64:
            raise ValueError(f"otel.ns holds {ns!r}, not a time in nanoseconds OTLP can hold")
    return start_ns, end_ns


def events_to_span(
    lines: Iterable[Mapping[str, Any]],
    resources: Mapping[str, Resource] | None = None,
) -> ReadableSpan:
    """Rebuild the span that :func:`span_to_events` turned into ``lines`` (all the lines of
    one span, any order; ``error``, ``log`` and ``blob_ref`` lines are ignored).

    ``resources`` maps ``resource`` line ids to resources (:func:`resource_from_event`).
    Raises ValueError when no line carries ``otel``.
    """
    by_kind: dict[str, Mapping[str, Any]] = {}
    main: Mapping[str, Any] | None = None
    for line in lines:
        if "otel" in line and isinstance(line["otel"], Mapping):
            main = line
        elif isinstance(line.get("kind"), str):
            by_kind.setdefault(line["kind"], line)
    if main is None:
        raise ValueError("no line of this span carries 'otel'")
    otel: Mapping[str, Any] = main["otel"]
    attrs = _restored_attrs(main, otel, by_kind)
    trace_id = main["trace_id"]
    flags = int(otel.get("flags", 1))
    context = _span_context(trace_id, main["span_id"], flags, otel.get("trace_state"), False)
    parent = None
    if main.get("parent_id"):
        parent = _span_context(
            trace_id, main["parent_id"], flags, None, bool(otel.get("parent_remote"))
        )
    status_json = otel.get("status")
    status = (
        Status(StatusCode[status_json["code"]], status_json.get("description"))
        if status_json
        else Status(StatusCode.UNSET)
    )
    events = [
        Event(e["name"], decode_attrs(e.get("attrs")), timestamp=e.get("ns"))
        for e in otel.get("events") or ()
    ]
    links = _links(otel)
    scope = _scope(otel)
    resource = None
    rid = otel.get("resource")
    if rid is not None and resources is not None:
        resource = resources.get(rid)
    dropped = otel.get("dropped") or {}
    span_attrs: Any = attrs
    if dropped.get("attrs"):
        from opentelemetry.attributes import BoundedAttributes

        span_attrs = BoundedAttributes(attributes=attrs, immutable=False)
        span_attrs.dropped = dropped["attrs"]
    start_ns, end_ns = _checked_ns(otel["ns"])
    return ReadableSpan(
        name=otel["name"],
        context=context,
        parent=parent,
        resource=resource if resource is not None else Resource({}),
        attributes=span_attrs,
        events=_bounded(events, dropped.get("events", 0)),
        links=_bounded(links, dropped.get("links", 0)),
        kind=SpanKind[otel.get("kind", "INTERNAL")],
        status=status,
        start_time=start_ns,
        end_time=end_ns,
        instrumentation_scope=scope,
    )


def replace_span(
    span: ReadableSpan,
    *,
    attributes: Mapping[str, Any] | None = None,
    resource: Resource | None = None,
) -> ReadableSpan:
    """A copy of ``span`` with ``attributes`` added to its own and/or another ``resource``
    (finished spans are immutable: a backend's attributes or resource need a new one)."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=resource if resource is not None else span.resource,
        attributes={**(span.attributes or {}), **attributes} if attributes else span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )

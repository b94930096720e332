"""A finished span's fields as the mapping reads them, and its ``otel`` block.

Span processors hand exporters the SDK's ``ReadableSpan``, whose every property is a Python
call (a dozen per span, and ``dropped_*`` an ``isinstance`` each): :func:`fields_of` gives the
instance's own dict instead, keyed by the SDK's private names, once a probe span has shown (on
first use) that the properties return exactly those values (a later SDK that keeps them
elsewhere takes the careful path). Any other span object is read through its properties into a
dict of the same keys. ``tests/test_span_fields.py`` holds the two reads to the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import Attributes

from .typed_values import encode_attrs

__all__ = ["dropped_counts", "events_of", "fields_of", "hex_id", "otel_block", "span_attrs"]

#: The properties the mapping reads and the private attribute each one returns.
_PROPERTIES = {
    "name": "_name",
    "context": "_context",
    "kind": "_kind",
    "parent": "_parent",
    "start_time": "_start_time",
    "end_time": "_end_time",
    "status": "_status",
    "instrumentation_scope": "_instrumentation_scope",
}
#: The key of a properties read's dropped counts (the instance dict has no such key).
DROPPED = "dropped"
#: Span kind names by the member's identity (hashing an enum member runs Python code).
_KIND_NAMES = {id(k): k.name for k in SpanKind}
_UNSET = StatusCode.UNSET


def _by_properties(span: ReadableSpan) -> dict[str, Any]:
    """The fields of any span object, read through its properties."""
    fields = {private: getattr(span, prop) for prop, private in _PROPERTIES.items()}
    fields["_attributes"] = span.attributes
    for private, public in (("_events", "events"), ("_links", "links")):
        raw = getattr(span, private, None)
        # The SDK copies its bounded list under a lock for each read: an empty one (most
        # spans) is told by its length first.
        fields[private] = () if raw is not None and not len(raw) else getattr(span, public)
    fields[DROPPED] = (span.dropped_attributes, span.dropped_events, span.dropped_links)
    return fields


def _direct_counts(fields: Mapping[str, Any]) -> tuple[int, int, int]:
    """The dropped counts of a ``ReadableSpan`` from its own fields, as its properties give
    them."""
    attrs, events, links = fields["_attributes"], fields["_events"], fields["_links"]
    return (
        attrs.dropped if isinstance(attrs, BoundedAttributes) else 0,
        events.dropped if isinstance(events, BoundedList) else 0,
        links.dropped if isinstance(links, BoundedList) else 0,
    )


def _direct_read_holds() -> bool:
    """Whether a ``ReadableSpan``'s properties return its own fields (the probe has a value
    of its own in every one, and something dropped in each bounded collection)."""
    # Counts set by hand: a full BoundedAttributes logs a warning for each value it drops.
    attrs = BoundedAttributes(attributes={"b": 2}, immutable=False)
    events: BoundedList[Event] = BoundedList.from_seq(None, [Event("e1")])
    links: BoundedList[Link] = BoundedList.from_seq(None, [Link(SpanContext(1, 4, False))])
    attrs.dropped = events.dropped = links.dropped = 1
    probe = ReadableSpan(
        "probe",
        context=SpanContext(1, 2, False),
        parent=SpanContext(1, 3, True),
        resource=Resource({"r": 1}),
        attributes=attrs,
        events=events,
        links=links,
        kind=SpanKind.CLIENT,
        status=Status(StatusCode.ERROR, "probe"),
        start_time=5,
        end_time=6,
        instrumentation_scope=InstrumentationScope("probe"),
    )
    try:
        fields = vars(probe)
        same = all(getattr(probe, p) is fields[f] for p, f in _PROPERTIES.items())
        counts = (probe.dropped_attributes, probe.dropped_events, probe.dropped_links)
        return (
            same
            and dict(probe.attributes or {}) == fields["_attributes"].copy() == {"b": 2}
            and tuple(fields["_events"]) == probe.events
            and tuple(fields["_links"]) == probe.links
            and _direct_counts(fields) == counts == (1, 1, 1)
        )
    except Exception:  # any other layout: read through the properties
        return False


#: Whether :func:`fields_of` reads a ``ReadableSpan``'s own dict (None: not checked yet).
_direct: bool | None = None


def fields_of(span: ReadableSpan) -> Mapping[str, Any]:
    """The fields of ``span`` by the SDK's private names (``_name``, ``_context``,
    ``_attributes``, ...); :func:`span_attrs` and :func:`dropped_counts` read the ones that
    need care. Do not change the mapping returned: it may be the span's own."""
    global _direct
    if type(span) is ReadableSpan:
        if _direct is None:
            _direct = _direct_read_holds()
        if _direct:
            return span.__dict__
    return _by_properties(span)


def hex_id(value: int, digits: int) -> str:
    """A trace or span id as ``digits`` lowercase hex digits, as ``f"{value:0{digits}x}"``
    writes it. The mapping tries ``value.to_bytes(digits // 2, "big").hex()`` first (three times
    faster) and calls this for what that cannot write (a negative or too large number)."""
    return f"{value:0{digits}x}"


def span_attrs(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The span's attributes as a plain dict (a copy).

    The SDK's ``BoundedAttributes`` (and a dict) copy themselves in C, as the property's
    proxy does; anything else is copied key by key.
    """
    raw = fields["_attributes"]
    if raw is None:
        return {}
    copy = getattr(raw, "copy", None)
    if copy is not None:
        try:
            out = copy()
        except Exception:  # a mapping without a working copy(): copy it key by key below
            out = None
        if type(out) is dict:
            return out
    return dict(raw)


def dropped_counts(fields: Mapping[str, Any]) -> tuple[int, int, int]:
    """How many attributes, events and links the span dropped."""
    counts: tuple[int, int, int] | None = fields.get(DROPPED)
    return _direct_counts(fields) if counts is None else counts


def events_of(fields: Mapping[str, Any]) -> Sequence[Event]:
    """The span's events (an empty tuple told by its length first, as in :func:`_by_properties`)."""
    raw = fields["_events"]
    return tuple(raw) if len(raw) else ()


#: The ``otel.scope`` object of recent scopes, by identity (spans of a tracer share one).
_SCOPES: dict[int, tuple[InstrumentationScope, dict[str, Any]]] = {}


def _scope_json(scope: InstrumentationScope) -> dict[str, Any]:
    """``otel.scope``: a copy of the one made for this scope object."""
    cached = _SCOPES.get(id(scope))
    if cached is not None and cached[0] is scope:
        s = cached[1]
    else:
        s = {"name": scope.name}
        if scope.version is not None:
            s["version"] = scope.version
        if scope.schema_url is not None:
            s["schema_url"] = scope.schema_url
        if scope.attributes:
            s["attrs"] = encode_attrs(scope.attributes)
        if len(_SCOPES) >= 64:
            _SCOPES.clear()
        _SCOPES[id(scope)] = (scope, s)
    out = s.copy()
    if "attrs" in out:
        out["attrs"] = dict(out["attrs"])
    return out


def otel_block(
    fields: Mapping[str, Any],
    left: Mapping[str, Any],
    moved: dict[str, Any],
    resource_ref: str | None,
    events: Sequence[Event],
) -> dict[str, Any]:
    """The ``otel`` object of a span's step line: what its fields do not hold (``left``: the
    attributes no field holds exactly; ``moved``: where the others went)."""
    kind = fields["_kind"]
    otel: dict[str, Any] = {
        "name": fields["_name"],
        "kind": _KIND_NAMES.get(id(kind)) or kind.name,
        "ns": [fields["_start_time"], fields["_end_time"]],
    }
    status: Status = fields["_status"]
    if status.status_code is not _UNSET:
        otel["status"] = {"code": status.status_code.name}
        if status.description is not None:
            otel["status"]["description"] = status.description
    if left:
        otel["attrs"] = encode_attrs(left)
    if moved:
        otel["moved"] = moved
    if events:
        otel["events"] = [_event_json(e.name, e.timestamp, e.attributes) for e in events]
    links = fields["_links"]
    if len(links):
        otel["links"] = [_link_json(link) for link in links]
    scope = fields["_instrumentation_scope"]
    if scope is not None:
        otel["scope"] = _scope_json(scope)
    if resource_ref is not None:
        otel["resource"] = resource_ref
    ctx = fields["_context"]
    if ctx is not None:
        flags = ctx.trace_flags
        if flags != 1:
            otel["flags"] = int(flags)
        state = ctx.trace_state
        # Most spans hold the API's shared empty state (its length is a Python call).
        if state is not DEFAULT_TRACE_STATE and state:
            otel["trace_state"] = state.to_header()
    parent = fields["_parent"]
    if parent is not None and parent.is_remote:
        otel["parent_remote"] = True
    d_attrs, d_events, d_links = fields.get(DROPPED) or _direct_counts(fields)
    if d_attrs or d_events or d_links:
        dropped = {"attrs": d_attrs, "events": d_events, "links": d_links}
        otel["dropped"] = {k: v for k, v in dropped.items() if v}
    return otel


def _event_json(name: str, ns: int | None, attrs: Attributes) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "ns": ns}
    if attrs:
        out["attrs"] = encode_attrs(attrs)
    return out


def _link_json(link: Link) -> dict[str, Any]:
    ctx = link.context
    out: dict[str, Any] = {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
    if link.attributes:
        out["attrs"] = encode_attrs(link.attributes)
    if ctx.trace_state:
        out["trace_state"] = ctx.trace_state.to_header()
    if int(ctx.trace_flags) != 0:
        out["flags"] = int(ctx.trace_flags)
    if ctx.is_remote:
        out["remote"] = True
    return out

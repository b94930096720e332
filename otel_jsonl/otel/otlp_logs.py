"""OTLP ``LogsData`` in its JSON encoding, both ways, and ``log`` lines <-> SDK log records.

A ``log`` line (docs/schema.md) is what :func:`otel_jsonl.otel.exporter.log_line` made of one log
record; :func:`line_to_record` is its inverse, so ``convert`` can write the line as OTLP
(``LogsData`` JSON lines, or the SDK's OTLP log exporters) and ``import`` turns it back into
the same line. The JSON follows the OTLP "JSON Protobuf Encoding" like the traces codec: hex
ids, lowerCamelCase keys, integer enums, 64-bit integers as decimal strings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

import orjson
from google.protobuf import json_format  # type: ignore[import-untyped]
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    set_span_in_context,
)

from ..genai import names as n
from ..genai.content import messages_from_record
from ..read.lines import raw_lines
from .mapping import decode_attrs
from .otlp_decode import _fix_json_ids, decode_logs
from .otlp_json import OtlpFormatError, _any_value, _encode_resource, _encode_scope, _key_values
from .otlp_read import ImportReport, decode_traces_data

__all__ = [
    "Signal",
    "decode_logs_data",
    "encode_logs_data",
    "line_to_record",
    "logs_to_otlp_json_lines",
    "read_otlp_json",
    "read_otlp_signals",
    "ts_nanos",
    "write_otlp_logs_json",
]

#: What :func:`read_otlp_signals` yields: ("span", ReadableSpan) or ("log", ReadableLogRecord).
Signal = tuple[str, Any]

_CONTENT = (
    ("input", n.GEN_AI_INPUT_MESSAGES),
    ("output", n.GEN_AI_OUTPUT_MESSAGES),
    ("system", n.GEN_AI_SYSTEM_INSTRUCTIONS),
)
_SEVERITIES = {s.name: s for s in SeverityNumber}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _lists(value: Any) -> Any:
    """Tuples (how attribute arrays decode) back to lists, so content reads as JSON."""
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def ts_nanos(ts: Any) -> int:
    """Integer nanoseconds ``ns`` for a line's float ``ts`` such that ``ns / 1e9 == ts`` (the
    exporter wrote ``ts`` so), when there is one: ``round(ts * 1e9)`` misses for about a
    third of today's timestamps, which would change the line on its way back. Starts from
    the exact decimal of ``ts``, then the integers nearest to it."""
    seconds = float(ts)
    n = int(Decimal(repr(seconds)).scaleb(9).to_integral_value())
    if n / 1e9 == seconds:
        return n
    # int / float rounds the integer to a float first: search the integers around ``n``
    # within two float steps, nearest first (a few hundred divisions at most).
    reach = 2 * max(1, int(math.ulp(float(n))))
    for k in range(1, reach + 1):
        for candidate in (n + k, n - k):
            if candidate / 1e9 == seconds:
                return candidate
    return n


def _context(trace_id: int | None, span_id: int | None, flags: TraceFlags) -> Context:
    """A context holding exactly these ids (none: an invalid span), so a record built here
    never picks up the ids of whatever span is current in the calling program."""
    if not trace_id or not span_id:
        return set_span_in_context(INVALID_SPAN)
    return set_span_in_context(NonRecordingSpan(SpanContext(trace_id, span_id, False, flags)))


def line_to_record(
    line: Mapping[str, Any],
    resource: Resource | None = None,
    scope: InstrumentationScope | None = None,
) -> ReadableLogRecord:
    """The log record a ``log`` line was made from (the inverse of ``log_line``).

    The content the exporter lifted out of the attributes (``input``, ``output``, ``system``
    in the parts form) goes back as ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
    ``gen_ai.system_instructions`` unless the body already carries it (the older
    per-message events). The timestamp (also the observed one) is :func:`ts_nanos`.
    """
    attrs = {k: _lists(v) for k, v in decode_attrs(line.get("attrs")).items()}
    name = line.get("event")
    event_name = name if isinstance(name, str) and attrs.get(n.EVENT_NAME) != name else None
    body = line.get("body")
    have = messages_from_record(name if isinstance(name, str) else None, attrs, body)
    for key, attr in _CONTENT:
        if key in line and have.get(key) != line[key]:
            attrs[attr] = line[key]
    ns = ts_nanos(line["ts"])
    trace = line.get("trace_id")
    span = line.get("span_id")
    severity = line.get("severity")
    number = _SEVERITIES.get(severity) if isinstance(severity, str) else None
    record = LogRecord(
        timestamp=ns,
        observed_timestamp=ns,
        context=_context(
            int(trace, 16) if isinstance(trace, str) and trace else None,
            int(span, 16) if isinstance(span, str) and span else None,
            _SAMPLED,
        ),
        severity_text=None if number is not None else severity,
        severity_number=number,
        body=body,
        attributes=attrs or None,
        event_name=event_name,
    )
    if isinstance(trace, str) and trace and record.trace_id == 0:
        record.trace_id = int(trace, 16)  # a trace id without a span id (no span context)
    return ReadableLogRecord(record, resource or Resource({}), scope)


def _encode_record(rec: ReadableLogRecord) -> dict[str, Any]:
    lr = rec.log_record
    out: dict[str, Any] = {}
    if lr.timestamp:
        out["timeUnixNano"] = str(lr.timestamp)
    if lr.observed_timestamp:
        out["observedTimeUnixNano"] = str(lr.observed_timestamp)
    if lr.severity_number is not None and lr.severity_number.value:
        out["severityNumber"] = lr.severity_number.value
    if lr.severity_text:
        out["severityText"] = lr.severity_text
    if lr.body is not None:
        out["body"] = _any_value(lr.body)
    attrs = _key_values(lr.attributes)
    if attrs:
        out["attributes"] = attrs
    dropped = getattr(rec, "dropped_attributes", 0)
    if dropped:
        out["droppedAttributesCount"] = dropped
    if lr.trace_flags is not None and int(lr.trace_flags):
        out["flags"] = int(lr.trace_flags)
    if lr.trace_id:
        out["traceId"] = format(lr.trace_id, "032x")
    if lr.span_id:
        out["spanId"] = format(lr.span_id, "016x")
    if lr.event_name:
        out["eventName"] = lr.event_name
    return out


def encode_logs_data(records: Iterable[ReadableLogRecord]) -> dict[str, Any]:
    """One ``LogsData`` JSON object (``{"resourceLogs": [...]}``) for ``records``, grouped by
    resource and scope in first-seen order."""
    by_resource: dict[int, tuple[Resource, dict[Any, tuple[Any, list[dict[str, Any]]]]]] = {}
    for rec in records:
        entry = by_resource.get(id(rec.resource))
        if entry is None:
            entry = by_resource[id(rec.resource)] = (rec.resource, {})
        scope = rec.instrumentation_scope
        key = (
            (scope.name, scope.version, scope.schema_url, tuple(sorted(scope.attributes or {})))
            if scope is not None
            else None
        )
        bucket = entry[1].get(key)
        if bucket is None:
            bucket = entry[1][key] = (scope, [])
        bucket[1].append(_encode_record(rec))
    resource_logs = []
    for resource, scopes in by_resource.values():
        scope_logs = []
        for scope, logs in scopes.values():
            item: dict[str, Any] = {"scope": _encode_scope(scope), "logRecords": logs}
            if scope is not None and scope.schema_url:
                item["schemaUrl"] = scope.schema_url
            scope_logs.append(item)
        rl: dict[str, Any] = {"resource": _encode_resource(resource), "scopeLogs": scope_logs}
        if resource.schema_url:
            rl["schemaUrl"] = resource.schema_url
        resource_logs.append(rl)
    return {"resourceLogs": resource_logs}


def logs_to_otlp_json_lines(
    records: Iterable[ReadableLogRecord], *, batch_size: int = 512
) -> Iterator[bytes]:
    """OTLP JSON lines (with the newline), one ``LogsData`` per ``batch_size`` records."""
    batch: list[ReadableLogRecord] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= batch_size:
            yield orjson.dumps(encode_logs_data(batch), option=orjson.OPT_APPEND_NEWLINE)
            batch = []
    if batch:
        yield orjson.dumps(encode_logs_data(batch), option=orjson.OPT_APPEND_NEWLINE)


def write_otlp_logs_json(
    records: Iterable[ReadableLogRecord], out: IO[bytes], *, batch_size: int = 512
) -> int:
    """Write ``records`` to ``out`` as OTLP JSON lines; return how many were written."""
    count = 0
    batch: list[ReadableLogRecord] = []
    for rec in records:
        batch.append(rec)
        count += 1
    for line in logs_to_otlp_json_lines(batch, batch_size=batch_size):
        out.write(line)
    return count


# -- decoding ------------------------------------------------------------------------------


def decode_logs_data(data: Any) -> list[ReadableLogRecord]:
    """The log records of one ``LogsData`` (or ``ExportLogsServiceRequest``) JSON object,
    through the receiver's decoder (:mod:`otel_jsonl.otel.otlp_decode`: the same records
    ``otel-jsonl serve`` writes). Hex ids are rewritten in ``data`` for the protobuf parser."""
    if not isinstance(data, dict):
        raise OtlpFormatError("expected a JSON object with resourceLogs")
    if "resourceLogs" not in data and "resource_logs" not in data:
        raise OtlpFormatError("not OTLP logs: no resourceLogs")
    request = ExportLogsServiceRequest()
    _fix_json_ids(data)
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError) as exc:
        raise OtlpFormatError(f"malformed OTLP logs JSON: {exc}") from None
    records, rejected = decode_logs(request)
    if rejected:
        raise OtlpFormatError(f"{rejected} log records have a trace or span id of a wrong length")
    return records


def _decode_line(data: Any) -> list[Signal]:
    """The spans or log records of one JSON line, by its shape."""
    from .phoenix_export import decode_phoenix_span, is_phoenix_span

    if isinstance(data, Mapping):
        if "resourceLogs" in data or "resource_logs" in data:
            return [("log", r) for r in decode_logs_data(data)]
        if is_phoenix_span(data):
            return [("span", decode_phoenix_span(data))]
    return [("span", s) for s in decode_traces_data(data)]


def read_otlp_signals(
    stream: IO[bytes],
    *,
    name: str = "<stream>",
    strict: bool = True,
    report: ImportReport | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Iterator[Signal]:
    """Yield the spans and log records of a JSON lines stream, line by line, each line read
    by its shape: OTLP ``TracesData``, OTLP ``LogsData``, or one span of Phoenix's span export
    (:mod:`otel_jsonl.otel.phoenix_export`). A bad line raises :class:`OtlpFormatError`
    (``name:line: reason``) when ``strict``; otherwise it is skipped, recorded in ``report``
    and passed to ``on_problem``."""
    report = report if report is not None else ImportReport()
    report.path = name
    # raw_lines: a gzip stream cut short is an error at its line, never EOFError.
    for lineno, raw in enumerate(raw_lines(stream, name), 1):
        report.lines += 1
        if not raw.strip():
            continue
        try:
            items = _decode_line(orjson.loads(raw))
        except (orjson.JSONDecodeError, OtlpFormatError) as exc:
            reason = str(exc) if isinstance(exc, OtlpFormatError) else "not valid JSON"
            message = f"{name}:{lineno}: {reason}"
            if strict:
                raise OtlpFormatError(message) from None
            report.problems.append(message)
            if on_problem is not None:
                on_problem(message)
            continue
        for kind, _ in items:
            if kind == "span":
                report.spans += 1
            else:
                report.logs += 1
        yield from items


def read_otlp_json(
    stream: IO[bytes],
    *,
    name: str = "<stream>",
    strict: bool = True,
    report: ImportReport | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Iterator[ReadableSpan]:
    """Yield the spans of an OTLP JSON lines stream, line by line (log records are read and
    left out; see :func:`read_otlp_signals` for the arguments and errors)."""
    for kind, item in read_otlp_signals(
        stream, name=name, strict=strict, report=report, on_problem=on_problem
    ):
        if kind == "span":
            yield item

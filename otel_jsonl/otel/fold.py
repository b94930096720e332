"""Log-record content on the way to OTLP: the ``log`` lines of a trace file as SDK log records
(:class:`LogRecords`), and their content folded onto the model-call spans for backends that
read only traces (:class:`LogFolder`).

Phoenix, Jaeger and Langfuse read traces, not logs: a chat span whose messages travelled as
log records shows no conversation there. :class:`LogFolder` holds such spans (bounded) until
the file's content for them is known, then gives them ``gen_ai.input.messages`` /
``gen_ai.output.messages`` / ``gen_ai.system_instructions`` built from it
(:func:`otel_jsonl.genai.logs.fold_content`); attributes the span has are never replaced.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import IO, Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from ..genai import names as n
from ..genai.content import merge_logs
from ..genai.logs import CONTENT_KEYS, fill_tool_call_ids, fold_content, own_messages
from ..genai.spans import operation_of
from .mapping import replace_span
from .otlp_logs import line_to_record, write_otlp_logs_json
from .ship import Shipper

__all__ = ["LogFolder", "LogRecords", "content_line"]

#: Spans held at most while waiting for the rest of the file (the oldest goes out first).
MAX_HELD = 10_000
#: Spans whose log content is remembered at most.
MAX_CONTENT = 10_000


def content_line(line: Mapping[str, Any]) -> dict[str, Any] | None:
    """For an ``llm_call`` whose content the exporter joined from log records when it wrote
    the line (``otel.logs``), the ``log`` line that carries that content (one
    ``gen_ai.client.inference.operation.details`` record); None for any other line. Content
    that came from the span's own attributes (``otel.moved``) is left out."""
    otel = line.get("otel")
    if line.get("kind") != "llm_call" or not isinstance(otel, Mapping) or not otel.get("logs"):
        return None
    moved = otel.get("moved") or {}
    from_span = {
        (where if isinstance(where, str) else where[0]).lstrip("/").split("/")[0]
        for where in moved.values()
        if isinstance(where, (str, list))
    }
    content = {k: line[k] for k in CONTENT_KEYS if k in line and k not in from_span}
    if not content or not isinstance(line.get("span_id"), str):
        return None
    out: dict[str, Any] = {"ts": line["ts"], "run": line["run"], "kind": "log"}
    if isinstance(line.get("trace_id"), str):
        out["trace_id"] = line["trace_id"]
    out["span_id"] = line["span_id"]
    out["event"] = n.GEN_AI_OPERATION_DETAILS_EVENT
    out.update(content)
    return out


def _wants_content(span: ReadableSpan) -> bool:
    attrs = span.attributes or {}
    if operation_of(attrs) not in n.LLM_OPERATIONS:
        return False
    return n.GEN_AI_INPUT_MESSAGES not in attrs or n.GEN_AI_OUTPUT_MESSAGES not in attrs


class LogFolder:
    """Folds log-record content onto model-call spans, whatever the order of the lines.

    ``add_log()`` takes a ``log`` line with content; ``add_span()`` takes a span and returns
    the spans ready to go on (a model-call span without its messages is held); ``finish()``
    returns the held spans, each with what the file had for it. At most ``max_held`` spans
    wait (the oldest is released first, with the content known so far) and the content of at
    most ``max_content`` spans is remembered.
    """

    def __init__(self, *, max_held: int = MAX_HELD, max_content: int = MAX_CONTENT) -> None:
        self.max_held = max_held
        self.max_content = max_content
        self.folded = 0
        self._held: OrderedDict[str, ReadableSpan] = OrderedDict()
        self._logs: OrderedDict[str, list[Mapping[str, Any]]] = OrderedDict()

    def add_log(self, line: Mapping[str, Any]) -> None:
        """Remember the content of a ``log`` line for its span."""
        span = line.get("span_id")
        if not isinstance(span, str) or not any(k in line for k in CONTENT_KEYS):
            return
        self._logs.setdefault(span, []).append(line)
        self._logs.move_to_end(span)
        while len(self._logs) > self.max_content:
            self._logs.popitem(last=False)

    def add_span(self, span: ReadableSpan) -> list[ReadableSpan]:
        """The spans ready now: ``span`` itself unless it waits for its content."""
        if span.context is None or not _wants_content(span):
            return [span]
        self._held[format(span.context.span_id, "016x")] = span
        out: list[ReadableSpan] = []
        while len(self._held) > self.max_held:
            key, oldest = self._held.popitem(last=False)
            out.append(self._fold(key, oldest))
        return out

    def finish(self) -> list[ReadableSpan]:
        """Every held span, folded."""
        out = [self._fold(key, span) for key, span in self._held.items()]
        self._held.clear()
        return out

    def _fold(self, key: str, span: ReadableSpan) -> ReadableSpan:
        lines = self._logs.get(key)
        if not lines:
            return span
        step: dict[str, Any] = {}
        ordered = sorted(lines, key=lambda x: x.get("ts", 0))
        merge_logs(step, [own_messages(line) for line in ordered])
        if isinstance(step.get("input"), list):
            step["input"] = fill_tool_call_ids(step["input"])
        extra = fold_content(span.attributes or {}, step)
        if not extra:
            return span
        self.folded += 1
        return replace_span(span, attributes=extra)


class LogRecords:
    """The log records of a conversion: each ``log`` line (or joined content) becomes the
    record it was made from, written as ``LogsData`` JSON lines to the stream ``open()``
    gives (called at the first record, so no empty file is made) and/or handed to
    ``shipper``. ``finish()`` writes the rest and returns (records made, records written)."""

    def __init__(
        self,
        resource: Resource,
        open_output: Callable[[], IO[bytes]] | None,
        shipper: Shipper | None,
        batch_size: int,
    ) -> None:
        self.resource = resource
        self.open_output = open_output
        self.shipper = shipper
        self.batch_size = batch_size
        self.out: IO[bytes] | None = None
        self.records: list[ReadableLogRecord] = []
        self.made = 0
        self.written = 0

    def add(self, line: Mapping[str, Any]) -> None:
        """Make the record of ``line`` and send and/or buffer it."""
        if self.open_output is None and self.shipper is None:
            return
        record = line_to_record(line, self.resource)
        self.made += 1
        if self.shipper is not None:
            self.shipper.add(record)
        if self.open_output is not None:
            self.records.append(record)
            if len(self.records) >= self.batch_size:
                self._write()

    def _write(self) -> None:
        if self.out is None and self.open_output is not None:
            self.out = self.open_output()
        if self.out is not None:
            self.written += write_otlp_logs_json(self.records, self.out)
        self.records.clear()

    def finish(self) -> tuple[int, int]:
        """Write what is buffered; (records made, records written)."""
        if self.records:
            self._write()
        if self.out is not None:
            self.out.flush()
        return self.made, self.written

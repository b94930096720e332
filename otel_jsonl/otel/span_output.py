"""Where a conversion's spans go, and the loop that feeds the converter: each line's spans
shipped and/or written as OTLP JSON lines (folded onto log content, or rewritten by a
backend's ``transform``, first), its log content handed on, and a line that cannot make a
span reported as ``name:line: cannot convert (...)`` and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ..read.lines import Line
from .fold import LogFolder, LogRecords, content_line
from .otlp_json import (
    MAX_LINE_BYTES,
    AnySpan,
    EncodedSpan,
    encode_traces_data,
    sdk_spans,
    spans_to_otlp_json_lines,
    write_otlp_json,
)
from .ship import Shipper
from .to_spans import SpanConverter

__all__ = ["CONVERT_ERRORS", "Problems", "SpanOutput", "convert_stream"]

#: What a line with values of unexpected types can make the converter raise; anything else
#: is a bug and is left to surface.
CONVERT_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)


class Problems:
    """Lines that could not be made into spans: each listed as ``name:line: cannot convert
    (Type: message)`` (``name()`` names the file being read) and passed to ``on_problem``."""

    def __init__(
        self,
        sink: list[str],
        name: Callable[[], str],
        on_problem: Callable[[str], None] | None,
    ) -> None:
        self.sink = sink
        self.name = name
        self.on_problem = on_problem

    def add(self, lineno: int | str | None, exc: Exception) -> None:
        where = self.name() if lineno is None else f"{self.name()}:{lineno}"
        message = f"{where}: cannot convert ({type(exc).__name__}: {exc})"
        self.sink.append(message)
        if self.on_problem is not None:
            self.on_problem(message)


def convert_stream(
    converter: SpanConverter,
    lines: Iterable[Line | Mapping[str, Any]],
    spans: SpanOutput,
    logs: LogRecords,
    problems: Problems,
) -> None:
    """Feed every line to ``converter`` and hand on what it completes, then the end of
    input's spans. A line's log content goes to ``logs`` (and the folder) before its spans."""
    feed = converter.feed
    emit = spans.emit
    for line in lines:
        try:
            completed = feed(line)
        except CONVERT_ERRORS as exc:
            problems.add(line.lineno if isinstance(line, Line) else "?", exc)
            continue
        event = line.event if isinstance(line, Line) else line
        kind = event.get("kind")
        if kind == "log" or (kind == "llm_call" and "otel" in event):
            content = event if kind == "log" else content_line(event)
            if content is not None:
                if spans.folder is not None:
                    spans.folder.add_log(content)
                logs.add(content)
        if completed:
            emit(completed)
    try:
        completed = converter.finish()
    except CONVERT_ERRORS as exc:
        problems.add(None, exc)
        return
    emit(completed)


class SpanOutput:
    """Where converted spans go: folded (held until their log content is known), rewritten by
    a backend's ``transform``, then shipped and/or written as OTLP JSON lines."""

    def __init__(
        self,
        out: IO[bytes] | None,
        shipper: Shipper | None,
        batch_size: int,
        folder: LogFolder | None,
        transform: Callable[[ReadableSpan], ReadableSpan] | None,
    ) -> None:
        self.out = out
        self.shipper = shipper
        self.batch_size = batch_size
        self.folder = folder
        self.transform = transform
        self.batch: list[AnySpan] = []
        self.written = 0
        self.oversize: list[AnySpan] = []
        # Nothing to do to a span but write it (the common `convert -o`).
        self.only_written = out is not None and not (shipper or folder or transform)
        self.lines = EncodedLines(batch_size)

    def emit(self, spans: Sequence[AnySpan], *, held: bool = False) -> None:
        if self.only_written:
            if self.batch:
                self.batch += spans
            else:
                before = self.lines.count
                if not all(map(self.lines.take, spans)):
                    # Not the converter's usual span: from it on, the general writer.
                    taken = self.lines.count - before
                    self.batch = [*self.lines.release(), *spans[taken:]]
            if self.lines.count + len(self.batch) >= self.batch_size:
                self._write()
            return
        sdk = sdk_spans(spans)  # to ship, fold or transform: never encoded
        if self.folder is not None and not held:
            sdk = [ready for s in sdk for ready in self.folder.add_span(s)]
        for span in sdk:
            if self.transform is not None:
                span = self.transform(span)
            if self.shipper is not None:
                self.shipper.add(span)
            if self.out is not None:
                self.batch.append(span)
        if self.out is not None and len(self.batch) >= self.batch_size:
            self._write()

    def _write(self) -> None:
        assert self.out is not None
        if self.lines.count:
            self.written += self.lines.write(self.out, self.oversize)
        if self.batch:
            self.written += write_otlp_json(
                self.batch, self.out, batch_size=self.batch_size, oversize=self.oversize
            )
            self.batch.clear()

    def finish(self) -> tuple[int, int]:
        """Emit the held spans, write the rest; (spans written, spans folded)."""
        folded = 0
        if self.folder is not None:
            self.emit(self.folder.finish(), held=True)
            folded = self.folder.folded
        if self.out is not None:
            if self.batch or self.lines.count:
                self._write()
            self.out.flush()
        return self.written, folded


class EncodedLines:
    """The converter's encoded spans of one resource and scope, copied as they come into the
    OTLP JSON lines they will be written as (``batch_size`` spans a line): the same bytes as
    :func:`~otel_jsonl.otel.otlp_json.write_otlp_json` writes of them, without holding a
    bytes object per span until the line is made (measured: 2 us a line of a conversion)."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.count = 0
        self.group: tuple[Resource, InstrumentationScope | None] | None = None
        self.head = self.foot = b""
        self.full: list[tuple[bytearray, list[int]]] = []
        self.buf = bytearray()
        # Where each span of ``buf`` ends (a comma follows it).
        self.ends: list[int] = []

    def take(self, span: AnySpan) -> bool:
        """Copy ``span`` in; False (and nothing done) when it is not an encoded span of the
        group held (any encoded span starts a group when none is held)."""
        if type(span) is not EncodedSpan:
            return False
        group = self.group
        resource, scope = span._resource, span._instrumentation_scope
        if group is None or group[0] is not resource or group[1] is not scope:
            if self.count:
                return False
            self._start(resource, scope)
        buf = self.buf
        buf += span.otlp
        buf += b","
        self.ends.append(len(buf) - 1)
        self.count += 1
        if len(self.ends) == self.batch_size:
            self.full.append((buf, self.ends))
            self.buf, self.ends = bytearray(self.head), []
        return True

    def _start(self, resource: Resource, scope: InstrumentationScope | None) -> None:
        # The line around the spans, as the general writer makes it: a control byte cannot
        # be in orjson's output elsewhere (it escapes them in strings), so it marks the spot.
        probe = EncodedSpan(resource, scope, b"\x01")  # type: ignore[arg-type]
        line = orjson.dumps(encode_traces_data([probe]), option=orjson.OPT_APPEND_NEWLINE)
        self.head, self.foot = line.split(b"\x01")
        self.group = (resource, scope)
        self.buf, self.ends = bytearray(self.head), []

    def _chunks(self) -> list[tuple[bytearray, list[int]]]:
        return [*self.full, (self.buf, self.ends)] if self.ends else list(self.full)

    def _spans(self, buf: bytearray, ends: list[int]) -> list[AnySpan]:
        assert self.group is not None
        resource, scope = self.group
        spans: list[AnySpan] = []
        start = len(self.head)
        for end in ends:
            spans.append(EncodedSpan(resource, scope, bytes(buf[start:end])))  # type: ignore[arg-type]
            start = end + 1
        return spans

    def release(self) -> list[AnySpan]:
        """The spans held, as encoded spans, and nothing held any more."""
        spans = [span for buf, ends in self._chunks() for span in self._spans(buf, ends)]
        self._reset()
        return spans

    def write(self, out: IO[bytes], oversize: list[AnySpan]) -> int:
        """Write the spans held to ``out``, a line per ``batch_size`` (a line over
        MAX_LINE_BYTES halved, as the general writer does); how many were written."""
        for buf, ends in self._chunks():
            if len(buf) - 1 + len(self.foot) <= MAX_LINE_BYTES:
                buf[-1:] = self.foot  # the last span's comma
                out.write(buf)
            else:
                spans = self._spans(buf, ends)
                for line in spans_to_otlp_json_lines(
                    spans, batch_size=len(spans), oversize=oversize
                ):
                    out.write(line)
        written = self.count
        self._reset()
        return written

    def _reset(self) -> None:
        self.count = 0
        self.full = []
        self.buf, self.ends = bytearray(self.head), []

"""Where a conversion's spans go, and the loop that feeds the converter: each line's spans
shipped and/or written as OTLP JSON lines (folded onto log content, or rewritten by a
backend's ``transform``, first), its log content handed on, and a line that cannot make a
span reported as ``name:line: cannot convert (...)`` and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from opentelemetry.sdk.trace import ReadableSpan

from ..read.lines import Line
from .fold import LogFolder, LogRecords, content_line
from .otlp_json import AnySpan, sdk_spans, write_otlp_json
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

    def emit(self, spans: Sequence[AnySpan], *, held: bool = False) -> None:
        if self.only_written:
            self.batch += spans
            if len(self.batch) >= self.batch_size:
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
            if self.batch:
                self._write()
            self.out.flush()
        return self.written, folded

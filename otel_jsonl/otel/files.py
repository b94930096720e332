"""The file pipelines a Python user calls as the CLI does: trace lines to OTLP (a JSON lines
file, an endpoint, or both) and OTLP JSON lines back to trace lines.

``convert_lines`` / ``convert_files`` stream: spans are written and shipped as soon as the
converter completes them, so memory stays bounded by what is open (see
:mod:`otel_jsonl.otel.to_spans`). ``import_files`` writes through :class:`JsonlSpanExporter`, so
an imported span becomes exactly the lines the exporter would have written.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from ..exceptions import OtelJsonlError
from ..read.lines import Line, ReadReport, open_source, read_events
from ..record.writer import WriterOptions
from .exporter import JsonlSpanExporter
from .ids import default_resource
from .otlp_json import DEFAULT_BATCH_SIZE, write_otlp_json
from .otlp_read import ImportReport, read_otlp_json
from .ship import (
    Attempts,
    Shipper,
    ShipReport,
    make_span_exporter,
    resolve_endpoint,
    resolve_protocol,
)
from .to_spans import ConvertStats, SpanConverter

__all__ = [
    "ConvertResult",
    "ImportResult",
    "convert_files",
    "convert_lines",
    "import_files",
]

Source = str | os.PathLike[str] | IO[bytes]


@dataclass
class ConvertResult:
    """What a conversion did: the converter's counts, spans written to the output, the
    shipping report (when spans were sent), and the read reports of the files."""

    stats: ConvertStats
    written: int = 0
    ship: ShipReport | None = None
    reports: list[ReadReport] = field(default_factory=list)
    #: Lines that were read but could not be made into spans (``name:line: reason``).
    unconvertible: list[str] = field(default_factory=list)
    #: Spans whose OTLP JSON line alone is longer than MAX_LINE_BYTES (written whole).
    oversize: int = 0

    @property
    def skipped(self) -> int:
        """Bad lines skipped while reading (a torn last line is not counted) or converting."""
        return sum(r.skipped - (1 if r.torn else 0) for r in self.reports) + len(self.unconvertible)

    @property
    def ok(self) -> bool:
        """True when no line was skipped and every span was delivered."""
        return not self.skipped and (self.ship is None or self.ship.ok)


class _LineFile:
    """An output file written a whole line at a time: when a write fails (disk full, a file
    size limit), a regular file is cut back to its last whole line, so no torn OTLP line is
    left for a collector to choke on. Created ``0600`` (an existing file is made ``0600``
    too: it is rewritten with trace content)."""

    def __init__(self, path: str | os.PathLike[str] | None, *, fd: int | None = None) -> None:
        self.owned = fd is None
        if fd is None:
            assert path is not None
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self.fd = fd
        try:
            st = os.fstat(self.fd)
            self.regular = stat.S_ISREG(st.st_mode)
            if self.owned and self.regular and stat.S_IMODE(st.st_mode) != 0o600:
                os.fchmod(self.fd, 0o600)
        except OSError:
            if self.owned:
                os.close(self.fd)
            raise
        # Where the last whole line ends: the file's size when we start (stdout redirected
        # with >> already holds lines), then one line at a time.
        self.good = st.st_size if self.regular else 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                if n <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[n:]
        except OSError:
            if self.regular:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.good)
            raise
        self.good += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        if self.owned:
            os.close(self.fd)


def whole_line_stdout() -> IO[bytes]:
    """Standard output for OTLP lines: when it is a regular file (``> out.jsonl``), written a
    whole line at a time as ``-o FILE`` is, so a failed write leaves no torn line; else the
    ordinary stream."""
    out = sys.stdout.buffer
    try:
        out.flush()
        fd = out.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return _LineFile(None, fd=fd)  # type: ignore[return-value]
    except (OSError, ValueError, AttributeError):
        pass
    return out


def _open_output(output: Source, stack: ExitStack) -> IO[bytes]:
    if isinstance(output, (str, os.PathLike)):
        sink = _LineFile(output)
        stack.callback(sink.close)
        return sink  # type: ignore[return-value]
    return output


def convert_lines(
    lines: Iterable[Line | Mapping[str, Any]],
    output: Source | None = None,
    *,
    shipper: Shipper | None = None,
    resource: Resource | None = None,
    resource_attrs: Mapping[str, Any] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    source_name: Callable[[], str] | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> ConvertResult:
    """Convert trace lines to spans; write them to ``output`` as OTLP JSON lines (a path,
    created ``0600``, or a binary stream) and/or hand them to ``shipper``, which is closed at
    the end (its report is ``result.ship``).

    ``resource`` is the resource of spans built from recorder lines (default
    :func:`~otel_jsonl.otel.ids.default_resource`); ``resource_attrs`` are merged into every
    span's resource. A line whose values cannot make a span (a valid event with, say, a
    ``usage`` that is not an object) is skipped, listed in ``result.unconvertible`` as
    ``name:line: reason`` (``source_name()`` gives the name) and passed to ``on_problem``.
    """
    if output is None and shipper is None:
        raise ValueError("nowhere to put the spans: give an output or a shipper")
    # Everything imported so far lives for the whole conversion: keep the cyclic collector
    # from walking it again and again while millions of short-lived span objects go by.
    gc.freeze()
    converter = SpanConverter(resource=resource, resource_attrs=resource_attrs)
    result = ConvertResult(converter.stats)
    with ExitStack() as stack:
        if shipper is not None:
            stack.callback(_close_shipper, shipper, result)
        out = _open_output(output, stack) if output is not None else None
        batch: list[ReadableSpan] = []

        def emit(spans: list[ReadableSpan]) -> None:
            for span in spans:
                if shipper is not None:
                    shipper.add(span)
                if out is not None:
                    batch.append(span)
            if out is not None and len(batch) >= batch_size:
                result.written += write(batch)
                batch.clear()

        oversize: list[ReadableSpan] = []

        def write(spans: list[ReadableSpan]) -> int:
            assert out is not None
            return write_otlp_json(spans, out, batch_size=batch_size, oversize=oversize)

        for spans in _spans_of(converter, lines, result, source_name, on_problem):
            emit(spans)
        if out is not None:
            if batch:
                result.written += write(batch)
            out.flush()
        result.oversize = len(oversize)
    return result


def _spans_of(
    converter: SpanConverter,
    lines: Iterable[Line | Mapping[str, Any]],
    result: ConvertResult,
    source_name: Callable[[], str] | None,
    on_problem: Callable[[str], None] | None,
) -> Iterator[list[ReadableSpan]]:
    """The spans each line completes, then those the end of input completes; a line that
    cannot make a span is reported (``name:line: cannot convert (...)``) and skipped."""

    def problem(where: str, exc: Exception) -> None:
        message = f"{where}: cannot convert ({type(exc).__name__}: {exc})"
        result.unconvertible.append(message)
        if on_problem is not None:
            on_problem(message)

    def name() -> str:
        return source_name() if source_name is not None else "<events>"

    for line in lines:
        try:
            spans = converter.feed(line)
        except _CONVERT_ERRORS as exc:
            problem(f"{name()}:{line.lineno if isinstance(line, Line) else '?'}", exc)
            continue
        yield spans
    try:
        yield converter.finish()
    except _CONVERT_ERRORS as exc:
        problem(name(), exc)


#: What a line with values of unexpected types can make the converter raise; anything else
#: is a bug and is left to surface.
_CONVERT_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)


def _close_shipper(shipper: Shipper, result: ConvertResult) -> None:
    result.ship = shipper.close()


def convert_files(
    sources: Sequence[Source],
    output: Source | None = None,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    strict: bool = False,
    resource: Resource | None = None,
    resource_attrs: Mapping[str, Any] | None = None,
    service_name: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ConvertResult:
    """Convert trace files (paths, ``-``, ``.gz``, binary streams) to OTLP: written to
    ``output`` and/or sent to ``endpoint`` (an OTLP/HTTP base URL or gRPC address; the
    ``OTEL_EXPORTER_OTLP_*`` variables fill what is not given). Bad lines raise
    :class:`~otel_jsonl.exceptions.TraceFormatError` when ``strict``, else are skipped and
    counted in ``result.reports``. For full control of shipping, build a :class:`Shipper` and
    call :func:`convert_lines`."""
    shipper = None
    if endpoint is not None:
        chosen = resolve_protocol(protocol)
        attempts = Attempts()
        exporter = make_span_exporter(endpoint, protocol=chosen, headers=headers, attempts=attempts)
        shipper = Shipper(
            exporter,
            endpoint=resolve_endpoint(endpoint, chosen),
            batch_size=batch_size,
            attempts=attempts,
        )
    if resource is None and service_name:
        resource = default_resource({"service.name": service_name})
    reports: list[ReadReport] = []

    def lines() -> Iterable[Line]:
        for source in sources:
            report = ReadReport()
            reports.append(report)
            yield from read_events(source, strict=strict, report=report)

    result = convert_lines(
        lines(),
        output,
        shipper=shipper,
        resource=resource,
        resource_attrs=resource_attrs,
        batch_size=batch_size,
        source_name=lambda: reports[-1].path if reports else "<events>",
    )
    result.reports = reports
    return result


@dataclass
class ImportResult:
    """What an import did: spans read and written, and the lines skipped
    (``name:line: reason``)."""

    spans: int = 0
    problems: list[str] = field(default_factory=list)
    #: Values over the cap cut with no blob kept (writing to a stream with no ``blob_dir``).
    cut: int = 0

    @property
    def ok(self) -> bool:
        """True when no line was skipped."""
        return not self.problems


def import_files(
    sources: Sequence[tuple[str, IO[bytes]] | str | os.PathLike[str]],
    output: str | os.PathLike[str] | IO[bytes],
    *,
    strict: bool = False,
    on_problem: Callable[[str], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    options: WriterOptions | None = None,
) -> ImportResult:
    """Read OTLP JSON lines files and write their spans as trace lines to ``output`` (a path
    or a binary stream), through :class:`JsonlSpanExporter`.

    ``sources`` are paths (gzip read when compressed), or (name, binary stream) pairs. A bad
    line raises :class:`~otel_jsonl.otel.otlp_json.OtlpFormatError` when ``strict``;
    otherwise it is skipped, passed to ``on_problem`` and listed in ``result.problems``.
    ``options`` are the writer's (cap, blob directory, redaction): values over the cap go to
    the blob directory (default ``blobs/`` beside a path output; a stream output with no
    ``blob_dir`` cuts them, counted in ``result.cut``).
    """
    if isinstance(output, (str, os.PathLike)):
        exporter = JsonlSpanExporter(output, options=options)
    else:
        exporter = JsonlSpanExporter(stream=output, options=options)
    result = ImportResult()
    try:
        with ExitStack() as stack:
            for source in sources:
                if isinstance(source, tuple):
                    name, stream = source
                else:
                    name = os.fspath(source)
                    stream = stack.enter_context(open_source(source))
                report = ImportReport()
                batch: list[ReadableSpan] = []
                for span in read_otlp_json(
                    stream, name=name, strict=strict, report=report, on_problem=on_problem
                ):
                    batch.append(span)
                    if len(batch) >= batch_size:
                        _export(exporter, batch)
                        batch = []
                if batch:
                    _export(exporter, batch)
                result.spans += report.spans
                result.problems.extend(report.problems)
    finally:
        exporter.shutdown()
        result.cut = exporter.writer.cut
    return result


def _export(exporter: JsonlSpanExporter, batch: list[ReadableSpan]) -> None:
    if exporter.export(batch) is not SpanExportResult.SUCCESS:
        error = exporter.writer.last_error
        raise OtelJsonlError(f"could not write the events ({error})")

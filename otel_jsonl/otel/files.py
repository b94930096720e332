"""The file pipelines a Python user calls as the CLI does: trace lines to OTLP (a JSON lines
file, an endpoint, or both) and OTLP JSON lines back to trace lines.

``convert_lines`` / ``convert_files`` stream: spans are written and shipped as soon as the
converter completes them, so memory stays bounded by what is open (see
:mod:`otel_jsonl.otel.to_spans`). ``log`` lines become OTLP log records (a ``LogsData`` JSON
lines file of their own, and/or the logs endpoint); for trace-only backends their content can
also be folded onto the model-call spans (:mod:`otel_jsonl.otel.fold`). ``import_files`` writes
through the exporters, so a span or log record becomes exactly the lines they would write; it
reads ``TracesData`` and ``LogsData`` lines, and Phoenix's span export, in any order.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from ..exceptions import OtelJsonlError
from ..read.lines import Line, ReadReport, open_source, read_events
from ..record.writer import WriterOptions
from .exporter import JsonlLogExporter, JsonlSpanExporter
from .fold import LogFolder, LogRecords
from .ids import default_resource
from .otlp_json import DEFAULT_BATCH_SIZE
from .otlp_logs import read_otlp_signals
from .otlp_read import ImportReport
from .ship import (
    Attempts,
    Shipper,
    ShipReport,
    logs_endpoint_for,
    make_log_exporter,
    make_span_exporter,
    resolve_endpoint,
    resolve_protocol,
)
from .span_output import Problems, SpanOutput, convert_stream
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
    log_records: int = 0
    """Log records made from ``log`` lines (and from content joined at write time)."""
    logs_written: int = 0
    log_ship: ShipReport | None = None
    folded: int = 0
    """Model-call spans that got their messages from log records."""
    unconvertible: list[str] = field(default_factory=list)
    """Lines that were read but could not be made into spans (``name:line: reason``)."""
    oversize: int = 0
    """Spans whose OTLP JSON line alone is longer than MAX_LINE_BYTES (written whole)."""

    @property
    def skipped(self) -> int:
        """Bad lines skipped while reading (a torn last line is not counted) or converting."""
        read = sum(r.skipped - (1 if r.torn else 0) for r in self.reports)
        return read + len(self.unconvertible)

    @property
    def ok(self) -> bool:
        """True when no line was skipped and every span and log record was delivered (an
        endpoint that takes no logs at all, a trace-only backend, is not a failure)."""
        return (
            not self.skipped
            and (self.ship is None or self.ship.ok)
            and (self.log_ship is None or self.log_ship.ok or self.log_ship.unsupported)
        )


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
    logs_output: Source | None = None,
    log_shipper: Shipper | None = None,
    fold: bool = False,
    transform: Callable[[ReadableSpan], ReadableSpan] | None = None,
    source_name: Callable[[], str] | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> ConvertResult:
    """Convert trace lines to spans; write them to ``output`` as OTLP JSON lines (a path,
    created ``0600``, or a binary stream) and/or hand them to ``shipper``, which is closed at
    the end (its report is ``result.ship``).

    ``resource`` is the resource of spans built from recorder lines (default
    :func:`~otel_jsonl.otel.ids.default_resource`); ``resource_attrs`` are merged into every
    span's resource. ``log`` lines (and content the exporter joined from log records when it
    wrote an ``llm_call``) become log records: written to ``logs_output`` as ``LogsData``
    JSON lines (a path is created only when there is a record) and/or handed to
    ``log_shipper``. ``fold`` puts log content onto its model-call spans (for backends that
    read only traces); ``transform`` rewrites each span last (a backend's own attributes).
    A line whose values cannot make a span is skipped, listed in ``result.unconvertible`` as
    ``name:line: reason`` (``source_name()`` names the file) and passed to ``on_problem``.
    """
    if output is None and shipper is None:
        raise ValueError("nowhere to put the spans: give an output or a shipper")
    # Everything imported so far lives for the whole conversion: keep the cyclic collector
    # from walking it again and again while millions of short-lived span objects go by.
    gc.freeze()
    # Spans only written to a file are encoded as they are made, no SDK span objects on the way.
    encoded = shipper is None and not fold and transform is None
    converter = SpanConverter(resource=resource, resource_attrs=resource_attrs, encoded=encoded)
    result = ConvertResult(converter.stats)
    log_resource = resource if resource is not None else default_resource()
    if resource_attrs:
        log_resource = log_resource.merge(Resource(dict(resource_attrs)))
    with ExitStack() as stack:
        if shipper is not None:
            stack.callback(_close_shipper, shipper, result)
        if log_shipper is not None:
            stack.callback(_close_log_shipper, log_shipper, result)
        out = _open_output(output, stack) if output is not None else None
        spans = SpanOutput(out, shipper, batch_size, LogFolder() if fold else None, transform)
        opener = (lambda: _open_output(logs_output, stack)) if logs_output is not None else None
        logs = LogRecords(log_resource, opener, log_shipper, batch_size)
        name = source_name if source_name is not None else (lambda: "<events>")
        problems = Problems(result.unconvertible, name, on_problem)
        convert_stream(converter, lines, spans, logs, problems)
        result.written, result.folded = spans.finish()
        result.oversize = len(spans.oversize)
        result.log_records, result.logs_written = logs.finish()
    return result


def _close_shipper(shipper: Shipper, result: ConvertResult) -> None:
    result.ship = shipper.close()


def _close_log_shipper(shipper: Shipper, result: ConvertResult) -> None:
    result.log_ship = shipper.close()


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
    logs_output: Source | None = None,
    send_logs: bool = True,
    fold: bool | None = None,
) -> ConvertResult:
    """Convert trace files (paths, ``-``, ``.gz``, binary streams) to OTLP: written to
    ``output`` and/or sent to ``endpoint`` (an OTLP/HTTP base URL or gRPC address; the
    ``OTEL_EXPORTER_OTLP_*`` variables fill what is not given). Log records from ``log``
    lines go to ``logs_output`` (``LogsData`` JSON lines) and, with ``send_logs``, to the
    endpoint's logs route; ``fold`` (default: when sending) puts their content onto the chat
    spans. Bad lines raise :class:`~otel_jsonl.exceptions.TraceFormatError` when ``strict``,
    else are skipped and counted in ``result.reports``. For full control of shipping, build
    :class:`Shipper` objects and call :func:`convert_lines`."""
    shipper = None
    log_shipper = None
    if endpoint is not None:
        chosen = resolve_protocol(protocol)
        attempts = Attempts()
        exporter = make_span_exporter(endpoint, protocol=chosen, headers=headers, attempts=attempts)
        url = resolve_endpoint(endpoint, chosen)
        shipper = Shipper(exporter, endpoint=url, batch_size=batch_size, attempts=attempts)
        if send_logs:
            logs_url = logs_endpoint_for(url, chosen)
            log_exporter = make_log_exporter(logs_url, protocol=chosen, headers=headers)
            log_shipper = Shipper(
                log_exporter, endpoint=logs_url, unit="log records", batch_size=batch_size
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
        logs_output=logs_output,
        log_shipper=log_shipper,
        fold=endpoint is not None if fold is None else fold,
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
    logs: int = 0
    cut: int = 0
    """Values over the cap cut with no blob kept (writing to a stream with no blob_dir)."""

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
    """Read OTLP JSON lines files (``TracesData`` and ``LogsData`` lines, and Phoenix's span
    export, any mix and order) and write their spans and log records as trace lines to
    ``output`` (a path or a binary stream), through :class:`JsonlSpanExporter` and
    :class:`JsonlLogExporter`. Log records are written as ``log`` lines where they come (no
    write-time join: readers join them at read time), so a ``convert`` of a file with ``log``
    lines imports back to the same events.

    ``sources`` are paths (gzip read when compressed), or (name, binary stream) pairs. A bad
    line raises :class:`~otel_jsonl.otel.otlp_json.OtlpFormatError` when ``strict``;
    otherwise it is skipped, passed to ``on_problem`` and listed in ``result.problems``.
    ``options`` are the writer's (cap, blob directory, redaction): values over the cap go to
    the blob directory (default ``blobs/`` beside a path output; a stream output with no
    ``blob_dir`` cuts them, counted in ``result.cut``).
    """
    if isinstance(output, (str, os.PathLike)):
        exporter = JsonlSpanExporter(output, joiner=False, options=options)
    else:
        exporter = JsonlSpanExporter(stream=output, joiner=False, options=options)
    log_exporter = JsonlLogExporter.sharing(exporter)
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
                _import_stream(
                    read_otlp_signals(
                        stream, name=name, strict=strict, report=report, on_problem=on_problem
                    ),
                    exporter,
                    log_exporter,
                    batch_size,
                )
                result.spans += report.spans
                result.logs += report.logs
                result.problems.extend(report.problems)
    finally:
        log_exporter.shutdown()
        exporter.shutdown()
        result.cut = exporter.writer.cut
    return result


def _import_stream(
    items: Iterable[tuple[str, Any]],
    exporter: JsonlSpanExporter,
    log_exporter: JsonlLogExporter,
    batch_size: int,
) -> None:
    """Write spans and log records in batches of one kind, in the order they were read."""
    batch: list[Any] = []
    batch_kind = "span"
    for kind, item in items:
        if batch and (kind != batch_kind or len(batch) >= batch_size):
            _flush(batch_kind, batch, exporter, log_exporter)
            batch = []
        batch_kind = kind
        batch.append(item)
    if batch:
        _flush(batch_kind, batch, exporter, log_exporter)


def _flush(
    kind: str, batch: list[Any], exporter: JsonlSpanExporter, log_exporter: JsonlLogExporter
) -> None:
    if kind == "log":
        _export_logs(log_exporter, batch)
    else:
        _export(exporter, batch)


def _export(exporter: JsonlSpanExporter, batch: list[ReadableSpan]) -> None:
    if exporter.export(batch) is not SpanExportResult.SUCCESS:
        error = exporter.writer.last_error
        raise OtelJsonlError(f"could not write the events ({error})")


def _export_logs(exporter: JsonlLogExporter, batch: list[Any]) -> None:
    if exporter.export(batch) is not LogRecordExportResult.SUCCESS:
        error = exporter.writer.last_error
        raise OtelJsonlError(f"could not write the events ({error})")

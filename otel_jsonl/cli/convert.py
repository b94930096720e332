"""``convert`` (trace files to an OTLP JSON lines file and/or an OTLP endpoint) and ``import``
(OTLP JSON lines back into the event schema)."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING, Any

from ..exceptions import OtelJsonlError
from ..read.lines import Line, ReadReport, open_source, read_events
from .backend import (
    ENV_NOTE,
    _positive_int,
    _seconds,
    add_preset_args,
    add_transport_args,
    make_shippers,
    resolve_destination_preset,
)
from .common import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    FILES_HELP,
    CliError,
    check_readable,
    expand_args,
    iter_lines,
    spool_stdin,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..otel.files import ConvertResult
    from ..otel.presets import Preset

# The OpenTelemetry side is imported inside the commands that use it, so that building the
# parser (every command, and ``--version``) stays quick.


def register(sub: Any, only: str | None = None) -> None:
    """Add ``convert`` and ``import`` to the sub-command parser (or only the one named)."""
    if only in (None, "convert"):
        _add_convert(sub)
    if only in (None, "import"):
        _add_import(sub)


def _add_convert(sub: Any) -> None:
    p = sub.add_parser(
        "convert",
        help="convert trace files to OTLP: an OTLP JSON lines file, or send to an endpoint",
        description="Turn each FILE's events into spans (a run is a trace, a step a span) and "
        "write them as OTLP JSON lines (-o) and/or send them over OTLP (--endpoint). Bad "
        "lines are printed as FILE:LINE: REASON and skipped. " + ENV_NOTE,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write OTLP JSON lines (one TracesData per line) to OUT (- for stdout)",
    )
    add_transport_args(p)
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=512,
        metavar="N",
        help="spans per request and per OTLP JSON line (default 512)",
    )
    p.add_argument(
        "--retries", type=int, default=4, metavar="N", help="re-sends of a failed batch (default 4)"
    )
    p.add_argument(
        "--retry-backoff",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="first wait before a re-send, doubled each time up to 30 (default 1)",
    )
    p.add_argument(
        "--retry-max-time",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="give up on a batch this long after its first attempt (default 120)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first bad line; nothing is written or sent",
    )
    add_preset_args(p)
    p.add_argument(
        "--logs-output",
        metavar="PATH",
        help="write log records (from log lines) as OTLP LogsData JSON lines to PATH "
        "(default: beside -o OUT, X.otlp.jsonl -> X.otlp.logs.jsonl)",
    )
    p.add_argument(
        "--no-logs",
        action="store_true",
        help="neither write nor send log records",
    )
    p.add_argument(
        "--fold-logs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="put message content carried by log records onto its chat span as the GenAI "
        "message attributes (default: on when sending, off for -o files)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=cmd_convert)


def _add_import(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import OTLP JSON lines into the event schema",
        description="Read OTLP JSON lines (the collector's file exporter, "
        "opentelemetry-exporter-otlp-json-file, OTLP JSON from a backend): TracesData, "
        "LogsData and Phoenix's span export, each line by its shape, several files in any "
        "order; write them as events, exactly as the span and log exporters would have. Bad "
        "lines are printed as FILE:LINE: REASON and skipped.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="OTLP JSON lines file (- for stdin)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="trace file to append to (- for stdout)",
    )
    p.add_argument(
        "--cap",
        type=int,
        default=None,
        metavar="BYTES",
        help="cap per string value (default 4096; 0 = off); full values go to the blob store",
    )
    p.add_argument(
        "--blob-dir",
        default=None,
        metavar="DIR",
        help="blob store for capped values (default: blobs/ beside OUT; with -o - none, and "
        "capped values are cut and counted)",
    )
    p.add_argument(
        "--strict", action="store_true", help="stop at the first bad line; nothing is written"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=cmd_import)


# -- convert -------------------------------------------------------------------------------


def _endpoint_from_env() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def _check_strict(paths: list[str]) -> None:
    for path in paths:
        check_readable(path)
        try:
            for _ in read_events(path, strict=True, report=ReadReport()):
                pass
        except OtelJsonlError as exc:
            raise CliError(f"{exc} (--strict: nothing converted)") from None
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror or exc}") from None


def _spooled(paths: list[str], stack: ExitStack) -> list[str]:
    """The paths, with stdin copied to a temporary file (a strict check reads twice)."""
    if paths.count("-") > 1:
        raise CliError("stdin (-) can be read only once", EXIT_USAGE)
    return [spool_stdin(stack) if p == "-" else p for p in paths]


def _logs_output(args: argparse.Namespace) -> str | None:
    """Where log records are written: --logs-output, else beside a -o file."""
    if args.no_logs:
        return None
    if args.logs_output is not None:
        return str(args.logs_output)
    out: str | None = args.output
    if out is None or out == "-":
        return None
    return out[: -len(".jsonl")] + ".logs.jsonl" if out.endswith(".jsonl") else out + ".logs.jsonl"


def _destination(args: argparse.Namespace) -> tuple[bool, Preset]:
    """Whether spans are sent, and where (the ``--to`` preset; ``otlp`` without one)."""
    send = (
        args.to is not None
        or args.endpoint is not None
        or (args.output is None and _endpoint_from_env())
    )
    if args.output is None and not send:
        raise CliError(
            "nowhere to put the spans: give -o OUT, --endpoint URL, --to BACKEND, or set "
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            EXIT_USAGE,
        )
    if args.retries < 0:
        raise CliError("--retries must be >= 0", EXIT_USAGE)
    preset = resolve_destination_preset(args)
    return send, preset


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert trace files to OTLP JSON lines and/or send them to an OTLP endpoint."""
    from ..otel.files import convert_lines
    from ..otel.ids import default_resource

    send, preset = _destination(args)
    fold = args.fold_logs if args.fold_logs is not None else (send and preset.fold)
    base = {"service.name": args.service_name} if args.service_name else None
    with ExitStack() as stack:
        given = expand_args(args.files)
        paths = list(given)
        if args.strict:
            paths = _spooled(paths, stack)
            names = dict(zip(paths, given, strict=True))
            try:
                _check_strict(paths)
            except CliError as exc:
                for tmp, name in names.items():
                    if tmp != name:
                        exc.args = (str(exc).replace(tmp, name),)
                raise
        shipper, log_shipper = make_shippers(args, preset) if send else (None, None)
        reports: list[ReadReport] = []

        def readers() -> Iterator[Iterator[Line]]:
            for path in paths:
                report = ReadReport()
                reports.append(report)
                yield iter_lines(path, strict=args.strict, report=report)

        # (chained in C: no generator of ours between each line and the converter)
        lines = itertools.chain.from_iterable(readers())

        output: Any = args.output
        if output == "-":
            from ..otel.files import whole_line_stdout

            output = whole_line_stdout()
        try:
            result = convert_lines(
                lines,
                output,
                shipper=shipper,
                resource=default_resource(base),
                resource_attrs={**preset.resource_attrs, **dict(args.resource_attr)} or None,
                batch_size=args.batch_size,
                logs_output=_logs_output(args),
                log_shipper=log_shipper,
                fold=fold,
                transform=preset.transform if send else None,
                source_name=lambda: reports[-1].path if reports else "<events>",
                on_problem=lambda m: print(m, file=sys.stderr),
            )
        except OSError as exc:
            whole = args.output != "-" or output is not sys.stdout.buffer
            kept = " (the file keeps only whole lines)" if whole else ""
            raise CliError(f"{args.output}: {exc.strerror or exc}{kept}") from None
        result.reports = reports
    return _convert_summary(args, result, preset.credentials)


def _convert_summary(args: argparse.Namespace, result: ConvertResult, credentials: str = "") -> int:
    stats = result.stats
    ship = result.ship
    if not args.quiet:
        runs = "1 run" if stats.runs == 1 else f"{stats.runs} runs"
        parts = [f"{stats.spans} spans ({runs}) from {stats.lines} events"]
        if result.skipped:
            parts.append(f"{result.skipped} bad lines skipped")
        if args.output is not None:
            parts.append(f"wrote {result.written} spans to {args.output}")
        if result.oversize:
            parts.append(
                f"{result.oversize} spans are each over 1 MiB as a line (a collector's "
                "otlp_json_file receiver drops such lines at its default max_log_size)"
            )
        logs_path = _logs_output(args)
        if result.logs_written and logs_path is not None:
            parts.append(f"wrote {result.logs_written} log records to {logs_path}")
        if result.folded:
            parts.append(f"folded log content onto {result.folded} spans")
        if ship is not None:
            parts.append(ship.summary())
        if (
            result.log_ship is not None
            and result.log_ship.spans_sent + result.log_ship.spans_failed
        ):
            parts.append(result.log_ship.summary())
        print("otel-jsonl: convert: " + "; ".join(parts), file=sys.stderr)
    logs = result.log_ship
    if logs is not None and logs.unsupported:
        folded = " (their content was folded onto the spans)" if result.folded else ""
        print(
            f"otel-jsonl: note: {logs.endpoint} takes no log records ({logs.last_error}): "
            f"{logs.spans_failed} not sent{folded}; --no-logs skips them",
            file=sys.stderr,
        )
    for report in (ship, logs):
        if report is None or report.ok or report.unsupported:
            continue
        total = report.spans_failed + report.spans_sent
        if report.refused:
            who = f"--to {args.to}" if args.to else "the endpoint"
            hint = f" (check {credentials})" if credentials else ""
            print(
                f"otel-jsonl: error: {report.endpoint} refused the credentials of {who}{hint}: "
                f"{report.last_error}; {report.spans_failed} of {total} {report.unit} not sent",
                file=sys.stderr,
            )
            continue
        reason = f": {report.last_error}" if report.last_error else ""
        print(
            f"otel-jsonl: error: {report.spans_failed} of {total} {report.unit} could not be "
            f"sent to {report.endpoint}{reason}",
            file=sys.stderr,
        )
    return EXIT_OK if result.ok else EXIT_DATA


# -- import --------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import OTLP JSON lines files into the event schema."""
    from ..otel.files import import_files
    from ..otel.otlp_logs import read_otlp_signals
    from ..record.writer import WriterOptions

    with ExitStack() as stack:
        paths = _spooled(list(args.files), stack) if args.strict else list(args.files)
        for path, name in zip(paths, args.files, strict=True):
            check_readable(path)
            if args.strict:
                try:
                    with open_source(path) as check:
                        for _ in read_otlp_signals(check, name=name, strict=True):
                            pass
                except OtelJsonlError as exc:
                    raise CliError(f"{exc} (--strict: nothing imported)") from None
                except OSError as exc:
                    raise CliError(f"{name}: {exc.strerror or exc}") from None
        sources: list[tuple[str, IO[bytes]]] = []
        for path, name in zip(paths, args.files, strict=True):
            try:
                stream = stack.enter_context(open_source(path)) if path != "-" else open_source("-")
            except OSError as exc:
                raise CliError(f"{name}: {exc.strerror or exc}") from None
            sources.append((name if name != "-" else "<stdin>", stream))
        output: Any = sys.stdout.buffer if args.output == "-" else args.output
        overrides: dict[str, Any] = {}
        if args.cap is not None:
            overrides["cap"] = args.cap
        if args.blob_dir is not None:
            overrides["blob_dir"] = args.blob_dir
        try:
            options = WriterOptions(**overrides)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        try:
            result = import_files(
                sources, output, options=options, on_problem=lambda m: print(m, file=sys.stderr)
            )
        except (OtelJsonlError, OSError) as exc:
            raise CliError(str(exc)) from None
    if not args.quiet:
        bad = len(result.problems)
        extra = f"; {bad} bad lines skipped" if bad else ""
        logs = f" and {result.logs} log records" if result.logs else ""
        print(
            f"otel-jsonl: import: {result.spans} spans{logs} to {args.output}{extra}",
            file=sys.stderr,
        )
    if result.cut:
        print(
            f"otel-jsonl: import: note: {result.cut} values over the {options.cap}-byte cap "
            "were cut with no blob kept (give --blob-dir DIR, or --cap 0 to keep them whole)",
            file=sys.stderr,
        )
    return EXIT_OK if result.ok else EXIT_DATA

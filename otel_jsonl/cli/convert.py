"""``convert`` (trace files to an OTLP JSON lines file and/or an OTLP endpoint) and ``import``
(OTLP JSON lines back into the event schema)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING, Any

from ..exceptions import OtelJsonlError
from ..read.lines import Line, ReadReport, read_events
from .common import EXIT_DATA, EXIT_OK, EXIT_USAGE, CliError, check_readable, iter_lines

if TYPE_CHECKING:  # pragma: no cover
    from ..otel.files import ConvertResult
    from ..otel.ship import Shipper

# The OpenTelemetry side is imported inside the commands that use it, so that building the
# parser (every command, and ``--version``) stays quick.

ENV_NOTE = (
    "Without --endpoint and -o, spans go to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or "
    "OTEL_EXPORTER_OTLP_ENDPOINT when set. The SDK exporter reads "
    "OTEL_EXPORTER_OTLP_{,TRACES_}{ENDPOINT,HEADERS,COMPRESSION,TIMEOUT,CERTIFICATE,"
    "CLIENT_KEY,CLIENT_CERTIFICATE,PROTOCOL} for anything not given as an option."
)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def register(sub: Any) -> None:
    """Add ``convert`` and ``import`` to the sub-command parser."""
    p = sub.add_parser(
        "convert",
        help="convert trace files to OTLP: an OTLP JSON lines file, or send to an endpoint",
        description="Turn each FILE's events into spans (a run is a trace, a step a span) and "
        "write them as OTLP JSON lines (-o) and/or send them over OTLP (--endpoint). Bad "
        "lines are printed as FILE:LINE: REASON and skipped. " + ENV_NOTE,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="trace file (- for stdin, .gz ok)")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write OTLP JSON lines (one TracesData per line) to OUT (- for stdout)",
    )
    p.add_argument(
        "--endpoint",
        metavar="URL",
        help="send to this OTLP endpoint (HTTP: /v1/traces is added to a bare URL)",
    )
    p.add_argument(
        "--protocol",
        choices=("http/protobuf", "grpc"),
        default=None,
        help="OTLP transport (default: OTEL_EXPORTER_OTLP_PROTOCOL or http/protobuf)",
    )
    p.add_argument(
        "-H",
        "--header",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="request header, repeatable (added to OTEL_EXPORTER_OTLP_HEADERS)",
    )
    p.add_argument(
        "--compression",
        choices=("gzip", "none"),
        default=None,
        help="request compression (default: OTEL_EXPORTER_OTLP_COMPRESSION or none)",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="per-request timeout, the SDK exporter's own retries included "
        "(default: OTEL_EXPORTER_OTLP_TIMEOUT or 10)",
    )
    p.add_argument("--certificate", metavar="PEM", help="CA certificate to trust (TLS)")
    p.add_argument("--client-key", metavar="PEM", help="client key (mutual TLS)")
    p.add_argument("--client-certificate", metavar="PEM", help="client certificate (mutual TLS)")
    p.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="gRPC: plain text even for a non-http:// endpoint",
    )
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
        "--service-name",
        metavar="NAME",
        help="service.name of spans from recorder lines (default: OTEL_SERVICE_NAME or otel-jsonl)",
    )
    p.add_argument(
        "--resource-attr",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="resource attribute added to every span, repeatable "
        "(e.g. openinference.project.name=my-project)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first bad line; nothing is written or sent",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "import",
        help="import OTLP JSON lines into the event schema",
        description="Read OTLP JSON lines (the collector's file exporter, "
        "opentelemetry-exporter-otlp-json-file, OTLP JSON from a backend) and write them as "
        "events, exactly as the span exporter would have. Bad lines are printed as "
        "FILE:LINE: REASON and skipped.",
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


def _spool_stdin(stack: ExitStack) -> str:
    """Copy stdin to a temporary file so a strict check can read it twice."""
    # Deleted when the command's ExitStack closes.
    tmp = stack.enter_context(
        tempfile.NamedTemporaryFile(prefix="otel-jsonl-", suffix=".jsonl")  # noqa: SIM115
    )
    shutil.copyfileobj(sys.stdin.buffer, tmp)
    tmp.flush()
    return tmp.name


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
    return [_spool_stdin(stack) if p == "-" else p for p in paths]


def _make_shipper(args: argparse.Namespace) -> Shipper:
    from ..otel.ship import (
        RetryPolicy,
        Shipper,
        make_span_exporter,
        resolve_endpoint,
        resolve_protocol,
    )

    try:
        protocol = resolve_protocol(args.protocol)
        endpoint = resolve_endpoint(args.endpoint, protocol)
        exporter = make_span_exporter(
            args.endpoint,
            protocol=protocol,
            headers=dict(args.header) or None,
            compression=args.compression,
            timeout=args.timeout,
            certificate=args.certificate,
            client_key=args.client_key,
            client_certificate=args.client_certificate,
            insecure=args.insecure,
        )
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot set up the OTLP exporter: {exc}", EXIT_USAGE) from None
    retry = RetryPolicy(
        attempts=args.retries + 1,
        initial_backoff=args.retry_backoff,
        max_time=args.retry_max_time,
    )
    return Shipper(exporter, endpoint=endpoint, batch_size=args.batch_size, retry=retry)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert trace files to OTLP JSON lines and/or send them to an OTLP endpoint."""
    from ..otel.files import convert_lines
    from ..otel.ids import default_resource

    send = args.endpoint is not None or (args.output is None and _endpoint_from_env())
    if args.output is None and not send:
        raise CliError(
            "nowhere to put the spans: give -o OUT, --endpoint URL, or set "
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            EXIT_USAGE,
        )
    if args.retries < 0:
        raise CliError("--retries must be >= 0", EXIT_USAGE)
    base = {"service.name": args.service_name} if args.service_name else None
    with ExitStack() as stack:
        paths = list(args.files)
        if args.strict:
            paths = _spooled(paths, stack)
            names = dict(zip(paths, args.files, strict=True))
            try:
                _check_strict(paths)
            except CliError as exc:
                for tmp, name in names.items():
                    if tmp != name:
                        exc.args = (str(exc).replace(tmp, name),)
                raise
        shipper = _make_shipper(args) if send else None
        reports: list[ReadReport] = []

        def lines() -> Iterator[Line]:
            for path in paths:
                report = ReadReport()
                reports.append(report)
                yield from iter_lines(path, strict=args.strict, report=report)

        output: Any = args.output
        if output == "-":
            output = sys.stdout.buffer
        try:
            result = convert_lines(
                lines(),
                output,
                shipper=shipper,
                resource=default_resource(base),
                resource_attrs=dict(args.resource_attr) or None,
                batch_size=args.batch_size,
            )
        except OSError as exc:
            raise CliError(f"{args.output}: {exc.strerror or exc}") from None
        result.reports = reports
    return _convert_summary(args, result)


def _convert_summary(args: argparse.Namespace, result: ConvertResult) -> int:
    stats = result.stats
    ship = result.ship
    if not args.quiet:
        runs = "1 run" if stats.runs == 1 else f"{stats.runs} runs"
        parts = [f"{stats.spans} spans ({runs}) from {stats.lines} events"]
        if result.skipped:
            parts.append(f"{result.skipped} bad lines skipped")
        if args.output is not None:
            parts.append(f"wrote {result.written} spans to {args.output}")
        if ship is not None:
            parts.append(ship.summary())
        print("otel-jsonl: convert: " + "; ".join(parts), file=sys.stderr)
    if ship is not None and not ship.ok:
        reason = f": {ship.last_error}" if ship.last_error else ""
        print(
            f"otel-jsonl: error: {ship.spans_failed} of "
            f"{ship.spans_failed + ship.spans_sent} spans could not be sent to "
            f"{ship.endpoint}{reason}",
            file=sys.stderr,
        )
    return EXIT_OK if result.ok else EXIT_DATA


# -- import --------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import OTLP JSON lines files into the event schema."""
    from ..otel.files import import_files
    from ..otel.otlp_json import OtlpFormatError, read_otlp_json

    with ExitStack() as stack:
        paths = _spooled(list(args.files), stack) if args.strict else list(args.files)
        for path, name in zip(paths, args.files, strict=True):
            check_readable(path)
            if args.strict:
                try:
                    with open(path, "rb") as check:
                        for _ in read_otlp_json(check, name=name, strict=True):
                            pass
                except OtlpFormatError as exc:
                    raise CliError(f"{exc} (--strict: nothing imported)") from None
                except OSError as exc:
                    raise CliError(f"{name}: {exc.strerror or exc}") from None
        sources: list[tuple[str, IO[bytes]]] = []
        for path, name in zip(paths, args.files, strict=True):
            try:
                stream = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
            except OSError as exc:
                raise CliError(f"{name}: {exc.strerror or exc}") from None
            sources.append((name if name != "-" else "<stdin>", stream))
        output: Any = sys.stdout.buffer if args.output == "-" else args.output
        try:
            result = import_files(sources, output, on_problem=lambda m: print(m, file=sys.stderr))
        except (OtelJsonlError, OSError) as exc:
            raise CliError(str(exc)) from None
    if not args.quiet:
        bad = len(result.problems)
        extra = f"; {bad} bad lines skipped" if bad else ""
        print(f"otel-jsonl: import: {result.spans} spans to {args.output}{extra}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_DATA

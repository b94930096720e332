"""``ship``: follow trace files (and their rotated sets) and send their spans to an OTLP
endpoint, resuming from a checkpoint."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from .backend import (
    ENV_NOTE,
    _positive_int,
    _seconds,
    add_preset_args,
    add_transport_args,
    make_shippers,
    resolve_destination_preset,
)
from .common import EXIT_DATA, EXIT_OK, EXIT_USAGE, CliError

if TYPE_CHECKING:  # pragma: no cover
    from ..otel.presets import Preset
    from ..otel.ship import Shipper
    from ..otel.ship_files import FileShipper, ShipStatus


def register(sub: Any, only: str | None = None) -> None:
    """Add ``ship`` to the sub-command parser. (``only`` names it or is None.)"""
    p = sub.add_parser(
        "ship",
        help="follow trace files and send their spans to an OTLP endpoint, with a checkpoint",
        description="Send the spans of each PATH (an active trace file, with its rotated files "
        "read first, oldest first; or a rotated file, .gz or not, on its own) to an OTLP "
        "endpoint in bounded batches. With --follow, keep "
        "following the files as they grow and rotate (like tail -F) until stopped (SIGTERM or "
        "Ctrl-C). With --checkpoint, record what the backend accepted and resume there after "
        "a restart or a crash: nothing is lost, and spans sent again keep their ids. A backend "
        "that is down is retried with backoff while the file waits. " + ENV_NOTE,
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="active trace file (its set), or a rotated file"
    )
    add_transport_args(p)
    add_preset_args(p)
    p.add_argument("-f", "--follow", action="store_true", help="keep following the files")
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where progress is recorded and resumed from (0600, written atomically)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=512,
        metavar="N",
        help="spans per request at most (default 512)",
    )
    p.add_argument(
        "--flush-interval",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="send a batch that is not full after this long (default 1)",
    )
    p.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="close a run with no final after this long without a line (default 300)",
    )
    p.add_argument(
        "--poll-interval",
        type=_seconds,
        default=0.1,
        metavar="SECONDS",
        help="look for new lines this often when caught up (default 0.1)",
    )
    p.add_argument(
        "--max-backoff",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="longest wait between tries while the backend is down (default 30)",
    )
    p.add_argument(
        "--status",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="print a progress line this often when stderr is not a terminal (default 60; "
        "0 = never); on a terminal the line is kept up to date",
    )
    p.add_argument(
        "--no-logs",
        action="store_true",
        help="do not send the records of log lines (default: to the logs endpoint, when the "
        "backend takes log records)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary line")
    p.set_defaults(func=cmd_ship)


def cmd_ship(args: argparse.Namespace) -> int:
    """Ship trace files to an OTLP endpoint, following them with --follow."""
    from ..otel.checkpoint import CheckpointBusyError
    from ..otel.ship import RetryPolicy
    from ..read.follow import followed_files

    for path in args.paths:
        if path == "-":
            raise CliError("ship reads files, not stdin", EXIT_USAGE)
        if os.path.isdir(path):
            raise CliError(f"{path}: is a directory (give the active trace file)", EXIT_USAGE)
        if not args.follow and not followed_files(path):
            # With --follow the file may come later; without, nothing would be sent.
            raise CliError(f"{path}: no such file")
    if args.checkpoint is not None and os.path.isdir(args.checkpoint):
        raise CliError(f"{args.checkpoint}: is a directory", EXIT_USAGE)
    # Retries are the loop's own (interruptible, forever with --follow); one try per send.
    args.retries, args.retry_backoff, args.retry_max_time = 0, 1.0, 0.0
    preset = resolve_destination_preset(args)
    shipper, log_shipper = make_shippers(args, preset)
    for each in (shipper, log_shipper):
        if each is not None:
            each.retry = RetryPolicy(attempts=1)
    printer = _Printer(args.quiet, args.status)
    runner = _runner(args, shipper, log_shipper, printer, preset)
    previous = signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    interrupted = False
    try:
        status = runner.run()
    except CheckpointBusyError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        interrupted = True
        runner.stop()
        status = runner.status
    finally:
        signal.signal(signal.SIGTERM, previous)
        shipper.close()
        if log_shipper is not None:
            log_shipper.close()
    printer.end(status)
    if interrupted:
        raise KeyboardInterrupt
    if status.waiting:
        reason = f": {status.last_error}" if status.last_error else ""
        print(
            f"otel-jsonl: error: {status.waiting} spans could not be sent to "
            f"{shipper.report.endpoint}{reason}"
            + (" (the checkpoint keeps the place)" if args.checkpoint else ""),
            file=sys.stderr,
        )
        return EXIT_DATA
    return EXIT_DATA if status.bad_lines else EXIT_OK


class _Printer:
    """Progress on stderr: one line kept up to date on a terminal, else a line per status
    interval; problems on lines of their own."""

    def __init__(self, quiet: bool, every: float) -> None:
        self.quiet = quiet
        self.every = every
        self.tty = _isatty()
        self.width = 0

    def status(self, status: ShipStatus) -> None:
        if self.quiet:
            return
        text = "otel-jsonl: ship: " + status.line()
        if self.tty:
            sys.stderr.write("\r" + text.ljust(self.width))
            sys.stderr.flush()
            self.width = len(text)
        elif self.every:
            print(text, file=sys.stderr, flush=True)

    def problem(self, message: str) -> None:
        if self.tty and self.width:
            sys.stderr.write("\n")
            self.width = 0
        print(message, file=sys.stderr, flush=True)

    def end(self, status: ShipStatus) -> None:
        if self.tty and self.width:
            sys.stderr.write("\n")
        if not self.quiet:
            print("otel-jsonl: ship: " + status.line(), file=sys.stderr)


def _runner(
    args: argparse.Namespace,
    shipper: Shipper,
    log_shipper: Shipper | None,
    printer: _Printer,
    preset: Preset,
) -> FileShipper:
    from ..otel.ids import default_resource
    from ..otel.ship_files import FileShipper

    base = {"service.name": args.service_name} if args.service_name else None
    try:
        return FileShipper(
            args.paths,
            shipper,
            checkpoint=args.checkpoint,
            follow=args.follow,
            batch_size=args.batch_size,
            flush_interval=args.flush_interval,
            idle_timeout=args.idle_timeout,
            poll_interval=args.poll_interval,
            max_backoff=args.max_backoff,
            status_interval=(1.0 if printer.tty else args.status) or float("inf"),
            resource=default_resource(base),
            resource_attrs={**preset.resource_attrs, **dict(args.resource_attr)} or None,
            transform=preset.transform,
            log_shipper=log_shipper,
            on_status=printer.status,
            on_problem=printer.problem,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False

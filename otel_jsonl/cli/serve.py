"""``serve``: a local OTLP receiver that writes what arrives as trace lines."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from .common import EXIT_OK, EXIT_USAGE, CliError

if TYPE_CHECKING:  # pragma: no cover
    from ..otel.receiver import Receiver

ENV_TOKEN = "OTEL_JSONL_SERVE_TOKEN"


def _address(text: str) -> tuple[str, int] | None:
    from ..otel.receiver import parse_address

    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = _bytes(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(sub: Any, only: str | None = None) -> None:
    """Add ``serve`` to the sub-command parser. (``only`` names it or is None.)"""
    p = sub.add_parser(
        "serve",
        help="receive OTLP (HTTP and gRPC) from any app and write it as trace lines",
        description="Listen for OTLP spans and log records (OTLP/HTTP protobuf or JSON, "
        "OTLP/gRPC) and write them to FILE exactly as the in-process exporters would. Point "
        "any SDK at it: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318. Metrics are "
        "accepted and dropped. SIGINT or SIGTERM stops it after everything received is "
        "written (exit 0). Listens on loopback only unless --token or --insecure-listen.",
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="trace file (- for stdout)"
    )
    p.add_argument(
        "--http",
        type=_address,
        default="127.0.0.1:4318",
        metavar="HOST:PORT",
        help="OTLP/HTTP address (default 127.0.0.1:4318; none = off; port 0 = any free port)",
    )
    p.add_argument(
        "--grpc",
        type=_address,
        default="127.0.0.1:4317",
        metavar="HOST:PORT",
        help="OTLP/gRPC address (default 127.0.0.1:4317; none = off)",
    )
    p.add_argument(
        "--token",
        default=None,
        help=f"require 'Authorization: Bearer TOKEN' on every request (default: ${ENV_TOKEN})",
    )
    p.add_argument(
        "--insecure-listen",
        action="store_true",
        help="allow a non-loopback address without a token",
    )
    p.add_argument(
        "--max-body",
        type=_positive,
        default=None,
        metavar="BYTES",
        help="largest request body, also after decompression (default 16 MiB)",
    )
    p.add_argument(
        "--queue",
        type=_positive,
        default=None,
        metavar="N",
        help="spans and log records that may wait for the writer; past it senders get "
        "429 / RESOURCE_EXHAUSTED and retry (default 20000)",
    )
    p.add_argument(
        "--cap",
        type=_bytes,
        default=None,
        metavar="BYTES",
        help="cap per string value (default $OTEL_JSONL_CAP or 4096; 0 = off)",
    )
    p.add_argument("--blob-dir", default=None, metavar="DIR", help="where capped values go")
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="do not redact secrets (default $OTEL_JSONL_REDACT or on)",
    )
    rot = p.add_argument_group(
        "rotation",
        "rotate the output file (default: the OTEL_JSONL_ROTATE_* variables, else never)",
    )
    rot.add_argument(
        "--rotate-mb", type=float, default=None, metavar="MB", help="rotate past this size"
    )
    rot.add_argument("--rotate-daily", action="store_true", help="rotate at each new day (UTC)")
    rot.add_argument(
        "--keep", type=int, default=0, metavar="N", help="keep N rotated files (0 = all)"
    )
    rot.add_argument(
        "--keep-days",
        type=float,
        default=0.0,
        metavar="D",
        help="delete rotated files after D days",
    )
    rot.add_argument("--gzip", action="store_true", help="gzip rotated files")
    p.set_defaults(func=run)


def _rotation(args: argparse.Namespace) -> Any:
    """The rotation policy the flags ask for, or None when they ask for none."""
    from ..record.rotate import RotationPolicy

    if args.rotate_mb is None and not args.rotate_daily:
        if args.keep or args.keep_days or args.gzip:
            raise CliError("--keep, --keep-days and --gzip need --rotate-mb or --rotate-daily", 2)
        return None
    if args.rotate_mb is not None and not args.rotate_mb > 0:
        raise CliError("--rotate-mb must be a size > 0", 2)
    return RotationPolicy(
        max_bytes=int((args.rotate_mb or 0) * 1024 * 1024),
        daily=args.rotate_daily,
        keep_files=args.keep,
        keep_days=args.keep_days,
        compress=args.gzip,
    )


def _listening(receiver: Receiver, output: str) -> str:
    parts = [f"otel-jsonl serve: writing {'stdout' if output == '-' else output}"]
    if receiver.http_address is not None:
        host, port = receiver.http_address
        shown = f"[{host}]" if ":" in host else host
        parts.append(f"OTLP/HTTP on http://{shown}:{port}")
    if receiver.grpc_address is not None:
        host, port = receiver.grpc_address
        parts.append(f"OTLP/gRPC on {host}:{port}")
    return "; ".join(parts) + " (Ctrl-C to stop)"


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; print where it listens and, at the end, what it wrote."""
    from ..otel.exporter import options_from_env
    from ..otel.receiver import DEFAULT_MAX_BODY, DEFAULT_QUEUE, Receiver, serve

    overrides: dict[str, Any] = {}
    if args.cap is not None:
        overrides["cap"] = args.cap
    if args.blob_dir is not None:
        overrides["blob_dir"] = args.blob_dir
    if args.no_redact:
        overrides["redact"] = False
    rotation = _rotation(args)
    if rotation is not None:
        if args.output == "-":
            raise CliError("rotation needs an output file, not stdout", EXIT_USAGE)
        overrides["rotate"] = rotation
    token = args.token if args.token is not None else os.environ.get(ENV_TOKEN) or None
    try:
        options = options_from_env(**overrides)
        receiver = Receiver(
            None if args.output == "-" else args.output,
            stream=sys.stdout.buffer if args.output == "-" else None,
            http=args.http,
            grpc=args.grpc,
            token=token,
            insecure_listen=args.insecure_listen,
            max_body=args.max_body or DEFAULT_MAX_BODY,
            queue_size=args.queue or DEFAULT_QUEUE,
            on_note=lambda text: print(text, file=sys.stderr, flush=True),
            options=options,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(str(exc)) from None

    def ready(r: Receiver) -> None:
        print(_listening(r, args.output), file=sys.stderr, flush=True)

    try:
        stats = serve(receiver, on_ready=ready)
    except OSError as exc:
        raise CliError(f"cannot listen: {exc}") from None
    print(f"otel-jsonl serve: stopped; {stats.summary()}", file=sys.stderr, flush=True)
    return EXIT_OK

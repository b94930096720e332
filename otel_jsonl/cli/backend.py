"""What ``convert`` and ``ship`` share: the OTLP transport options, the ``--to`` presets, and
the shippers they build (spans, and log records when the backend takes them)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .common import EXIT_USAGE, CliError

if TYPE_CHECKING:  # pragma: no cover
    from ..otel.presets import Preset
    from ..otel.ship import Shipper

__all__ = [
    "ENV_NOTE",
    "add_preset_args",
    "add_transport_args",
    "make_shippers",
    "resolve_destination_preset",
]

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


def add_transport_args(p: argparse.ArgumentParser) -> None:
    """The OTLP transport options (as ``convert`` has them)."""
    p.add_argument(
        "--endpoint",
        metavar="URL",
        help="OTLP endpoint (HTTP: /v1/traces is added to a bare URL)",
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
        help="resource attribute added to every span, repeatable",
    )


def add_preset_args(p: argparse.ArgumentParser) -> None:
    """``--to`` and the options of its presets (as ``convert`` and ``ship`` have them)."""
    p.add_argument(
        "--to",
        choices=("otlp", "phoenix", "langfuse"),
        default=None,
        help="send to this backend, set up from its own variables (otlp: OTEL_EXPORTER_OTLP_*; "
        "phoenix: PHOENIX_COLLECTOR_ENDPOINT, PHOENIX_API_KEY, PHOENIX_PROJECT_NAME; langfuse: "
        "LANGFUSE_BASE_URL or LANGFUSE_HOST, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY)",
    )
    p.add_argument(
        "--project", metavar="NAME", help="--to phoenix: the project (default PHOENIX_PROJECT_NAME)"
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="--to langfuse: a tag on every trace, repeatable",
    )
    p.add_argument("--user", metavar="ID", help="--to langfuse: the user of every trace")


def resolve_destination_preset(args: argparse.Namespace) -> Preset:
    """The ``--to`` preset the arguments ask for (``otlp`` without one); usage errors are
    :class:`CliError`."""
    from ..otel.presets import resolve_preset

    if args.project is not None and args.to != "phoenix":
        raise CliError("--project goes with --to phoenix", EXIT_USAGE)
    if (args.tag or args.user) and args.to != "langfuse":
        raise CliError("--tag and --user go with --to langfuse", EXIT_USAGE)
    try:
        return resolve_preset(
            args.to or "otlp",
            endpoint=args.endpoint,
            protocol=args.protocol,
            project=args.project,
            tags=args.tag,
            user=args.user,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def make_shippers(args: argparse.Namespace, preset: Preset) -> tuple[Shipper, Shipper | None]:
    """The span shipper, and the log shipper when log records go to the backend too."""
    from ..otel.ship import (
        Attempts,
        RetryPolicy,
        Shipper,
        logs_endpoint_for,
        make_log_exporter,
        make_span_exporter,
        resolve_endpoint,
        resolve_protocol,
    )

    headers = {**preset.headers, **dict(args.header)} or None
    options: dict[str, Any] = {
        "headers": headers,
        "compression": args.compression,
        "timeout": args.timeout,
        "certificate": args.certificate,
        "client_key": args.client_key,
        "client_certificate": args.client_certificate,
        "insecure": args.insecure,
    }
    try:
        protocol = resolve_protocol(preset.protocol or args.protocol)
        endpoint = resolve_endpoint(preset.endpoint, protocol)
        attempts = Attempts()
        exporter = make_span_exporter(
            preset.endpoint, protocol=protocol, attempts=attempts, **options
        )
        log_exporter = None
        if preset.send_logs and not args.no_logs:
            logs_endpoint = logs_endpoint_for(endpoint, protocol)
            log_attempts = Attempts() if protocol != "grpc" else None
            log_exporter = make_log_exporter(
                logs_endpoint, protocol=protocol, attempts=log_attempts, **options
            )
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot set up the OTLP exporter: {exc}", EXIT_USAGE) from None
    retry = RetryPolicy(
        attempts=args.retries + 1,
        initial_backoff=args.retry_backoff,
        max_time=args.retry_max_time,
    )

    def notify(message: str) -> None:
        if not getattr(args, "quiet", False):
            print(f"otel-jsonl: {args.command}: {message}", file=sys.stderr, flush=True)

    spans = Shipper(
        exporter,
        endpoint=endpoint,
        batch_size=args.batch_size,
        retry=retry,
        attempts=attempts,
        notify=notify,
    )
    logs = None
    if log_exporter is not None:
        logs = Shipper(
            log_exporter,
            endpoint=logs_endpoint,
            unit="log records",
            batch_size=args.batch_size,
            retry=retry,
            attempts=log_attempts,
            notify=notify,
        )
    return spans, logs

"""Shipping spans (and log records) to an OTLP endpoint through the SDK's OTLP exporters.

Bounded batches go to the SDK's OTLP/HTTP-protobuf or OTLP/gRPC exporter (which reads the
``OTEL_EXPORTER_OTLP_*`` variables for whatever is not given). Over HTTP a recording session
(:mod:`otel_jsonl.otel.transport`) tells the shipper what each request met, so: a refused
connection is said at once as such; a 413 halves the batch until the parts fit; a 429/503 is
re-sent after its ``Retry-After``; everything else transient is retried with exponential
backoff, bounded in attempts and time. A backend that refuses the credentials (HTTP
401/403, gRPC UNAUTHENTICATED / PERMISSION_DENIED) is not retried: a wrong key stays wrong.
The SDK's log messages are captured, not printed.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace.export import SpanExporter

from .shipper import RetryPolicy, Shipper, ShipReport
from .transport import Attempts, RecordingSession

__all__ = [
    "PROTOCOLS",
    "Attempts",
    "RetryPolicy",
    "ShipReport",
    "Shipper",
    "logs_endpoint_for",
    "make_log_exporter",
    "make_span_exporter",
    "resolve_endpoint",
    "resolve_protocol",
]

PROTOCOLS = ("http/protobuf", "grpc")


def resolve_protocol(protocol: str | None = None) -> str:
    """The OTLP protocol: ``protocol``, else ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``, else
    ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``http/protobuf``."""
    value = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if value not in PROTOCOLS:
        raise ValueError(f"unsupported OTLP protocol {value!r} (use one of {', '.join(PROTOCOLS)})")
    return value


def resolve_endpoint(endpoint: str | None, protocol: str) -> str:
    """The URL spans go to. An explicit HTTP endpoint with no path gets ``/v1/traces``;
    without one, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (as it is) or
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (plus ``/v1/traces`` over HTTP), else the default
    ``http://localhost:4318/v1/traces`` (HTTP) or ``http://localhost:4317`` (gRPC)."""
    if endpoint is None:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if endpoint:
            return endpoint
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not base:
            return (
                "http://localhost:4318/v1/traces" if protocol != "grpc" else "http://localhost:4317"
            )
        if protocol == "grpc":
            return base
        return base.rstrip("/") + "/v1/traces"
    if protocol != "grpc":
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.path in ("", "/"):
            return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def _env_headers() -> dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    return dict(parse_env_headers(raw, liberal=True)) if raw else {}


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def _grpc_credentials(
    certificate: str | None, client_key: str | None, client_certificate: str | None
) -> Any:
    """TLS channel credentials from PEM files (None: the exporter's own defaults). A file not
    given as an option comes from its ``OTEL_EXPORTER_OTLP_(TRACES_)*`` variable, so a client
    certificate given alone is not dropped."""
    if certificate is None and client_key is None and client_certificate is None:
        return None
    import grpc  # type: ignore[import-untyped,unused-ignore]

    def env(name: str) -> str | None:
        return os.environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or os.environ.get(
            f"OTEL_EXPORTER_OTLP_{name}"
        )

    certificate = certificate or env("CERTIFICATE")
    client_key = client_key or env("CLIENT_KEY")
    client_certificate = client_certificate or env("CLIENT_CERTIFICATE")

    return grpc.ssl_channel_credentials(
        _read_file(certificate), _read_file(client_key), _read_file(client_certificate)
    )


def make_span_exporter(
    endpoint: str | None = None,
    *,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    timeout: float | None = None,
    certificate: str | None = None,
    client_key: str | None = None,
    client_certificate: str | None = None,
    insecure: bool | None = None,
    attempts: Attempts | None = None,
) -> SpanExporter:
    """The SDK's OTLP span exporter for ``protocol`` (see :func:`resolve_protocol`).

    Anything left as None is read by the SDK exporter from the ``OTEL_EXPORTER_OTLP_*``
    variables (endpoint, compression, timeout, certificate, client key and certificate);
    ``headers`` are added to those of ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``.
    ``compression`` is ``gzip`` or ``none``. ``attempts``, shared with a :class:`Shipper`, lets
    it see what each request met (see :mod:`otel_jsonl.otel.transport`). A certificate or
    key file that does not exist raises ValueError here, before anything is sent.
    """
    _check_files(certificate=certificate, client_key=client_key, client_cert=client_certificate)
    proto = resolve_protocol(protocol)
    url = resolve_endpoint(endpoint, proto) if endpoint is not None else None
    if proto == "grpc" and attempts is not None:
        _probe_grpc(attempts, resolve_endpoint(endpoint, proto), timeout)
    exporter: SpanExporter = _otlp_exporter(
        "traces",
        url,
        proto=proto,
        headers=headers,
        compression=compression,
        timeout=timeout,
        tls=(certificate, client_key, client_certificate),
        insecure=insecure,
        attempts=attempts,
    )
    return exporter


def _otlp_exporter(
    signal: str,
    url: str | None,
    *,
    proto: str,
    headers: Mapping[str, str] | None,
    compression: str | None,
    timeout: float | None,
    tls: tuple[str | None, str | None, str | None],
    insecure: bool | None,
    attempts: Attempts | None,
) -> Any:
    """The SDK's OTLP exporter of ``signal`` (``traces`` or ``logs``) over ``proto``."""
    merged = {**_env_headers(), **(headers or {})} if headers else None
    if compression is not None and compression not in ("gzip", "none"):
        raise ValueError(f"unsupported compression {compression!r} (use gzip or none)")
    certificate, client_key, client_certificate = tls
    if proto == "grpc":
        import grpc  # type: ignore[import-untyped,unused-ignore]
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        gcomp = None
        if compression is not None:
            gcomp = (
                grpc.Compression.Gzip if compression == "gzip" else grpc.Compression.NoCompression
            )
        grpc_cls: Any = OTLPSpanExporter if signal == "traces" else OTLPLogExporter
        return grpc_cls(
            endpoint=url,
            insecure=insecure,
            credentials=_grpc_credentials(certificate, client_key, client_certificate),
            headers=merged,
            timeout=timeout,
            compression=gcomp,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    hcomp = None
    if compression is not None:
        hcomp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
    http_cls: Any = HttpSpanExporter if signal == "traces" else HttpLogExporter
    return http_cls(
        endpoint=url,
        certificate_file=certificate,
        client_key_file=client_key,
        client_certificate_file=client_certificate,
        headers=merged,
        timeout=timeout,
        compression=hcomp,
        session=_recording_session(attempts, timeout),
    )


def _recording_session(attempts: Attempts | None, timeout: float | None) -> Any:
    """The session that tells the shipper what each request met (None: the SDK's own)."""
    if attempts is None or os.environ.get(_CREDENTIAL_PROVIDER_ENV):
        return None
    attempts.timeout = timeout or _env_timeout()
    return RecordingSession(attempts)


def _check_files(**paths: str | None) -> None:
    """Each TLS file, given or named by its variable, must exist: a missing one would fail
    every request, and be retried as if the backend were down."""
    for what, path in paths.items():
        name = {"client_cert": "CLIENT_CERTIFICATE"}.get(what, what.upper())
        label = what.replace("_", " ") + " file"
        for var in (f"OTEL_EXPORTER_OTLP_TRACES_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
            if path is None and os.environ.get(var):
                path, label = os.environ[var], f"{var}:"
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{label} {path}: no such file")


def _probe_grpc(attempts: Attempts, url: str, timeout: float | None) -> None:
    """Let the shipper check that something listens at a gRPC endpoint before each attempt."""
    target = urllib.parse.urlsplit(url if "//" in url else f"//{url}")
    if target.hostname:
        attempts.probe_address = (target.hostname, target.port or 4317)
    attempts.timeout = timeout or _env_timeout()


#: The SDK's own variable for a session factory; when it is set, its session is used.
_CREDENTIAL_PROVIDER_ENV = "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER"


def _env_timeout() -> float:
    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    try:
        return float(raw) if raw else 10.0
    except ValueError:
        return 10.0


def logs_endpoint_for(traces_endpoint: str, protocol: str) -> str:
    """The logs URL beside a traces URL: ``.../v1/traces`` becomes ``.../v1/logs`` over HTTP
    (``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` wins when set); gRPC uses the same address."""
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
    if explicit:
        return explicit
    if protocol == "grpc":
        return traces_endpoint
    parsed = urllib.parse.urlsplit(traces_endpoint)
    path = parsed.path
    if path.endswith("/v1/traces"):
        path = path[: -len("/v1/traces")] + "/v1/logs"
    else:
        path = path.rstrip("/") + "/v1/logs"
    return urllib.parse.urlunsplit(parsed._replace(path=path))


def make_log_exporter(
    endpoint: str,
    *,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    compression: str | None = None,
    timeout: float | None = None,
    certificate: str | None = None,
    client_key: str | None = None,
    client_certificate: str | None = None,
    insecure: bool | None = None,
    attempts: Attempts | None = None,
) -> LogRecordExporter:
    """The SDK's OTLP log exporter (HTTP/protobuf to ``endpoint`` as given, e.g. from
    :func:`logs_endpoint_for`, or gRPC's LogsService), with the same options as
    :func:`make_span_exporter` (``attempts`` over HTTP only)."""
    _check_files(certificate=certificate, client_key=client_key, client_cert=client_certificate)
    exporter: LogRecordExporter = _otlp_exporter(
        "logs",
        endpoint,
        proto=resolve_protocol(protocol),
        headers=headers,
        compression=compression,
        timeout=timeout,
        tls=(certificate, client_key, client_certificate),
        insecure=insecure,
        attempts=attempts,
    )
    return exporter

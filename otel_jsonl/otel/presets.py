"""Where ``convert --to NAME`` sends spans: the endpoint, protocol, headers and resource
attributes of the backends users name, read from the variables their own SDKs read.

- ``otlp``: any OTLP endpoint (``--endpoint`` or the ``OTEL_EXPORTER_OTLP_*`` variables); log
  records go to its logs endpoint too.
- ``phoenix``: ``PHOENIX_COLLECTOR_ENDPOINT`` (default ``http://localhost:6006``) plus
  ``/v1/traces``, HTTP/protobuf; ``PHOENIX_CLIENT_HEADERS`` (``k=v,...``) and
  ``PHOENIX_API_KEY`` as a bearer token; the project from
  ``--project`` or ``PHOENIX_PROJECT_NAME`` as the ``openinference.project.name`` resource
  attribute. Phoenix reads traces only: log content is folded onto the chat spans.
- ``langfuse``: ``{LANGFUSE_BASE_URL or LANGFUSE_HOST}/api/public/otel/v1/traces`` (default
  host ``https://cloud.langfuse.com``), HTTP/protobuf only, HTTP Basic auth with
  ``LANGFUSE_PUBLIC_KEY`` as user and ``LANGFUSE_SECRET_KEY`` as password; each span also gets
  the ``langfuse.*`` attributes Langfuse maps (:mod:`otel_jsonl.genai.langfuse`). Traces only,
  so log content is folded.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from ..genai.langfuse import langfuse_attributes
from .mapping import replace_span

__all__ = ["PRESETS", "Preset", "resolve_preset"]

PRESETS = ("otlp", "phoenix", "langfuse")
PHOENIX_DEFAULT = "http://localhost:6006"
LANGFUSE_DEFAULT = "https://cloud.langfuse.com"
_PROJECT_ATTR = "openinference.project.name"


@dataclass
class Preset:
    """What ``--to NAME`` resolves to. ``endpoint`` None means the OTLP variables decide;
    ``protocol`` None means ``--protocol`` or the variables; ``send_logs`` says whether the
    backend takes log records; ``fold`` whether log content is folded onto spans by default;
    ``credentials`` names what to check when the backend refuses them; ``transform`` rewrites
    each span before it is sent."""

    name: str
    endpoint: str | None = None
    protocol: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resource_attrs: dict[str, str] = field(default_factory=dict)
    send_logs: bool = True
    fold: bool = True
    credentials: str = ""
    transform: Callable[[ReadableSpan], ReadableSpan] | None = None


def _parse_headers(raw: str) -> dict[str, str]:
    """``key=value,key2=value2`` (the OTLP headers format, URL-encoded values)."""
    out: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[key.strip().lower()] = urllib.parse.unquote(value.strip())
    return out


def _with_path(base: str, path: str) -> str:
    parsed = urllib.parse.urlsplit(base)
    if parsed.path.rstrip("/").endswith(path.rstrip("/")):
        return base
    return base.rstrip("/") + path


def _langfuse_transform(
    tags: Sequence[str], user: str | None
) -> Callable[[ReadableSpan], ReadableSpan]:
    def transform(span: ReadableSpan) -> ReadableSpan:
        status = span.status
        error = (
            (status.description or "")
            if status is not None and status.status_code is StatusCode.ERROR
            else None
        )
        run = format(span.context.trace_id, "032x") if span.context is not None else None
        extra = langfuse_attributes(
            span.attributes or {},
            root=span.parent is None,
            name=span.name,
            error=error,
            run=run,
            tags=tags,
            user=user,
        )
        return replace_span(span, attributes=extra) if extra else span

    return transform


def resolve_preset(
    name: str,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    project: str | None = None,
    tags: Sequence[str] = (),
    user: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Preset:
    """The :class:`Preset` for ``--to name``. ``endpoint`` (``--endpoint``) overrides the
    preset's URL. Raises ValueError for an unknown name, missing credentials, or a protocol
    the backend does not speak."""
    env = os.environ if environ is None else environ
    if name == "otlp":
        return Preset("otlp", endpoint=endpoint, protocol=protocol, fold=True)
    if name == "phoenix":
        base = endpoint or env.get("PHOENIX_COLLECTOR_ENDPOINT") or PHOENIX_DEFAULT
        if protocol == "grpc":
            raise ValueError("--to phoenix sends over HTTP/protobuf; leave --protocol out")
        headers = _parse_headers(env.get("PHOENIX_CLIENT_HEADERS", ""))
        key = env.get("PHOENIX_API_KEY")
        if key:
            headers["authorization"] = f"Bearer {key}"
        chosen = project or env.get("PHOENIX_PROJECT_NAME")
        attrs = {_PROJECT_ATTR: chosen} if chosen else {}
        return Preset(
            "phoenix",
            endpoint=_with_path(base, "/v1/traces"),
            protocol="http/protobuf",
            headers=headers,
            resource_attrs=attrs,
            send_logs=False,
            credentials="PHOENIX_API_KEY",
        )
    if name == "langfuse":
        if protocol == "grpc":
            raise ValueError("Langfuse takes OTLP over HTTP/protobuf only (no gRPC)")
        public = env.get("LANGFUSE_PUBLIC_KEY")
        secret = env.get("LANGFUSE_SECRET_KEY")
        if not public or not secret:
            raise ValueError("--to langfuse needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")
        host = endpoint or env.get("LANGFUSE_BASE_URL") or env.get("LANGFUSE_HOST")
        url = _with_path(host or LANGFUSE_DEFAULT, "/api/public/otel/v1/traces")
        token = base64.b64encode(f"{public}:{secret}".encode()).decode("ascii")
        return Preset(
            "langfuse",
            endpoint=url,
            protocol="http/protobuf",
            headers={"authorization": f"Basic {token}"},
            send_logs=False,
            credentials="LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY",
            transform=_langfuse_transform(tags, user),
        )
    raise ValueError(f"unknown --to {name!r} (choose one of {', '.join(PRESETS)})")

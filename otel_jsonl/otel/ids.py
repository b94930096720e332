"""Deterministic ids for spans built from recorder lines, and their default resource.

Converting or shipping a file twice gives the same spans, so a re-ship does not create a second
copy of a trace: the trace id is the first 16 bytes of ``sha256("otel-jsonl/v1\\0trace\\0" +
run)`` (or ``run`` itself when it is 32 hex, as the exporter's runs are); a step's span id the
first 8 bytes of ``sha256("otel-jsonl/v1\\0span\\0" + run + "\\0s" + seq)`` (``"\\0n" +
position`` when the line has no ``seq``); the root's ``sha256("otel-jsonl/v1\\0root\\0" + run)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import OTELResourceDetector, Resource

__all__ = [
    "default_resource",
    "is_hex_id",
    "root_span_id",
    "span_id_for_step",
    "step_ids",
    "step_key",
    "step_span_id",
    "trace_id_for_run",
]

_NS = b"otel-jsonl/v1\0"
_SPAN = _NS + b"span\0"
_HEX = frozenset("0123456789abcdef")


def _digest(*parts: str) -> bytes:
    return hashlib.sha256(_NS + "\0".join(parts).encode("utf-8", "surrogatepass")).digest()


def _nonzero(value: int) -> int:
    # An all-zero id is invalid in OTLP; sha256 makes it vanishingly unlikely, but be exact.
    return value or 1


def is_hex_id(text: str, n: int) -> bool:
    return len(text) == n and set(text) <= _HEX and text != "0" * n


def trace_id_for_run(run: str) -> int:
    """The trace id of a run whose lines carry none: ``run`` itself when it is 32 lowercase hex
    (the exporter's runs), else the first 16 bytes of a namespaced sha256 of ``run``."""
    if is_hex_id(run, 32):
        return int(run, 16)
    return _nonzero(int.from_bytes(_digest("trace", run)[:16], "big"))


def span_id_for_step(run: str, seq: int | None = None, position: int = 0) -> int:
    """The span id of a step: from run and ``seq``, or run and ``position`` when no ``seq``."""
    return step_span_id(step_key(run), seq, position)


def step_key(run: str) -> bytes:
    """What the span ids of a run's steps are hashed from, before the step's own part (a
    converter keeps it per run: :func:`step_span_id`)."""
    return _SPAN + run.encode("utf-8", "surrogatepass") + b"\0"


def step_span_id(key: bytes, seq: int | None, position: int) -> int:
    """:func:`span_id_for_step` of the run whose :func:`step_key` is ``key``."""
    # _digest("span", run, "s" + seq), inlined: this runs for most lines of a conversion.
    tail = f"s{seq}" if seq is not None else f"n{position}"
    digest = hashlib.sha256(key + tail.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") or 1


def step_ids(
    ev: Mapping[str, Any], run: str, seq: int | None, position: int, root_id: int
) -> tuple[int, int]:
    """A step's span id and parent span id: the line's own (``span_id``, ``parent_id``) when
    they are valid, else :func:`span_id_for_step` and its run's root ``root_id``."""
    sid = ev.get("span_id")
    pid = ev.get("parent_id")
    span_id = int(sid, 16) if isinstance(sid, str) and is_hex_id(sid, 16) else None
    parent_id = int(pid, 16) if isinstance(pid, str) and is_hex_id(pid, 16) else root_id
    return (span_id_for_step(run, seq, position) if span_id is None else span_id), parent_id


def root_span_id(run: str) -> int:
    """The span id of a run's ``invoke_agent`` root span."""
    return _nonzero(int.from_bytes(_digest("root", run)[:8], "big"))


def default_resource(attrs: Mapping[str, Any] | None = None) -> Resource:
    """The resource of spans built from recorder lines: ``service.name`` ``otel-jsonl``,
    overridden by ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, then by ``attrs``."""
    base = Resource({"service.name": "otel-jsonl"}).merge(OTELResourceDetector().detect())
    if attrs:
        base = base.merge(Resource(dict(attrs)))
    return base

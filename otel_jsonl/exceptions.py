"""Exceptions and warnings raised by otel-jsonl, each saying when it is raised.

Telemetry paths (``Trace.step``, ``JsonlSpanExporter.export``) never raise these into the host
program; data paths (reading, validating, converting, replaying, diffing) raise them with the
file and line they concern.
"""

from __future__ import annotations


class OtelJsonlError(Exception):
    """Base class of every error otel-jsonl raises on purpose."""


class TraceFormatError(OtelJsonlError, ValueError):
    """Raised when a trace file holds a line that is not a valid event (in strict reading).

    ``str()`` gives ``path:lineno: reason``, the form every data command prints.
    """

    def __init__(self, path: str, lineno: int, reason: str) -> None:
        self.path = path
        self.lineno = lineno
        self.reason = reason
        super().__init__(f"{path}:{lineno}: {reason}")


class BlobError(OtelJsonlError, ValueError):
    """Raised when a blob reference is malformed, points outside the blob store, is missing, or
    its content does not match its sha256 name."""


class RunNotFoundError(OtelJsonlError, LookupError):
    """Raised when a run, a step, or a unique run is asked for and the file does not have it."""


class MissingInputError(OtelJsonlError, ValueError):
    """Raised by ``replay`` when the run never recorded its input (no ``input`` event and no
    ``input`` on the ``llm_call``), unless ``allow_missing_input=True``."""


class OtelJsonlWarning(UserWarning):
    """Base class of warnings otel-jsonl issues from data paths."""


class TornLineWarning(OtelJsonlWarning):
    """Issued when a trace file ends in a torn line (its writer died mid-write) and no report
    object was given to collect it; the line is skipped."""

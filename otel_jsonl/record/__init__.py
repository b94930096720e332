"""The write side, standard library only: :class:`Trace` (the recorder), the one line writer
and its :class:`WriterOptions`, redaction, the blob store, the JSON codec and rotation.

Nothing here imports OpenTelemetry or any package outside the standard library (orjson is used
when it is installed); a test blocks both and checks. Names are imported on first use, so a
reader that needs only the codec does not load the recorder.
"""

from __future__ import annotations

from .._lazy import lazy_names

TYPE_CHECKING = False  # not typing's: ``import typing`` is a third of the recorder's start-up
if TYPE_CHECKING:  # pragma: no cover
    from .blobs import BlobStore, blob_dir_for
    from .capping import json_pointer
    from .llm_call import llm_call_fields, record_stream
    from .redact import Redactor
    from .rotate import RotatingFile, RotationPolicy
    from .trace import RESERVED_KEYS, Trace, new_run_id
    from .writer import DEFAULT_CAP, FsyncPolicy, LineWriter, WriterOptions

_LAZY = {
    "BlobStore": "blobs",
    "blob_dir_for": "blobs",
    "Redactor": "redact",
    "llm_call_fields": "llm_call",
    "record_stream": "llm_call",
    "RotatingFile": "rotate",
    "RotationPolicy": "rotate",
    "RESERVED_KEYS": "trace",
    "Trace": "trace",
    "new_run_id": "trace",
    "DEFAULT_CAP": "writer",
    "FsyncPolicy": "writer",
    "LineWriter": "writer",
    "WriterOptions": "writer",
    "json_pointer": "capping",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "DEFAULT_CAP",
    "RESERVED_KEYS",
    "BlobStore",
    "FsyncPolicy",
    "LineWriter",
    "Redactor",
    "RotatingFile",
    "RotationPolicy",
    "Trace",
    "WriterOptions",
    "blob_dir_for",
    "json_pointer",
    "llm_call_fields",
    "new_run_id",
    "record_stream",
]

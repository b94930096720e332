"""The write side, standard library only: :class:`Trace` (the recorder), the one line writer
and its :class:`WriterOptions`, redaction, the blob store and the JSON codec.

Nothing here imports OpenTelemetry or any package outside the standard library (orjson is used
when it is installed); a test blocks both and checks.
"""

from __future__ import annotations

from .blobs import BlobStore, blob_dir_for
from .redact import Redactor
from .trace import RESERVED_KEYS, Trace, new_run_id
from .writer import DEFAULT_CAP, FsyncPolicy, LineWriter, WriterOptions, json_pointer

__all__ = [
    "DEFAULT_CAP",
    "RESERVED_KEYS",
    "BlobStore",
    "FsyncPolicy",
    "LineWriter",
    "Redactor",
    "Trace",
    "WriterOptions",
    "blob_dir_for",
    "json_pointer",
    "new_run_id",
]

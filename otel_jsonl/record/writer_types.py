"""The typing forms of the writer's options (``WriterOptionsKw``, ``FsyncPolicy``,
``InsecureDirs``), apart from :mod:`.writer` so that recording does not import ``typing``:
:mod:`.writer` and :mod:`.blobs` re-export them on first use. Standard library only."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:  # pragma: no cover
    from .redact import Redactor
    from .rotate import RotationPolicy

__all__ = ["FsyncPolicy", "InsecureDirs", "WriterOptionsKw"]

#: When a written line is fsynced: never, at close (default), every line, or every N lines.
FsyncPolicy = Literal["never", "close", "line"] | int

#: What to do with an existing directory others may write to: refuse it, or warn and use it.
InsecureDirs = Literal["refuse", "warn"]


class WriterOptionsKw(TypedDict, total=False):
    """The keyword form of :class:`~otel_jsonl.record.writer.WriterOptions`
    (``Trace(path, cap=0, redact=False)``)."""

    cap: int
    blob_dir: str | os.PathLike[str] | None
    redact: bool | Redactor
    redact_patterns: Mapping[str, str] | Iterable[str]
    fsync: FsyncPolicy
    strict: bool
    follow_symlinks: bool
    insecure_dirs: InsecureDirs
    rotate: RotationPolicy | None

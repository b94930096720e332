"""A content-addressed store for capped values: one file per value, named by its sha256.

The store is a flat directory (by default ``blobs/`` next to the trace file). Names are validated
before any path is built, files are opened without following links, and content is checked
against its name on read: a blob reference can never reach outside the store.
Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from ..exceptions import BlobError

__all__ = ["BlobStore", "blob_dir_for"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


def blob_dir_for(trace_path: str | os.PathLike[str]) -> Path:
    """The default blob store of a trace file: ``blobs/`` in the trace's directory."""
    return Path(trace_path).parent / "blobs"


class BlobStore:
    """Content-addressed files under ``root``, created ``0600`` in a ``0700`` directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """The path a blob with this name has in the store; raises BlobError on a bad name."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise BlobError(f"not a sha256 blob name: {sha256!r}")
        return self.root / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: an existing blob is not rewritten) and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A name unique to this process and thread: two writers of the same content must not
        # share a temporary file.
        tmp = self.root / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
        # rename is atomic: a reader never sees half a blob, and two writers of the same
        # content race harmlessly.
        os.replace(tmp, target)
        return digest

    def get(self, sha256: str) -> bytes:
        """Read a blob, refusing links and anything whose content does not match its name."""
        target = self.path_for(sha256)
        flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            root_real = os.path.realpath(self.root)
            if os.path.dirname(os.path.realpath(target)) != root_real:
                raise BlobError(f"blob {sha256} resolves outside the blob store {self.root}")
            fd = os.open(target, flags)
        except FileNotFoundError:
            raise BlobError(f"blob {sha256} is not in the blob store {self.root}") from None
        except OSError as exc:
            raise BlobError(f"blob {sha256} cannot be opened safely: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobError(f"blob {sha256} does not match its content (corrupted or replaced)")
        return data

    def get_text(self, sha256: str) -> str:
        """Read a blob holding a capped string value."""
        return self.get(sha256).decode("utf-8", "replace")

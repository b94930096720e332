"""A content-addressed store for capped values: one file per value, named by its sha256.

The store is a flat directory (by default ``blobs/`` next to the trace file), created ``0700``.
Names are validated before any path is built, files are opened without following links, and
content is checked against its name on read: a blob reference can never reach outside the
store. A blob is written to a temporary file with a random name, opened with ``O_EXCL`` and
``O_NOFOLLOW`` (a link planted in the directory is never written through), then renamed into
place. An existing directory that others may write to (group or other write, no sticky bit) is
refused, or only warned about with ``insecure_dirs="warn"``. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Literal

from ..exceptions import BlobError
from .fileio import write_all

__all__ = ["BlobStore", "InsecureDirs", "blob_dir_for", "check_directory"]

logger = logging.getLogger("otel_jsonl")

#: What to do with an existing directory others may write to: refuse it, or warn and use it.
InsecureDirs = Literal["refuse", "warn"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


def blob_dir_for(trace_path: str | os.PathLike[str]) -> Path:
    """The default blob store of a trace file: ``blobs/`` in the trace's directory."""
    return Path(trace_path).parent / "blobs"


def check_directory(path: Path, what: str, insecure_dirs: InsecureDirs) -> str | None:
    """Check an existing directory the writer puts files in. Return None when it is safe, or
    the warning to give (``insecure_dirs="warn"``); raise PermissionError when it is refused.

    Unsafe means writable by group or others without the sticky bit (a sticky directory such
    as ``/tmp`` keeps others from renaming or deleting what is ours; links planted there are
    not followed anyway). A directory writable by its group only is safe when that group is
    the user's private group (named as the user, no other member), as ``mkdir`` makes them
    under umask 002."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{path} is not a directory")
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o022 or mode & stat.S_ISVTX:
        return None
    if not mode & 0o002 and _private_group(st.st_gid):
        return None  # group-writable, but the group is the user's own (umask 002 systems)
    message = (
        f"the {what} {path} is writable by {'others' if mode & 0o002 else 'its group'} "
        f"(mode {mode:04o}): anyone who may write there could swap files under it"
    )
    if insecure_dirs == "refuse":
        raise PermissionError(
            f"{message}; refusing to write there (chmod go-w it, or pass "
            'insecure_dirs="warn" to write anyway)'
        )
    return message


def _private_group(gid: int) -> bool:
    """True when ``gid`` is the current user's private group: their primary group, named as
    they are, with no other member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    others = [m for m in group.gr_mem if m != user.pw_name]
    return user.pw_gid == gid and group.gr_name == user.pw_name and not others


class BlobStore:
    """Content-addressed files under ``root``, created ``0600`` in a ``0700`` directory.

    ``insecure_dirs`` says what :meth:`put` does with an existing ``root`` that others may
    write to: ``"refuse"`` (raise PermissionError, default) or ``"warn"`` (log once, write)."""

    def __init__(
        self, root: str | os.PathLike[str], *, insecure_dirs: InsecureDirs = "refuse"
    ) -> None:
        self.root = Path(root)
        self.insecure_dirs = insecure_dirs
        self._checked = False

    def path_for(self, sha256: str) -> Path:
        """The path a blob with this name has in the store; raises BlobError on a bad name."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise BlobError(f"not a sha256 blob name: {sha256!r}")
        return self.root / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: an existing blob is not rewritten) and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        self._prepare()
        if os.path.lexists(target):
            return digest
        # A random name, created exclusively and never through a link: a name another user
        # could guess and plant a symlink at would let a capped step overwrite their choice
        # of file.
        tmp = self.root / f".{digest[:16]}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600)
        try:
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            # rename is atomic: a reader never sees half a blob, and two writers of the same
            # content race harmlessly.
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return digest

    def _prepare(self) -> None:
        """Create the store ``0700``, or check an existing one (once per store)."""
        if self._checked:
            return
        if not os.path.lexists(self.root):
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            warning = check_directory(self.root, "blob directory", self.insecure_dirs)
            if warning is not None:
                logger.warning("otel-jsonl: %s", warning)
        self._checked = True

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

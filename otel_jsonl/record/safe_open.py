"""Opening a trace file so that it cannot be hijacked: its directory created ``0700`` or
checked (:func:`~otel_jsonl.record.blobs.check_directory`), the file opened ``O_APPEND`` and
``0600`` without following a link planted at its path (a link to a device or a pipe, such as
``/dev/stdout``, is followed: it cannot redirect the lines into someone's file), and a wider
mode of an existing file noted. Standard library only."""

from __future__ import annotations

import errno
import os
import stat

from .blobs import check_directory

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from .writer_types import InsecureDirs

__all__ = ["open_for_append"]


def open_for_append(
    path: str | os.PathLike[str], follow_symlinks: bool, insecure_dirs: InsecureDirs
) -> tuple[int, os.stat_result, list[tuple[str, str]]]:
    """Open ``path`` for appending: (descriptor, its stat, warnings as (key, message)).
    Raises OSError (PermissionError for a refused link or directory)."""
    warnings: list[tuple[str, str]] = []
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    if not os.path.lexists(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
    else:
        warning = check_directory(parent, "trace directory", insecure_dirs)
        if warning is not None:
            warnings.append(("dir", warning))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    nofollow = 0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | nofollow, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP or not nofollow:
            raise
        # A link. One to a device or a pipe (/dev/stdout) cannot be used to make the recorder
        # append to someone else's file: follow it. One to a file is refused.
        try:
            target = os.stat(path)
        except OSError:
            target = None
        if target is None or stat.S_ISREG(target.st_mode) or stat.S_ISDIR(target.st_mode):
            raise PermissionError(
                errno.ELOOP,
                f"{path} is a symbolic link; not following it (pass follow_symlinks=True to "
                "allow it)",
            ) from None
        fd = os.open(path, flags, 0o600)
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode) and mode & 0o077:
        message = (
            f"the trace file {path} has mode {mode:04o}: others may read the prompts and "
            "tool output it holds (chmod 600 it)"
        )
        warnings.append(("mode", message))
    return fd, st, warnings

"""Writing files whole and aside: :func:`write_all` (``os.write`` may take less than it is
given) and :func:`private_temp` (a file written beside its target and renamed over it, never at
a name someone could guess and plant a link at). Standard library only."""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - pathlib is not imported at run time (start-up cost)
    from pathlib import Path

__all__ = ["private_temp", "write_all"]


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may take less); OSError ``ENOSPC`` when
    the file takes nothing more."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


def private_temp(target: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new file beside ``target``, to be written and renamed over it: a random name, created
    exclusively and never through a link (``O_EXCL | O_NOFOLLOW``), mode ``0600``. Returns its
    descriptor (open for writing) and its path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{os.urandom(8).hex()}{suffix}")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:  # a name already taken (by chance, or planted): another one
            continue

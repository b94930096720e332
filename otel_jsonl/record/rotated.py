"""Names of rotated trace files (the moment of the rotation in the name, so names sort in time
order), listing the rotated files of a set, and compressing one. Standard library only."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .fileio import private_temp

__all__ = ["RotatedFile", "compress_file", "rotated_files", "rotated_name", "rotated_pattern"]

_STAMP = "%Y%m%dT%H%M%S"
_STAMP_RE = r"(\d{8}T\d{6}\.\d{6})(Z?)"


def _split(path: Path) -> tuple[str, str]:
    """(stem, suffix) of an active file: ``agent.jsonl`` -> (``agent``, ``.jsonl``)."""
    name = path.name
    if name.endswith(".gz"):
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + ext


def rotated_name(active: str | os.PathLike[str], when: float, *, localtime: bool = False) -> Path:
    """The name a file rotated at ``when`` (Unix seconds) gets beside ``active``."""
    path = Path(active)
    stem, suffix = _split(path)
    if localtime:
        moment = dt.datetime.fromtimestamp(when)
        zone = ""
    else:
        moment = dt.datetime.fromtimestamp(when, dt.timezone.utc)
        zone = "Z"
    stamp = moment.strftime(_STAMP) + f".{moment.microsecond:06d}{zone}"
    return path.with_name(f"{stem}.{stamp}{suffix}")


@dataclass(frozen=True)
class RotatedFile:
    """A rotated file of a set: its path, the stamp in its name, and its rotation time."""

    path: Path
    stamp: str
    when: float
    compressed: bool


def _stamp_time(stamp: str, utc: bool) -> float:
    moment = dt.datetime.strptime(stamp, _STAMP + ".%f")
    if utc:
        return moment.replace(tzinfo=dt.timezone.utc).timestamp()
    return moment.timestamp()


def rotated_pattern(active: str | os.PathLike[str]) -> re.Pattern[str]:
    """The pattern of the names of ``active``'s rotated files (group 1: stamp, 3: ``.gz``)."""
    stem, suffix = _split(Path(active))
    return re.compile(re.escape(stem) + r"\." + _STAMP_RE + re.escape(suffix) + r"(\.gz)?")


def rotated_files(active: str | os.PathLike[str]) -> list[RotatedFile]:
    """The rotated files of ``active``, oldest first. When a file exists both plain and
    compressed (compression under way), the plain one is listed: it is the complete one."""
    path = Path(active)
    pattern = rotated_pattern(path)
    found: dict[str, RotatedFile] = {}
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        gz = m.group(3) is not None
        stamp = m.group(1) + m.group(2)
        if stamp in found and gz:
            continue
        try:
            when = _stamp_time(m.group(1), m.group(2) == "Z")
        except ValueError:
            continue
        found[stamp] = RotatedFile(path.parent / name, stamp, when, gz)
    return [found[s] for s in sorted(found)]


def compress_file(path: Path) -> Path:
    """gzip ``path`` to ``path.gz`` (written aside, fsynced, renamed into place, ``0600``),
    then remove ``path``. Returns the new path."""
    target = path.with_name(path.name + ".gz")
    fd, tmp = private_temp(target)
    try:
        with os.fdopen(fd, "wb") as raw, path.open("rb") as src:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                shutil.copyfileobj(src, gz, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        with contextlib.suppress(OSError):
            st = path.stat()
            os.utime(tmp, (st.st_atime, st.st_mtime))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return target

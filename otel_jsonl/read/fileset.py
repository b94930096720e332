"""Sets of trace files: several files, a directory or a glob, with rotated files in time order.

A *set* is an active file (``agent.jsonl``) and its rotated files: the names rotation gives
(``agent.20261130T044802.123456Z.jsonl``, plain or ``.gz``, ordered by the time in the name) and
logrotate's numbered ones (``agent.jsonl.1``, ``agent.jsonl.2.gz``; a higher number is older).
Read in that order, a run that crosses a rotation reads as one. Standard library only.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from ..exceptions import OtelJsonlError
from .lines import Line, ReadReport, read_events

__all__ = [
    "FileSetError",
    "expand_sources",
    "order_files",
    "read_files",
    "set_key",
    "set_members",
]

_STAMPED = re.compile(r"(?P<stem>.+)\.(?P<stamp>\d{8}T\d{6}\.\d{6}Z?)(?P<ext>\.[^./]+)?(?:\.gz)?")
_NUMBERED = re.compile(r"(?P<base>.+)\.(?P<n>\d{1,6})(?:\.gz)?")
_TRACE_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


class FileSetError(OtelJsonlError, FileNotFoundError):
    """Raised when an argument names no trace file (an empty directory, a glob with no match,
    a path that does not exist)."""


def set_key(path: str | os.PathLike[str]) -> tuple[Path, tuple[int, float, str]]:
    """The active file of the set ``path`` belongs to, and ``path``'s place in that set (a
    sort key: numbered rotated files oldest first, then stamped ones by time, then the active
    file)."""
    p = Path(path)
    name = p.name
    m = _STAMPED.fullmatch(name)
    if m is not None:
        active = p.with_name(m.group("stem") + (m.group("ext") or ""))
        return active, (1, 0.0, m.group("stamp"))
    m = _NUMBERED.fullmatch(name)
    if m is not None and not name.endswith(_TRACE_SUFFIXES):
        return p.with_name(m.group("base")), (0, -int(m.group("n")), "")
    if name.endswith(".gz"):
        return p.with_name(name[:-3]), (2, 0.0, "")
    return p, (2, 0.0, "")


def order_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """``paths`` grouped by set (sets in order of first appearance) and ordered in time within
    each set. A file present both plain and ``.gz`` (compression under way) is read once, plain."""
    groups: dict[Path, list[tuple[tuple[int, float, str], Path]]] = {}
    seen: set[Path] = set()
    plain = {Path(p) for p in paths if not str(p).endswith(".gz")}
    for raw in paths:
        p = Path(raw)
        if p in seen:
            continue
        seen.add(p)
        if p.name.endswith(".gz") and p.with_name(p.name[:-3]) in plain:
            continue
        active, key = set_key(p)
        groups.setdefault(active, []).append((key, p))
    out: list[Path] = []
    for members in groups.values():
        out.extend(p for _, p in sorted(members, key=lambda item: item[0]))
    return out


def _is_trace_name(name: str) -> bool:
    if name.startswith("."):
        return False
    if name.endswith(_TRACE_SUFFIXES):
        return True
    active, (rank, _, _) = set_key(Path(name))
    return rank < 2 and active.name.endswith(_TRACE_SUFFIXES)


def set_members(active: str | os.PathLike[str]) -> list[Path]:
    """The files of ``active``'s set that exist now, oldest first, the active file last."""
    path = Path(active)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    found = []
    for name in names:
        if name.startswith("."):
            continue
        candidate = path.parent / name
        if set_key(candidate)[0] == path:
            found.append(candidate)
    return order_files(sorted(found))


def expand_sources(args: Sequence[str]) -> list[str]:
    """The files to read for command-line arguments: ``-`` as it is, a directory's trace files
    (``*.jsonl``, ``*.ndjson``, their ``.gz`` and rotated forms), a glob's matches, a file as
    it is; rotated sets in time order. Raises :class:`FileSetError` for an argument that names
    nothing."""
    out: list[str] = []
    for arg in args:
        if arg == "-":
            out.append(arg)
            continue
        if os.path.isdir(arg):
            names = sorted(n for n in os.listdir(arg) if _is_trace_name(n))
            files = [os.path.join(arg, n) for n in names if os.path.isfile(os.path.join(arg, n))]
            if not files:
                raise FileSetError(f"{arg}: no trace files (*.jsonl, *.jsonl.gz) in this directory")
            out.extend(str(p) for p in order_files(files))
            continue
        if not os.path.exists(arg) and glob.has_magic(arg):
            matches = sorted(m for m in glob.glob(arg) if os.path.isfile(m))
            if not matches:
                raise FileSetError(f"{arg}: no file matches")
            out.extend(str(p) for p in order_files(matches))
            continue
        out.append(arg)
    return out


def read_files(
    sources: Sequence[str | os.PathLike[str]],
    *,
    run: str | Collection[str] | None = None,
    kind: str | Collection[str] | None = None,
    strict: bool = True,
    reports: list[ReadReport] | None = None,
    report: ReadReport | None = None,
) -> Iterator[Line]:
    """The events of several files read as one stream, in the order given (see
    :func:`expand_sources`); one :class:`ReadReport` per file is appended to ``reports``, or
    all of them are counted in the one ``report``."""
    for source in sources:
        this = report if report is not None else ReadReport()
        if reports is not None:
            reports.append(this)
        yield from read_events(source, run=run, kind=kind, strict=strict, report=this)

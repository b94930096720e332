"""Following trace files while they are appended to: ``show -f`` (:func:`follow_events`) and
``ship --follow`` (:class:`Follower`), across rotation, truncation and atomic replace, like
``tail -F``; positions a checkpoint can keep. Standard library only.

A :class:`Follower` reads the set of one active path (see :mod:`otel_jsonl.read.fileset`) oldest
file first and hands out complete lines, each with the :class:`Position` just after it. At the
end of a file it looks at the path: the same file (same inode) grown is read on; a file shorter
than what was read, or whose first line changed, was truncated (``copytruncate``) and is read
again from its start; a path that names another file means the one being read was rotated
(renamed, perhaps compressed since) or replaced (an atomic ``rename`` over it): the follower
finishes it (to its end once more, once no write is under way in it) and goes on with the next
file of the set, taken from two listings that agree and opened only if it is still the file
listed (a writer may rotate again meanwhile). A damaged ``.gz`` is read up to the damage and
said in :attr:`Follower.problems`. A position names its file by a
fingerprint of the file's first line, not by name or inode, so it survives renames,
compression and restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from ..schema import check_required
from .fileset import set_key, set_members
from .lines import GZIP_ERRORS, Line, Problem, decode_line, gzip_error_reason

__all__ = [
    "FOLLOW_INTERVAL",
    "FollowedLine",
    "Follower",
    "Position",
    "fingerprint",
    "follow_events",
    "followed_files",
]

#: Seconds between two looks at a file that did not grow.
FOLLOW_INTERVAL = 0.5


def follow_events(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    interval: float = FOLLOW_INTERVAL,
    max_polls: int | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_wait: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Line]:
    """Yield the events of ``path`` from its first line on, then each new complete line as it
    is appended, until the caller stops (or after ``max_polls`` looks that found nothing new).

    Follows the path across rotation (the rotated file is finished first), truncation and
    atomic replace, saying so through ``on_note``. A line still being written waits for its
    newline. A bad line is passed to ``on_problem`` (``path:line: reason``) and skipped; it never
    stops the follow. Line numbers count from the top of the file each line is in.
    ``on_wait`` is called each time it is about to wait for more (to flush output then, not
    after each line).
    """
    follower = Follower(path, from_active=True)
    polls = 0
    notes = 0
    try:
        while max_polls is None or polls < max_polls:
            batch = follower.poll(1000)
            while notes < len(follower.notes):
                if on_note is not None:
                    on_note(follower.notes[notes])
                notes += 1
            while follower.problems and not batch:
                _report(follower.problems.pop(0), on_problem)
            if not batch:
                if on_wait is not None:
                    on_wait()
                polls += 1
                # Half a line is there: its newline is a write away, look again soon.
                sleep(min(interval, 0.01) if follower.mid_line else interval)
                continue
            for item in batch:
                raw = item.raw.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                ev, reason = decode_line(raw)
                if reason is None:
                    reason = check_required(ev)
                if reason is not None:
                    if on_problem is not None:
                        on_problem(Problem(item.path, item.lineno, reason))
                    continue
                if run is None or ev["run"] == run:
                    yield Line(item.lineno, ev)
            while follower.problems:  # a damaged .gz, after the lines read before the damage
                _report(follower.problems.pop(0), on_problem)
    finally:
        follower.close()


def _report(problem: Problem, on_problem: Callable[[Problem], None] | None) -> None:
    if on_problem is not None:
        on_problem(problem)


#: Bytes read at a time.
CHUNK = 1 << 16
#: Bytes of the first line a fingerprint covers.
FINGERPRINT_BYTES = 4096
#: What opening or reading a file may raise (a damaged .gz raises more than OSError).
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, *GZIP_ERRORS)


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def followed_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files a :class:`Follower` of ``path`` reads, oldest first: the set of an active file
    (see :func:`~otel_jsonl.read.fileset.set_members`), or ``path`` alone when it is itself a
    rotated file (``.gz``, a stamped or numbered name), so that an archive can be shipped."""
    p = Path(path)
    if set_key(p)[0] != p:
        return [p] if p.is_file() else []
    return set_members(p)


def _no_write_under_way(cur: _Current) -> bool:
    """True when no writer holds the file's shared ``flock`` (RotatingFile writes under one and
    checks the path first, so once the path names another file and this lock was had, no write
    comes after). A plain file only; after 100 looks, go on regardless (a stuck writer)."""
    if cur.path.name.endswith(".gz") or cur.waits >= 100:
        return True
    try:
        fcntl.flock(cur.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        cur.waits += 1
        return False
    except OSError:
        return True  # no flock on this file system: nothing to wait for
    fcntl.flock(cur.fh.fileno(), fcntl.LOCK_UN)
    return True


def _gzip_size(path: Path) -> int | None:
    """The uncompressed length (mod 2**32) a gzip file's trailer records."""
    try:
        with path.open("rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return int.from_bytes(fh.read(4), "little")
    except OSError:
        return None


def _digest(first_line: bytes) -> str:
    return hashlib.sha256(first_line[:FINGERPRINT_BYTES]).hexdigest()[:32]


def fingerprint(path: str | os.PathLike[str]) -> str | None:
    """The fingerprint of a file: a hash of its first line (its first 4 KiB); None while the
    file has no complete first line. The same for a file and its ``.gz``."""
    try:
        with _open(Path(path)) as fh:
            line = fh.readline(FINGERPRINT_BYTES)
    except _READ_ERRORS:
        return None
    if not line.endswith(b"\n") and len(line) < FINGERPRINT_BYTES:
        return None
    return _digest(line)


class Position(NamedTuple):
    """Where reading stands: ``offset`` bytes (uncompressed) into the file whose first line
    has ``fingerprint``; ``name`` is where it was last seen (a hint for messages)."""

    fingerprint: str
    offset: int
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-native form, for a checkpoint."""
        return {"fingerprint": self.fingerprint, "offset": self.offset, "name": self.name}

    @classmethod
    def from_json(cls, data: Any) -> Position | None:
        """The position a checkpoint holds, or None when it holds none (or garbage)."""
        if not isinstance(data, Mapping):
            return None
        fp, offset = data.get("fingerprint"), data.get("offset")
        if not isinstance(fp, str) or not isinstance(offset, int) or offset < 0:
            return None
        name = data.get("name")
        return cls(fp, offset, name if isinstance(name, str) else "")


class FollowedLine(NamedTuple):
    """A complete line (newline included), the file and line number it came from, and the
    position just after it."""

    raw: bytes
    path: str
    lineno: int
    position: Position


class _Current:
    __slots__ = (
        "broken",
        "checked",
        "dev",
        "fh",
        "finished",
        "fp",
        "ino",
        "lineno",
        "mtime_ns",
        "offset",
        "path",
        "torn",
        "waits",
    )

    def __init__(self, path: Path, fh: IO[bytes], st: os.stat_result) -> None:
        self.path = path
        self.fh = fh
        self.ino = st.st_ino
        self.dev = st.st_dev
        self.fp: str | None = None
        self.offset = 0
        self.lineno = 0
        self.torn = b""
        self.checked = time.monotonic()
        self.mtime_ns = st.st_mtime_ns
        # The path names another file now: this one gets no more lines.
        self.finished = False
        # A compressed file that is cut or corrupt: read up to where it broke.
        self.broken = False
        self.waits = 0


class Follower:
    """Follows the set of ``active`` (see the module doc). ``start`` resumes at a position
    (when its file is gone, from the oldest file left, noted in :attr:`notes`). ``poll()``
    returns the complete lines there are now, at most ``max_lines``; it never blocks. With no
    ``start``, reading begins at the oldest file of the set, or at the top of the active file
    with ``from_active``."""

    def __init__(
        self,
        active: str | os.PathLike[str],
        *,
        start: Position | None = None,
        from_active: bool = False,
    ) -> None:
        self.active = Path(active)
        self.from_active = from_active
        self.notes: list[str] = []
        #: Damaged files (a cut or corrupt ``.gz``): ``file:line: reason``, read past.
        self.problems: list[Problem] = []
        self.rotations = 0
        #: After a poll: True when it ended at the end of the active file (or the set is empty).
        self.at_end = False
        self._start = start
        self._cur: _Current | None = None

    @property
    def position(self) -> Position | None:
        """The position after the last line handed out (None before the first)."""
        cur = self._cur
        if cur is None or cur.fp is None:
            return self._start
        return Position(cur.fp, cur.offset, str(cur.path))

    @property
    def mid_line(self) -> bool:
        """True when the file being read ends with a line still being written."""
        return self._cur is not None and bool(self._cur.torn)

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file being read."""
        cur, self._cur = self._cur, None
        if cur is not None:
            with contextlib.suppress(OSError):
                cur.fh.close()

    # -- opening -------------------------------------------------------------------------

    def _open_at(
        self, path: Path, offset: int, fp: str | None, ident: tuple[int, int] | None = None
    ) -> bool:
        """Open ``path`` at ``offset``; False when it cannot be, or is no longer the file the
        caller listed (its name taken by a newer file): another inode or first line."""
        try:
            fh = _open(path)
        except OSError:
            return False
        try:
            st = os.fstat(fh.fileno())
            if ident is not None and (st.st_ino, st.st_dev) != ident:
                fh.close()
                return False
            if fp is not None:
                first = fh.readline(FINGERPRINT_BYTES)
                if _digest(first) != fp:
                    fh.close()
                    return False
                fh.seek(0)
            cur = _Current(path, fh, st)
            cur.fp = fp
            remaining = offset
            while remaining > 0:
                chunk = fh.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                cur.lineno += chunk.count(b"\n")
                remaining -= len(chunk)
            cur.offset = offset - remaining
        except _READ_ERRORS:
            fh.close()
            return False
        self.close()
        self._cur = cur
        return True

    def _members(self) -> list[tuple[Path, tuple[int, int]]] | None:
        """The files of the set, oldest first, with their (inode, device), from two listings
        that agree (a stale one may miss a file renamed meanwhile, or name a newer file by an
        older one's name). None when the set keeps changing: look again later."""
        last: list[tuple[Path, tuple[int, int]]] | None = None
        for _ in range(6):
            out: list[tuple[Path, tuple[int, int]]] = []
            for member in followed_files(self.active):
                try:
                    st = os.stat(member)
                except OSError:
                    break
                out.append((member, (st.st_ino, st.st_dev)))
            else:
                if out == last:
                    return out
                last = out
                continue
            last = None
        return None

    def _first(self) -> None:
        # Each turn lists the set again: a file may move between the listing and its opening.
        for _ in range(4):
            members = self._members()
            if members is None:
                continue
            start = self._start
            if start is not None:
                # Oldest first: should two files begin alike (exporter files written before
                # their resource lines were stamped per file), reading more is safe, less not.
                for member, ident in members:
                    if fingerprint(member) == start.fingerprint and self._open_at(
                        member, start.offset, start.fingerprint, ident
                    ):
                        return
                continue
            if self.from_active and self._open_at(self.active, 0, None):
                return
            if members and self._open_at(members[0][0], 0, None, members[0][1]):
                return
            if not members:
                self.at_end = True
                return
        start = self._start
        if start is not None:
            self.notes.append(
                f"{start.name or self.active}: the file of the checkpoint is gone; "
                "starting at the oldest file left"
            )
            self._start = None
            self._first()

    # -- reading -------------------------------------------------------------------------

    def poll(self, max_lines: int = 1000) -> list[FollowedLine]:
        """The complete lines available now: reading stops once ``max_lines`` are had (the
        last chunk read may add a few more)."""
        out: list[FollowedLine] = []
        self.at_end = False
        if self._cur is None:
            self._first()
        for _ in range(64):  # each turn moves to another file; bounded
            cur = self._cur
            if cur is None:
                return out
            while len(out) < max_lines and self._read_chunk(cur, out):
                pass
            if len(out) >= max_lines or not self._advance():
                return out
        return out

    def _read_chunk(self, cur: _Current, out: list[FollowedLine]) -> bool:
        """Read a chunk of ``cur`` and hand out its complete lines; False at its end. A line
        without its newline yet (still being written, or torn) is kept for the next chunk.
        A damaged compressed file ends where it breaks, said in :attr:`problems`."""
        if cur.broken:
            return False
        try:
            # read1: what a damaged .gz gave before it broke is handed out, not dropped.
            chunk = cur.fh.read1(CHUNK)  # type: ignore[attr-defined]
        except GZIP_ERRORS as exc:
            cur.broken = True
            self.problems.append(Problem(str(cur.path), cur.lineno + 1, gzip_error_reason(exc)))
            return False
        except OSError:
            return False
        if not chunk:
            return False
        pieces = (cur.torn + chunk).split(b"\n")
        cur.torn = pieces.pop()
        if cur.fp is None and pieces:
            first = pieces[0] + b"\n"
            cur.fp = _digest(first) if cur.offset == 0 else fingerprint(cur.path)
        fp = cur.fp or ""
        name = str(cur.path)
        offset, lineno = cur.offset, cur.lineno
        for piece in pieces:
            line = piece + b"\n"
            offset += len(line)
            lineno += 1
            out.append(FollowedLine(line, name, lineno, Position(fp, offset)))
        cur.offset, cur.lineno = offset, lineno
        return True

    @staticmethod
    def _replaced_in_place(cur: _Current, st: os.stat_result) -> bool:
        """True when the file's first line changed (truncated and written again up to or past
        where we were). Looked at when the file was modified since the last look, else once a
        second: it costs an open."""
        now = time.monotonic()
        modified = st.st_mtime_ns != cur.mtime_ns
        cur.mtime_ns = st.st_mtime_ns
        if cur.fp is None or (not modified and now - cur.checked < 1.0):
            return False
        cur.checked = now
        return fingerprint(cur.path) not in (None, cur.fp)

    def _advance(self) -> bool:
        """At the end of the file being read: move on when the path names another file now
        (True), or stay (False)."""
        cur = self._cur
        assert cur is not None
        try:
            st = os.stat(self.active)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_ino, st.st_dev) == (cur.ino, cur.dev):
            self.at_end = True
            if cur.path.name.endswith(".gz"):
                return False  # an archive followed on its own: never appended to
            if st.st_size < cur.offset or self._replaced_in_place(cur, st):
                self.at_end = False
                self.notes.append(f"{cur.path}: truncated; reading it again from its start")
                cur.fh.seek(0)
                cur.offset = cur.lineno = 0
                cur.fp = None
                cur.torn = b""
                return True
            return False
        # The file being read is no longer the active one: rotated, replaced or deleted.
        if not cur.finished:
            # A line written just before the rotation may have come after our last read:
            # read the file to its end once more, once no write is under way in it.
            if not _no_write_under_way(cur):
                return False
            cur.finished = True
            return True
        members = self._members()
        if members is None:
            return False
        index = None
        for i, (_, ident) in enumerate(members):
            if ident == (cur.ino, cur.dev):
                index = i
                break
        if index is None and cur.fp is not None:
            # Compressed since (a new inode): found by its first line and its length (the
            # gzip trailer's), newest first; by its first line alone, the oldest such file.
            size = (cur.offset + len(cur.torn)) & 0xFFFFFFFF
            for i in range(len(members) - 1, -1, -1):
                member = members[i][0]
                if member.name.endswith(".gz") and fingerprint(member) == cur.fp:
                    index = i
                    if _gzip_size(member) == size:
                        break
        if index is not None:
            following = members[index + 1 :]
        else:
            following = [m for m in members if m[0] == self.active]
        if not following:
            return False  # the next file is not there yet (between a rename and a create)
        nxt, ident = following[0]
        if not self._open_at(nxt, 0, None, ident):
            return False  # renamed since the listing (rotated on, compressed): look again
        if cur.torn:
            self.notes.append(
                f"{cur.path}:{cur.lineno + 1}: torn last line skipped (the file was rotated)"
            )
        self.rotations += 1
        return True

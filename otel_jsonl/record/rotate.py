"""Rotation and retention of trace files: by size and/or daily, keep N files and/or D days, gzip.

The active file keeps its name (``traces/agent.jsonl``); a rotated file is renamed beside it with
the moment of its rotation in the name, ``agent.20261130T044802.123456Z.jsonl`` (UTC, ``Z``; no
``Z`` with ``localtime``), so names sort in time order, and ``.gz`` is added once compressed.

Several processes may append to one path. Each write (one ``os.write`` of whole lines) happens
under a shared ``flock`` on the file, after checking that the path still names the file this
process holds open. A process that finds the file due for rotation takes the set's lock file
(``.agent.jsonl.lock``, exclusive), checks again (another process may have rotated it
meanwhile), renames the file, then takes an exclusive ``flock`` on the renamed file: that waits
for every write already under way in any process, and every write after it sees a new inode at
the path and reopens. So a line is never split, the ``blob_ref`` lines written with their step
stay in its file, and a rotated file is complete before it is compressed or deleted.
POSIX only (``fcntl``); standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .fileio import write_all
from .rotated import RotatedFile, compress_file, rotated_files, rotated_name, rotated_pattern

__all__ = [
    "ENV_ROTATE_DAILY",
    "ENV_ROTATE_GZIP",
    "ENV_ROTATE_KEEP_DAYS",
    "ENV_ROTATE_KEEP_FILES",
    "ENV_ROTATE_LOCALTIME",
    "ENV_ROTATE_MAX_MB",
    "RotatedFile",
    "RotatingFile",
    "RotationPolicy",
    "apply_retention",
    "compress_file",
    "rotated_files",
    "rotated_name",
    "rotated_pattern",
]

logger = logging.getLogger("otel_jsonl")

ENV_ROTATE_MAX_MB = "OTEL_JSONL_ROTATE_MAX_MB"
ENV_ROTATE_DAILY = "OTEL_JSONL_ROTATE_DAILY"
ENV_ROTATE_KEEP_FILES = "OTEL_JSONL_ROTATE_KEEP_FILES"
ENV_ROTATE_KEEP_DAYS = "OTEL_JSONL_ROTATE_KEEP_DAYS"
ENV_ROTATE_GZIP = "OTEL_JSONL_ROTATE_GZIP"
ENV_ROTATE_LOCALTIME = "OTEL_JSONL_ROTATE_LOCALTIME"

#: How long a writer waits for the set's lock file before writing without rotating.
LOCK_TIMEOUT = 10.0


def _true(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class RotationPolicy:
    """When a trace file is rotated and which rotated files are kept.

    ``max_bytes``: rotate before a write that would take the file past this size (0 = never
    by size; a single write larger than the limit still goes whole into a fresh file).
    ``daily``: rotate at the first write of a new day (UTC midnight, local with ``localtime``).
    ``keep_files``: keep at most this many rotated files (0 = all). ``keep_days``: delete rotated
    files rotated more than this many days ago (0 = never). ``compress``: gzip rotated files.
    """

    max_bytes: int = 0
    daily: bool = False
    keep_files: int = 0
    keep_days: float = 0.0
    compress: bool = False
    localtime: bool = False

    def __post_init__(self) -> None:
        for name in ("max_bytes", "keep_files"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if (
            not isinstance(self.keep_days, (int, float))
            or isinstance(self.keep_days, bool)
            or not self.keep_days >= 0
        ):
            raise ValueError(f"keep_days must be a number >= 0, got {self.keep_days!r}")

    @property
    def rotates(self) -> bool:
        """True when the policy ever rotates (by size or by day)."""
        return self.max_bytes > 0 or self.daily

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RotationPolicy | None:
        """The policy the ``OTEL_JSONL_ROTATE_*`` variables describe, or None when none is set
        (see docs/configuration.md). Raises ValueError on a bad value."""
        env = os.environ if environ is None else environ
        names = (
            ENV_ROTATE_MAX_MB,
            ENV_ROTATE_DAILY,
            ENV_ROTATE_KEEP_FILES,
            ENV_ROTATE_KEEP_DAYS,
            ENV_ROTATE_GZIP,
            ENV_ROTATE_LOCALTIME,
        )
        if not any(env.get(n, "").strip() for n in names):
            return None
        mb = _number(ENV_ROTATE_MAX_MB, env.get(ENV_ROTATE_MAX_MB, "").strip() or "0")
        keep = _number(ENV_ROTATE_KEEP_FILES, env.get(ENV_ROTATE_KEEP_FILES, "").strip() or "0")
        if keep != int(keep):
            raise ValueError(f"{ENV_ROTATE_KEEP_FILES} must be a whole number, got {keep!r}")
        return cls(
            max_bytes=round(mb * 1024 * 1024),
            daily=_true(ENV_ROTATE_DAILY, env.get(ENV_ROTATE_DAILY, "")),
            keep_files=int(keep),
            keep_days=_number(
                ENV_ROTATE_KEEP_DAYS, env.get(ENV_ROTATE_KEEP_DAYS, "").strip() or "0"
            ),
            compress=_true(ENV_ROTATE_GZIP, env.get(ENV_ROTATE_GZIP, "")),
            localtime=_true(ENV_ROTATE_LOCALTIME, env.get(ENV_ROTATE_LOCALTIME, "")),
        )


# -- retention ---------------------------------------------------------------------------------


def apply_retention(
    active: str | os.PathLike[str], policy: RotationPolicy, now: float
) -> list[Path]:
    """Delete the rotated files of ``active`` the policy no longer keeps (beyond
    ``keep_files``, or rotated more than ``keep_days`` ago); return what was deleted."""
    files = rotated_files(active)
    doomed: list[RotatedFile] = []
    if policy.keep_files and len(files) > policy.keep_files:
        doomed.extend(files[: len(files) - policy.keep_files])
    if policy.keep_days:
        horizon = now - policy.keep_days * 86400.0
        doomed.extend(f for f in files if f.when < horizon and f not in doomed)
    deleted = []
    for f in doomed:
        for p in (f.path, f.path.with_name(f.path.name + ".gz")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
                deleted.append(p)
    return deleted


# -- the rotating file ------------------------------------------------------------------------


class RotatingFile:
    """An ``O_APPEND`` file that rotates by ``policy``, safely among several processes.

    Use :meth:`target` around each write: it yields the descriptor to write whole lines to,
    rotating or reopening first when needed. ``clock`` (``time.time``) decides days and names;
    ``on_new_file`` is called (under the write lock) when this process first writes into a
    file it moved to after a rotation (its own or another process's), and returns bytes to
    write at its top (the span exporter's resource lines), or ``b""``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        policy: RotationPolicy,
        *,
        clock: Callable[[], float] = time.time,
        on_new_file: Callable[[], bytes] | None = None,
    ) -> None:
        self.path = Path(path)
        self._path_str = os.fspath(self.path)
        self._ident: tuple[int, int] = (0, 0)
        self.policy = policy
        self.rotations = 0
        self.reopens = 0
        self._clock = clock
        self._on_new_file = on_new_file
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._period: tuple[int, int, int] | None = None
        self._fresh = False
        self._lock_path = self.path.with_name(f".{self.path.name}.lock")
        self._housekeeper: threading.Thread | None = None
        self._house_lock = threading.Lock()
        self._again = False
        self._closed = False

    # -- periods ---------------------------------------------------------------------------

    def _day(self, when: float) -> tuple[int, int, int]:
        t = time.localtime(when) if self.policy.localtime else time.gmtime(when)
        return (t.tm_year, t.tm_mon, t.tm_mday)

    # -- opening ---------------------------------------------------------------------------

    def _open(self) -> int:
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path_str, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        st = os.fstat(fd)
        self._ident = (st.st_ino, st.st_dev)
        now = self._clock()
        # The day a file belongs to: today when it is new, else the day it was last written
        # (every writer rotates before writing into a new day, so that is its day).
        self._period = self._day(now if st.st_size == 0 else min(st.st_mtime, now))
        self._fd = fd
        return fd

    def _due(self, fd: int, nbytes: int) -> bool:
        # The end of an O_APPEND file is its size: one cheap syscall, no stat object.
        size = os.lseek(fd, 0, os.SEEK_END)
        if size == 0:
            if self.policy.daily:
                self._period = self._day(self._clock())
            return False
        if self.policy.max_bytes and size + nbytes > self.policy.max_bytes:
            return True
        return self.policy.daily and self._day(self._clock()) != self._period

    def open(self) -> int:
        """Open the file now (it is otherwise opened by the first write); return its
        descriptor."""
        with self._lock:
            if self._fd is None:
                self._open()
                self._fresh = False
            assert self._fd is not None
            return self._fd

    @contextlib.contextmanager
    def target(self, nbytes: int) -> Iterator[int]:
        """Yield the descriptor for a write of ``nbytes`` bytes of whole lines (see the class
        doc). Raises OSError when the file cannot be opened."""
        with self._lock:
            if self._closed:
                raise ValueError("write to a closed trace file")
            fd = self._ready(nbytes)
            try:
                if self._fresh:
                    self._fresh = False
                    header = self._on_new_file() if self._on_new_file is not None else b""
                    if header:
                        write_all(fd, header)
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _ready(self, nbytes: int) -> int:
        """The descriptor, shared-locked, of the file the path names, rotated if due."""
        for _ in range(16):  # each turn follows one rotation; more means a storm of them
            fd = self._fd if self._fd is not None else self._open()
            fcntl.flock(fd, fcntl.LOCK_SH)
            if not self._same():
                fcntl.flock(fd, fcntl.LOCK_UN)
                self._reopen()
                continue
            if not self._due(fd, nbytes):
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)
            if not self._rotate(nbytes):
                break
        fd = self._fd if self._fd is not None else self._open()
        fcntl.flock(fd, fcntl.LOCK_SH)
        return fd

    def _same(self) -> bool:
        """True when the path still names the file this process holds open."""
        try:
            cur = os.stat(self._path_str)
        except FileNotFoundError:
            return False
        return (cur.st_ino, cur.st_dev) == self._ident

    def _reopen(self) -> None:
        old, self._fd = self._fd, None
        self.reopens += 1
        if old is not None:
            with contextlib.suppress(OSError):
                os.close(old)
        self._open()
        self._fresh = True

    def _rotate(self, nbytes: int) -> bool:
        """Rotate the file (or notice that another process did) and reopen; False when the
        set's lock could not be had."""
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        rotated: Path | None = None
        try:
            if not _lock_with_timeout(lock_fd, LOCK_TIMEOUT):
                # Someone holds the set's lock far too long: write without rotating rather
                # than block the host program.
                logger.warning("otel-jsonl: %s: rotation lock busy; not rotating", self.path)
                return False
            fd = self._fd
            assert fd is not None
            if self._same() and self._due(fd, nbytes):
                rotated = self._free_name()
                os.rename(self.path, rotated)
                # Wait for the writes already under way in other processes (they hold a
                # shared lock on this file); every later write sees the new path and reopens.
                fcntl.flock(fd, fcntl.LOCK_EX)
                fcntl.flock(fd, fcntl.LOCK_UN)
                self.rotations += 1
            self._reopen()
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
        if rotated is not None:
            self._housekeep()
        return True

    def _free_name(self) -> Path:
        """A rotated name later than every existing one (so names sort in rotation order even
        when the clock steps back or two rotations share a microsecond)."""
        when = self._clock()
        existing = rotated_files(self.path)
        if existing and existing[-1].when >= when:
            when = existing[-1].when + 1e-6
        candidate = rotated_name(self.path, when, localtime=self.policy.localtime)
        while candidate.exists() or candidate.with_name(candidate.name + ".gz").exists():
            when += 1e-6
            candidate = rotated_name(self.path, when, localtime=self.policy.localtime)
        return candidate

    # -- retention and compression -----------------------------------------------------------

    def _housekeep(self) -> None:
        policy = self.policy
        if not (policy.keep_files or policy.keep_days or policy.compress):
            return
        if not policy.compress:
            self._run_housekeeping()
            return
        # Compressing takes time: do it beside the host program, one pass at a time; a
        # rotation during a pass asks for one more.
        with self._house_lock:
            self._again = True
            worker = self._housekeeper
            if worker is not None and worker.is_alive():
                return
            self._housekeeper = threading.Thread(
                target=self._housekeeping_loop, name="otel-jsonl-rotate", daemon=True
            )
            self._housekeeper.start()

    def _housekeeping_loop(self) -> None:
        while True:
            with self._house_lock:
                if not self._again:
                    self._housekeeper = None
                    return
                self._again = False
            self._run_housekeeping()

    def _run_housekeeping(self) -> None:
        try:
            apply_retention(self.path, self.policy, self._clock())
            if self.policy.compress:
                self._compress_rotated()
        except Exception as exc:  # broad: housekeeping must never break the host program
            logger.warning("otel-jsonl: %s: rotation housekeeping failed: %s", self.path, exc)

    def _compress_rotated(self) -> None:
        gz_lock = self.path.with_name(f".{self.path.name}.gzlock")
        fd = os.open(gz_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another process is compressing this set
            for f in rotated_files(self.path):
                if not f.compressed:
                    with contextlib.suppress(FileNotFoundError):
                        compress_file(f.path)
        finally:
            os.close(fd)

    def wait(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for the background compression to finish."""
        with self._house_lock:
            worker = self._housekeeper
        if worker is not None:
            worker.join(timeout)

    def close(self) -> int | None:
        """Stop writing; return the open descriptor (the caller fsyncs and closes it), after
        waiting (10 s at most) for compression under way."""
        with self._lock:
            self._closed = True
            fd, self._fd = self._fd, None
        self.wait()
        return fd

    @property
    def fd(self) -> int | None:
        """The descriptor open now, if any."""
        return self._fd


def _lock_with_timeout(fd: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

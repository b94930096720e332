"""The one line writer behind the recorder and the span exporter.

An event goes through four stages: encode (one JSON line), redact (secrets in the encoded line,
once), cap (string values over the cap keep their first bytes, the full value goes to the blob
store and a ``blob_ref`` line), write (one ``os.write`` of all the event's lines on an ``O_APPEND``
descriptor, so lines from many threads and processes never interleave). Writing never raises
unless ``strict`` is set: failures are counted in :attr:`LineWriter.dropped` and logged once.
Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

from ..exceptions import BlobError
from . import codec as _codec
from .blobs import BlobStore, InsecureDirs, blob_dir_for
from .redact import Redactor
from .rotate import RotatingFile, RotationPolicy
from .safe_open import open_for_append
from .secrets import find_secrets

__all__ = [
    "DEFAULT_CAP",
    "FsyncPolicy",
    "LineWriter",
    "WriterOptions",
    "WriterOptionsKw",
    "json_pointer",
]

logger = logging.getLogger("otel_jsonl")

#: Default cap, in UTF-8 bytes, of one string value on a line.
DEFAULT_CAP = 4096

FsyncPolicy = Literal["never", "close", "line"] | int


#: Top-level keys that identify a line; they are never capped.
_NEVER_CAPPED = frozenset({"run", "kind", "trace_id", "span_id", "parent_id", "capped"})


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes (``/output``, ``/input/0/parts/1``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode("utf-8", "replace")
    return raw[:limit].decode("utf-8", "ignore")


class WriterOptionsKw(TypedDict, total=False):
    """The keyword form of :class:`WriterOptions` (``Trace(path, cap=0, redact=False)``)."""

    cap: int
    blob_dir: str | os.PathLike[str] | None
    redact: bool | Redactor
    redact_patterns: Mapping[str, str] | Iterable[str]
    fsync: FsyncPolicy
    strict: bool
    follow_symlinks: bool
    insecure_dirs: InsecureDirs
    rotate: RotationPolicy | None


@dataclass(frozen=True)
class WriterOptions:
    """How lines are written: the one options object of every entry point that writes a trace
    file (``Trace``, ``LineWriter``, the exporters, ``configure()``).

    ``cap`` is the cap per string value in UTF-8 bytes (0 turns capping off); ``blob_dir`` where
    full values go (default ``blobs/`` beside the trace; with a stream and no ``blob_dir`` a
    capped value is truncated with no blob). ``redact`` turns the built-in secret families on
    or off, or is a :class:`~otel_jsonl.record.redact.Redactor` of your own (allow-list, PII
    hook, fingerprint key); ``redact_patterns`` adds patterns (a mapping name -> regex, or
    regexes). ``fsync``
    is ``"never"``, ``"close"`` (default), ``"line"`` or a number N (every N writes).
    ``strict`` raises write failures instead of counting them (for tests). ``rotate`` rotates
    the file by a :class:`~otel_jsonl.record.rotate.RotationPolicy` (size and/or daily, keep N
    files and/or D days, gzip; safe with several processes on one path).
    ``follow_symlinks`` (default False) lets the trace path be a symbolic link to a file (a
    link to a device or pipe, such as ``/dev/stdout``, is always followed).
    ``insecure_dirs`` is what happens to an existing trace or blob directory that others may
    write to: ``"refuse"`` (default: nothing is written there, each step is dropped and the
    reason logged) or ``"warn"`` (logged once, written). Bad values raise ValueError here, at
    construction.
    """

    cap: int = DEFAULT_CAP
    blob_dir: str | os.PathLike[str] | None = None
    redact: bool | Redactor = True
    redact_patterns: Mapping[str, str] | Iterable[str] = field(default=())
    fsync: FsyncPolicy = "close"
    strict: bool = False
    rotate: RotationPolicy | None = None
    follow_symlinks: bool = False
    insecure_dirs: InsecureDirs = "refuse"

    def __post_init__(self) -> None:
        if self.insecure_dirs not in ("refuse", "warn"):
            raise ValueError(
                f"insecure_dirs must be 'refuse' or 'warn', got {self.insecure_dirs!r}"
            )
        cap = self.cap
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            raise ValueError(f"cap must be a whole number of bytes >= 0 (0 = off), got {cap!r}")
        fsync = self.fsync
        if not (
            fsync in ("never", "close", "line")
            or (isinstance(fsync, int) and not isinstance(fsync, bool) and fsync > 0)
        ):
            raise ValueError(f"fsync must be 'never', 'close', 'line' or N > 0, got {fsync!r}")

    @classmethod
    def build(cls, options: WriterOptions | None = None, **overrides: Any) -> WriterOptions:
        """``options`` (default: the defaults) with the keyword ``overrides`` applied."""
        base = options if options is not None else cls()
        unknown = set(overrides) - set(WriterOptionsKw.__annotations__)
        if unknown:
            raise TypeError(f"unknown writer option(s): {', '.join(sorted(unknown))}")
        return replace(base, **overrides) if overrides else base


class LineWriter:
    """Caps, encodes, redacts and appends events as JSON lines.

    Give ``path`` (the file is created ``0600``, its new parent directories ``0700``) or
    ``stream`` (a binary or text file object, written and flushed per event, never closed here),
    and the :class:`WriterOptions` (an object, keywords, or both: keywords win).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[Any] | None = None,
        options: WriterOptions | None = None,
        **overrides: Unpack[WriterOptionsKw],
    ) -> None:
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path and stream")
        opts = WriterOptions.build(options, **overrides)
        self.options = opts
        cap, fsync, strict = opts.cap, opts.fsync, opts.strict
        redact, redact_patterns, blob_dir = opts.redact, opts.redact_patterns, opts.blob_dir
        self.path = Path(path) if path is not None else None
        self.cap = cap
        self.strict = strict
        self.fsync = fsync
        patterns = redact_patterns
        self.redactor: Redactor | None
        if isinstance(redact, Redactor):
            if patterns:
                raise ValueError("give redact_patterns to your Redactor, not beside it")
            self.redactor = redact
        else:
            self.redactor = (
                Redactor(patterns)
                if redact
                else (Redactor(patterns, defaults=False) if patterns else None)
            )
        if self.redactor is not None and not self.redactor.names:
            self.redactor = None
        if blob_dir is not None:
            self.blobs: BlobStore | None = BlobStore(blob_dir, insecure_dirs=opts.insecure_dirs)
        elif self.path is not None:
            self.blobs = BlobStore(blob_dir_for(self.path), insecure_dirs=opts.insecure_dirs)
        else:
            self.blobs = None
        #: Capped values cut with no blob kept (no blob store: a stream or a device; or the
        #: blob store failed); each such value's ``capped`` entry has a size and no sha256.
        self.cut = 0
        self._regular = True
        self._warned_about: set[str] = set()
        self.dropped = 0
        self.written = 0
        self.last_error: BaseException | None = None
        self._warned = False
        self._lock = threading.Lock()
        self._closed = False
        self._fd: int | None = None
        self._stream = stream
        self._stream_binary = stream is not None and not isinstance(stream, io.TextIOBase)
        self._since_sync = 0
        self._plain_fsync = fsync in ("never", "close")
        self._stored: set[str] = set()
        #: Called when a rotation starts a new file; returns lines to write at its top.
        self.on_new_file: Callable[[], bytes] | None = None
        self._rotating: RotatingFile | None = None
        if self.path is not None and opts.rotate is not None and opts.rotate.rotates:
            self._rotating = RotatingFile(self.path, opts.rotate, on_new_file=self._header)
        if self.path is not None:
            try:
                self._open()
            except OSError as exc:
                # Telemetry never raises into the host program: the steps that follow are
                # counted as dropped, and each one tries to open the file again.
                self.record_failure(exc)

    # -- file handling -------------------------------------------------------------------

    def _header(self) -> bytes:
        return self.on_new_file() if self.on_new_file is not None else b""

    def _open(self) -> None:
        assert self.path is not None
        if self._rotating is not None:
            self._fd = self._rotating.open()
            return
        opts = self.options
        fd, st, warnings = open_for_append(self.path, opts.follow_symlinks, opts.insecure_dirs)
        for key, warning in warnings:
            self._warn_once(key, warning)
        self._regular = stat.S_ISREG(st.st_mode)
        if not self._regular and opts.blob_dir is None:
            # A device or a pipe (/dev/null, a FIFO): no blob directory is made beside it
            # (/dev/blobs); capped values are cut and counted in ``cut``.
            self.blobs = None
        self._fd = fd

    def _fsync(self, fd: int) -> None:
        # fsync on a device or a pipe fails with EINVAL: there is nothing to make durable.
        if self._regular:
            os.fsync(fd)

    def _warn_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned_about:
                return
            self._warned_about.add(key)
        with contextlib.suppress(Exception):
            logger.warning("otel-jsonl: %s", message)

    def _put_blob(self, raw: bytes) -> str | None:
        """Store a capped value's full text; None (counted in ``cut``) when there is no blob
        store or it failed: the step is still written, with the value cut."""
        reason = "no blob directory (a stream or a device)"
        if self.blobs is not None:
            try:
                return self._store(raw)
            except (OSError, BlobError) as exc:
                reason = f"the blob store failed: {exc}"
        with self._lock:
            self.cut += 1
        self._warn_once(
            "cut", f"capped values are cut with no blob kept ({reason}); counted in .cut"
        )
        return None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Flush, fsync when the policy asks, and close the file this writer opened (twice is
        safe; a stream given by the caller is flushed but not closed)."""
        if self._closed:
            return
        self._closed = True
        fd, self._fd = self._fd, None
        if self._rotating is not None:
            fd = self._rotating.close()
        try:
            if fd is not None:
                if self.fsync != "never":
                    self._fsync(fd)
                os.close(fd)
            elif self._stream is not None:
                self._stream.flush()
        except (OSError, ValueError) as exc:
            self.record_failure(exc)

    def flush(self) -> None:
        """Make written lines durable: fsync the file (the OS already has every line)."""
        try:
            fd = self._rotating.fd if self._rotating is not None else self._fd
            if fd is not None:
                self._fsync(fd)
            elif self._stream is not None and not self._closed:
                self._stream.flush()
        except (OSError, ValueError) as exc:
            self.record_failure(exc)

    # -- encoding ------------------------------------------------------------------------

    def encode(self, event: dict[str, Any]) -> bytes:
        """The bytes written for ``event``: its ``blob_ref`` lines, if any value was capped,
        then its own line. Stores capped values in the blob store as a side effect."""
        line = _codec.dumps_line(event)
        if self.redactor is not None:
            # Once, on the whole line: the values capped below (and their blobs) come from the
            # redacted line, so a secret cut in two by the cap is already gone.
            line = self._redact(line)
        if self.cap and len(line) > self.cap:
            line, prefix = self._cap_line(line)
            return prefix + line
        return line

    def _redact(self, line: bytes) -> bytes:
        assert self.redactor is not None
        red, n = self.redactor.redact_bytes(line)
        if n and self.redactor.custom:
            # A user pattern may match across JSON syntax; if the line no longer parses,
            # redact value by value instead.
            try:
                _codec.loads(red)
            except ValueError:
                return _codec.dumps_line(self.redactor.redact_value(_codec.loads(line)))
        return red

    def _cap_line(self, line: bytes) -> tuple[bytes, bytes]:
        # Work on the JSON-native form, so values inside models and dataclasses are capped too.
        native = _codec.loads(line)
        capped: dict[str, dict[str, Any]] = {}
        native = self._cap_value(native, [], capped)
        if not capped:
            return line, b""
        native["capped"] = capped
        refs = []
        for pointer, info in capped.items():
            if "sha256" not in info:
                continue  # no blob store (a stream with no blob_dir): nothing to refer to
            ref: dict[str, Any] = {"ts": native.get("ts"), "run": native.get("run")}
            ref["kind"] = "blob_ref"
            if "seq" in native:
                ref["of"] = native["seq"]
            for key in ("trace_id", "span_id"):
                if key in native:
                    ref[key] = native[key]
            ref["field"] = pointer
            ref.update(info)
            refs.append(_codec.dumps_line(ref))
        return _codec.dumps_line(native), b"".join(refs)

    def _cap_value(self, value: Any, path: list[str | int], capped: dict[str, Any]) -> Any:
        if isinstance(value, str):
            if len(value) <= self.cap // 4 or len(value.encode("utf-8", "replace")) <= self.cap:
                return value
            full = value
            raw = full.encode("utf-8", "replace")
            info: dict[str, Any] = {"size": len(raw)}
            digest = self._put_blob(raw)
            if digest is not None:
                info["sha256"] = digest
            capped[json_pointer(path)] = info
            return _truncate_utf8(full, self.cap)
        if isinstance(value, dict):
            if not path and "capped" in value:
                # An event that already carries capped values (re-recorded): keep them.
                capped.update(value["capped"])
            for key, item in value.items():
                if not path and key in _NEVER_CAPPED:
                    continue
                new = self._cap_value(item, [*path, key], capped)
                if new is not item:
                    value[key] = new
            return value
        if isinstance(value, list):
            for i, item in enumerate(value):
                new = self._cap_value(item, [*path, i], capped)
                if new is not item:
                    value[i] = new
            return value
        return value

    def _store(self, raw: bytes) -> str:
        """Put ``raw`` in the blob store once per writer: a value this writer already stored
        (the same tool output capped again) costs a hash, not a trip to the file system."""
        assert self.blobs is not None
        digest = hashlib.sha256(raw).hexdigest()
        if digest not in self._stored:
            self.blobs.put(raw)
            if len(self._stored) >= 4096:
                self._stored.clear()
            self._stored.add(digest)
        return digest

    # -- writing -------------------------------------------------------------------------

    def write_event(self, event: dict[str, Any]) -> bool:
        """Encode and append ``event``; True when it is in the file. Never raises unless the
        writer is strict."""
        try:
            if self._closed:
                raise ValueError("write to a closed trace")
            # encode() and write_bytes() inlined for the common case (an open file, no cap hit,
            # no per-line fsync): a step is a few microseconds, and calls are a good part of it.
            line = _codec.dumps_line(event)
            redactor = self.redactor
            if redactor is not None and (not redactor.plain or find_secrets(line)):
                line = self._redact(line)
            if self.cap and len(line) > self.cap:
                line, prefix = self._cap_line(line)
                line = prefix + line
            fd = self._fd
            if fd is not None and self._plain_fsync and self._rotating is None:
                n = os.write(fd, line)
                if n != len(line):
                    self._finish_partial(fd, line, n)
                self.written += 1
            else:
                self.write_bytes(line)
            return True
        except Exception as exc:  # broad: telemetry must never raise into the host
            self.record_failure(exc)
            return False

    def write_bytes(self, data: bytes) -> None:
        """Append ``data`` (whole lines) with one write; raises OSError on failure."""
        if self._stream is not None:
            if self._stream_binary:
                self._stream.write(data)
            else:
                self._stream.write(data.decode("utf-8"))
            self._stream.flush()
            self.written += 1
            return
        if self._fd is None:
            if self._closed:
                raise ValueError("write to a closed trace")
            self._open()
        if self._rotating is not None:
            # The rotating file picks the descriptor (rotating or reopening first if due).
            with self._rotating.target(len(data)) as rfd:
                self._write_fd(rfd, data)
            return
        fd = self._fd
        assert fd is not None
        self._write_fd(fd, data)

    def _write_fd(self, fd: int, data: bytes) -> None:
        n = os.write(fd, data)
        if n != len(data):
            self._finish_partial(fd, data, n)
        self.written += 1
        if self.fsync == "line":
            self._fsync(fd)
        elif isinstance(self.fsync, int) and not isinstance(self.fsync, bool):
            self._since_sync += 1
            if self._since_sync >= self.fsync:
                self._since_sync = 0
                self._fsync(fd)

    @staticmethod
    def _finish_partial(fd: int, data: bytes, n: int) -> None:
        # A short write on a regular file means the disk filled or a size limit was hit
        # mid-line. Try to finish the line; if that fails too, end the torn fragment with a
        # newline so the lines written after it still parse.
        view = memoryview(data)[n:]
        try:
            while view:
                m = os.write(fd, view)
                if m == 0:
                    raise OSError("short write")
                view = view[m:]
        except OSError:
            with contextlib.suppress(OSError):
                os.write(fd, b"\n")
            raise

    def record_failure(self, exc: BaseException) -> None:
        """Count a dropped write and log the first one (raise it instead when strict)."""
        with self._lock:
            self.dropped += 1
            self.last_error = exc
            first = not self._warned
            self._warned = True
        if self.strict:
            raise exc
        if first:
            with contextlib.suppress(Exception):
                logger.warning(
                    "otel-jsonl: could not write to %s (%s: %s); the step was dropped, and "
                    "later drops are only counted",
                    self.path if self.path is not None else "the stream",
                    type(exc).__name__,
                    exc,
                )

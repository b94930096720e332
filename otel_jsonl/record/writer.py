"""The one line writer behind the recorder and the span exporter.

An event goes through four stages: encode (one JSON line), redact (secrets in the encoded line,
once), cap (string values over the cap keep their first bytes, the full value goes to the blob
pack and a ``blob_ref`` line), write (one ``os.write`` of all the event's lines on an ``O_APPEND``
descriptor, so lines from many threads and processes never interleave). Writing never raises
unless ``strict`` is set: failures are counted in :attr:`LineWriter.dropped` and logged once.
Standard library only, and nothing heavier than ``os`` until it is needed (start-up)."""

from __future__ import annotations

import io
import os
import stat
from _thread import allocate_lock

from ..exceptions import BlobError
from . import codec as _codec
from .blobs import BlobStore
from .options import DEFAULT_CAP, WriterOptions

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing is not imported at run time (start-up cost)
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path
    from typing import IO, Any

    from typing_extensions import Unpack

    from .capping import json_pointer
    from .redact import Redactor
    from .rotate import RotatingFile
    from .writer_types import FsyncPolicy, WriterOptionsKw

__all__ = ["DEFAULT_CAP", "FsyncPolicy", "LineWriter", "WriterOptions", "WriterOptionsKw"]
__all__ += ["json_pointer"]


def __getattr__(name: str) -> object:
    if name in ("FsyncPolicy", "WriterOptionsKw"):  # typing forms: built on first use
        from . import writer_types

        return getattr(writer_types, name)
    if name == "json_pointer":  # with the capping, on first use
        from .capping import json_pointer

        return json_pointer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Bounds of the memo of the value capped last at each field: at most 2 MB held.
_LAST_MAX_FIELDS = 32
_LAST_MAX_BYTES = 64 * 1024


#: The capping module and hashlib's sha256, imported on the first line over the cap (start-up
#: stays small) and kept: a ``from ... import`` in the step's path costs half a microsecond.
_CAPPING: list[Any] = []


def _capping() -> list[Any]:
    if not _CAPPING:
        import hashlib

        from . import capping

        _CAPPING.extend((capping, hashlib.sha256))
    return _CAPPING


def _warn(message: str) -> None:
    """Log a warning; never raises (a broken logging setup must not break recording)."""
    try:
        import logging  # on the first warning only: start-up stays small

        logging.getLogger("otel_jsonl").warning("otel-jsonl: %s", message)
    except Exception:  # broad on purpose: logging must not break recording
        pass


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
        self._path = os.fspath(path) if path is not None else None
        self.cap = opts.cap
        self.strict = opts.strict
        self.fsync = opts.fsync
        self.redactor = _redactor_for(opts.redact, opts.redact_patterns)
        #: Whether the redactor's ``redact_bytes`` is the built-in one (which takes ``start``).
        self._header_skip = _takes_start(self.redactor)
        if opts.blob_dir is not None:
            self.blobs: BlobStore | None = BlobStore(
                opts.blob_dir, insecure_dirs=opts.insecure_dirs
            )
        elif self._path is not None:
            blob_dir = os.path.join(os.path.dirname(self._path), "blobs")
            self.blobs = BlobStore(blob_dir, insecure_dirs=opts.insecure_dirs)
        else:
            self.blobs = None
        #: Capped values cut with no blob kept (no blob store: a stream or a device; or the
        #: blob store failed); each such value's ``capped`` entry has a size and no sha256.
        self.cut = 0
        self._regular = True  # a regular file (not a device or a pipe): fsync works
        self._warned_about: set[str] = set()
        self.dropped = 0
        self.written = 0
        self.last_error: BaseException | None = None
        self._warned = False
        self._lock = allocate_lock()
        self._closed = False
        self._fd: int | None = None
        self._stream = stream
        self._stream_binary = stream is not None and not isinstance(stream, io.TextIOBase)
        self._since_sync = 0
        self._stored: set[str] = set()
        #: The value capped last at each field (pointer -> (bytes, sha256)), bounded.
        self._last: dict[str, tuple[bytes, str]] = {}
        #: Called when a rotation starts a new file; returns lines to write at its top.
        self.on_new_file: Callable[[], bytes] | None = None
        self._rotating: RotatingFile | None = None
        if self._path is not None and opts.rotate is not None and opts.rotate.rotates:
            from .rotate import RotatingFile  # only when asked for: start-up stays small

            self._rotating = RotatingFile(self._path, opts.rotate, on_new_file=self._header)
        #: True when a line goes straight to the descriptor: no rotation, no per-line fsync.
        self._direct = self._rotating is None and self.fsync in ("never", "close")
        if self._path is not None:
            try:
                self._open()
            except OSError as exc:
                # Telemetry never raises into the host program: the steps that follow are
                # counted as dropped, and each one tries to open the file again.
                self.record_failure(exc)

    @property
    def path(self) -> Path | None:
        """The trace file (None when writing to a stream)."""
        if self._path is None:
            return None
        from pathlib import Path  # on first use: the recorder itself works on the string

        return Path(self._path)

    # -- file handling -------------------------------------------------------------------

    def _header(self) -> bytes:
        return self.on_new_file() if self.on_new_file is not None else b""

    def _open(self) -> None:
        assert self._path is not None
        if self._rotating is not None:
            self._fd = self._rotating.open()
            return
        from .safe_open import open_for_append

        opts = self.options
        fd, st, warnings = open_for_append(self._path, opts.follow_symlinks, opts.insecure_dirs)
        for key, warning in warnings:
            self._warn_once(key, warning)
        self._regular = stat.S_ISREG(st.st_mode)
        if not self._regular and opts.blob_dir is None:
            # A device or a pipe (/dev/null, a FIFO): no blob directory is made beside it
            # (/dev/blobs); capped values are cut and counted in ``cut``.
            self.blobs = None
        self._fd = fd

    def _fsync(self, fd: int) -> None:
        # The pack first: a line on disk never refers to a value that is not.
        if self.blobs is not None:
            self.blobs.sync()
        # fsync on a device or a pipe fails with EINVAL: there is nothing to make durable.
        if self._regular:
            os.fsync(fd)

    def _warn_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned_about:
                return
            self._warned_about.add(key)
        _warn(message)

    def _put_blob(self, raw: bytes, pointer: str) -> str | None:
        """Store the full text of the value capped at ``pointer``; None (counted in ``cut``)
        when there is no blob store or it failed: the step is still written, with the value
        cut."""
        reason = "no blob directory (a stream or a device)"
        if self.blobs is not None:
            try:
                return self._store(raw, pointer)
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
                if self.blobs is not None and self.fsync != "never":
                    self.blobs.sync()
                self._stream.flush()
        except (OSError, ValueError) as exc:
            self.record_failure(exc)
        finally:
            if self.blobs is not None:
                try:
                    self.blobs.close()
                except OSError as exc:
                    self.record_failure(exc)

    def flush(self) -> None:
        """Make written lines durable: fsync the file (the OS already has every line)."""
        try:
            fd = self._rotating.fd if self._rotating is not None else self._fd
            if fd is not None:
                self._fsync(fd)
            elif self._stream is not None and not self._closed:
                if self.blobs is not None:
                    self.blobs.sync()
                self._stream.flush()
        except (OSError, ValueError) as exc:
            self.record_failure(exc)

    # -- encoding ------------------------------------------------------------------------

    def encode(self, event: dict[str, Any], screened: bool = False, native: bool = False) -> bytes:
        """The bytes written for ``event``: its ``blob_ref`` lines, if any value was capped,
        then its own line. Stores capped values in the blob store as a side effect.
        ``screened``: the caller found no candidate of the built-in secret families in the
        line (the span exporter does, on the strings the span brought): with the default
        redactor, there is nothing to redact. ``native``: the caller knows ``event`` holds no
        NaN or infinite float (the same bytes, without looking for them)."""
        line = _codec.dumps_decoded_line(event) if native else _codec.dumps_line(event)
        n = 0
        if self.redactor is not None and not (screened and self.redactor.plain):
            # Once, on the whole line: the values capped below (and their blobs) come from the
            # redacted line, so a secret cut in two by the cap is already gone.
            red, n = self.redactor.redact_bytes(line)
            if n:
                line = self._redacted(line, red)
        if self.cap and len(line) > self.cap:
            return self._cap_line(line) if n else self._cap_event(event, line)
        return line

    def _redacted(self, line: bytes, red: bytes) -> bytes:
        """``red`` (``line`` redacted), unless a user's pattern broke its JSON."""
        assert self.redactor is not None
        if self.redactor.custom:
            # A user pattern may match across JSON syntax; if the line no longer parses,
            # redact value by value instead.
            try:
                _codec.loads(red)
            except ValueError:
                return _codec.dumps_line(self.redactor.redact_value(_codec.loads(line)))
        return red

    def _cap_line(self, line: bytes) -> bytes:
        """The ``blob_ref`` lines of ``line``'s capped values, then the line with them cut."""
        out: bytes = (_CAPPING or _capping())[0].cap_line(line, self.cap, self._put_blob)
        return out

    def _cap_event(self, event: dict[str, Any], line: bytes) -> bytes:
        """:meth:`_cap_line` for a line redaction left as it was: the values are taken from
        ``event`` rather than parsed back (the same bytes, without the parse)."""
        out: bytes = (_CAPPING or _capping())[0].cap_event(event, line, self.cap, self._put_blob)
        return out

    def _store(self, raw: bytes, pointer: str) -> str:
        """Put ``raw`` in the blob store's pack once per writer: a value this writer already
        stored costs a hash, not a write; the value capped last at the same field (a system
        prompt or a file re-sent every turn) costs a comparison, not a hash."""
        assert self.blobs is not None
        last = self._last.get(pointer)
        if last is not None and last[0] == raw:
            return last[1]
        digest: str = (_CAPPING or _capping())[1](raw).hexdigest()
        if digest not in self._stored:
            self.blobs.append(raw, digest)
            if self.fsync == "line":
                self.blobs.sync()  # before the line that refers to it is written
            if len(self._stored) >= 4096:
                self._stored.clear()
            self._stored.add(digest)
        if len(raw) <= _LAST_MAX_BYTES:
            if len(self._last) >= _LAST_MAX_FIELDS:
                self._last.clear()
            self._last[pointer] = (raw, digest)
        return digest

    # -- writing -------------------------------------------------------------------------

    def write_event(self, event: dict[str, Any], header: bool = False) -> bool:
        """Encode and append ``event``; True when it is in the file. Never raises unless the
        writer is strict. ``header``: the event begins with ``ts``, ``run`` and ``seq`` values
        that hold no secret (a float, a run id of hex digits and dashes, an int), which the
        secret screen may skip."""
        try:
            # encode() and write_bytes() inlined for the common case (an open file, no cap hit,
            # no per-line fsync): a step is a few microseconds, and calls are a good part of it.
            line = _codec.dumps_line(event)
            redactor = self.redactor
            n = 0
            if redactor is not None:
                if header and self._header_skip:
                    # From the ``,`` before ``"kind"`` (0 when it is not there).
                    red, n = redactor.redact_bytes(line, False, line.find(b',"kind":', 0, 160) + 1)
                else:
                    red, n = redactor.redact_bytes(line)
                if n:
                    line = self._redacted(line, red)
            if self.cap and len(line) > self.cap:
                line = self._cap_line(line) if n else self._cap_event(event, line)
            fd = self._fd
            if fd is not None and self._direct:
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

    def write_bytes(self, data: bytes | memoryview) -> None:
        """Append ``data`` (whole lines) with one write; raises OSError on failure. A
        memoryview is written as it is to the file, copied to bytes for a stream (a stream
        may keep what it is given)."""
        if self._closed:
            raise ValueError("write to a closed trace")
        if self._stream is not None:
            if self._stream_binary:
                self._stream.write(bytes(data))
            else:
                self._stream.write(bytes(data).decode("utf-8"))
            self._stream.flush()
            self.written += 1
            return
        if self._fd is None:
            self._open()
        if self._rotating is not None:
            # The rotating file picks the descriptor (rotating or reopening first if due).
            with self._rotating.target(len(data)) as rfd:
                self._write_fd(rfd, data)
            return
        fd = self._fd
        assert fd is not None
        self._write_fd(fd, data)

    def _write_fd(self, fd: int, data: bytes | memoryview) -> None:
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
    def _finish_partial(fd: int, data: bytes | memoryview, n: int) -> None:
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
            try:  # noqa: SIM105 - contextlib is not imported at start-up
                os.write(fd, b"\n")
            except OSError:  # the disk is full: the error raised says so
                pass
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
            where = self._path if self._path is not None else "the stream"
            _warn(
                f"could not write to {where} ({type(exc).__name__}: {exc}); the step was "
                "dropped, and later drops are only counted"
            )


def _takes_start(redactor: Redactor | None) -> bool:
    """True when ``redactor`` redacts bytes the built-in way (a subclass may not take
    ``start``)."""
    if redactor is None:
        return False
    from .redact import Redactor

    return type(redactor).redact_bytes is Redactor.redact_bytes


def _redactor_for(
    redact: bool | Redactor, patterns: Mapping[str, str] | Iterable[str]
) -> Redactor | None:
    """The redactor the options ask for (None: nothing to redact). ``redact`` modules are
    imported here, when a writer is made, not with the recorder."""
    if redact is False and not patterns:
        return None
    from .redact import Redactor

    if isinstance(redact, Redactor):
        if patterns:
            raise ValueError("give redact_patterns to your Redactor, not beside it")
        return redact
    if redact:
        redactor: Redactor | None = Redactor(patterns)
    else:
        redactor = Redactor(patterns, defaults=False) if patterns else None
    if redactor is not None and not redactor.names:
        return None
    return redactor

"""The streaming reader every command uses: events with their line numbers, one at a time.

Memory stays flat on any file size: lines are read one by one and nothing is kept but counts.
A torn last line (its writer died mid-write) is reported and skipped, never fatal. A bad line
raises :class:`~otel_jsonl.exceptions.TraceFormatError` (``path:line: reason``) in strict mode,
and is skipped and counted in lenient mode. Standard library only.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import os
import sys
import warnings
import zlib
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any, ClassVar, NamedTuple

from ..exceptions import TornLineWarning, TraceFormatError
from ..schema import check_required

__all__ = [
    "GZIP_ERRORS",
    "Line",
    "Plain",
    "Problem",
    "ReadReport",
    "display_name",
    "gzip_error_reason",
    "open_source",
    "paused_gc",
    "raw_lines",
    "read_events",
]

#: How many problems a report keeps in full; the rest are only counted.
MAX_PROBLEMS = 1000


class Line(NamedTuple):
    """One event and the line number (1-based) it was read from."""

    lineno: int
    event: dict[str, Any]


class Problem(NamedTuple):
    """A line that was skipped, and why."""

    path: str
    lineno: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.reason}"


class Plain:
    """Equality and repr over the fields named in ``_FIELDS``, as a dataclass has them.

    The data classes of the read side are written out by hand: every command makes them, and
    the ``dataclasses`` module (which imports ``inspect``), plus the code each ``@dataclass``
    generates, cost more start-up time than a command on a small file should take.
    """

    _FIELDS: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plain) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclasses were

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(self._FIELDS, self._values(), strict=True))
        return f"{type(self).__name__}({inner})"


class ReadReport(Plain):
    """What a read saw: lines (and bytes), events, and the lines it skipped (the first 1000 in
    full)."""

    _FIELDS = ("path", "lines", "bytes_read", "events", "skipped", "problems", "torn")

    def __init__(
        self,
        path: str = "",
        lines: int = 0,
        bytes_read: int = 0,
        events: int = 0,
        skipped: int = 0,
        problems: list[Problem] | None = None,
        torn: Problem | None = None,
    ) -> None:
        self.path = path
        self.lines = lines
        self.bytes_read = bytes_read
        self.events = events
        self.skipped = skipped
        self.problems: list[Problem] = [] if problems is None else problems
        self.torn = torn

    def add(self, problem: Problem) -> None:
        """Count a skipped line, keeping it in full while there is room."""
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        """True when no line was skipped."""
        return self.skipped == 0


def display_name(source: str | os.PathLike[str] | IO[bytes]) -> str:
    """How a source is named in messages: its path, ``<stdin>`` for ``-``."""
    if isinstance(source, (str, os.PathLike)):
        return "<stdin>" if str(source) == "-" else str(source)
    return str(getattr(source, "name", "<stream>"))


_GZIP_MAGIC = b"\x1f\x8b"


def open_source(source: str | os.PathLike[str] | IO[bytes]) -> IO[bytes]:
    """Open a trace for binary reading: a path, ``-`` for stdin, or an already open binary
    stream (returned as it is). gzip is read through ``gzip`` whether the name ends in ``.gz``
    or the bytes start with the gzip magic (so ``-`` and a misnamed file work too)."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    path = os.fspath(source)
    if path == "-":
        return _maybe_gzip(sys.stdin.buffer)
    if os.path.splitext(path)[1] == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    stream = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if _maybe_gzip(stream) is stream:
        return stream
    stream.close()
    return gzip.open(path, "rb")  # type: ignore[return-value]


def _maybe_gzip(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` itself, or a gzip reader over it when its first bytes are the gzip magic
    (closing that reader leaves ``stream`` open)."""
    peek = getattr(stream, "peek", None)
    try:
        head = peek(2)[:2] if peek is not None else b""
    except (OSError, ValueError):
        head = b""
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


#: What a damaged gzip stream raises while it is read: a cut file (EOFError), a corrupt one
#: (zlib.error, BadGzipFile, which is an OSError).
GZIP_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)


def gzip_error_reason(exc: BaseException) -> str:
    """What to say about a damaged gzip stream."""
    if isinstance(exc, EOFError):
        return "gzip file ended early (truncated); the lines before were read"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a valid gzip file ({exc})"
    return f"corrupt gzip data ({exc})"


def raw_lines(stream: IO[bytes], name: str) -> Iterator[bytes]:
    """The lines of ``stream`` as bytes; a damaged gzip stream raises
    :class:`TraceFormatError` at the line where it broke, never EOFError or zlib.error."""
    lineno = 0
    it = iter(stream)
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except GZIP_ERRORS as exc:
            raise TraceFormatError(name, lineno + 1, gzip_error_reason(exc)) from None
        lineno += 1
        yield raw


def _as_set(value: str | Collection[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


# -- decoding a line ------------------------------------------------------------------------
#
# Lines are decoded by the codec's ``loads`` (orjson when installed). Importing orjson costs
# more than reading a small file (it loads dataclasses, inspect, uuid, datetime): a command on
# a small file would spend most of its time there. So the first ``_PLAIN_BYTES`` of lines a
# process reads go through the standard library's decoder, narrowed to what every codec
# accepts with the same value (no NaN or Infinity, no number that is infinite as a double, no
# integer outside 64 bits, no \u escape of a surrogate, valid UTF-8); anything else, and every
# line after that, goes to the codec, whose verdict and message are the ones given. Results
# are the same either way (tests/test_reader.py holds the two to it).

_PLAIN_BYTES = 1 << 20
_plain_left = _PLAIN_BYTES
_codec_loads: Callable[[bytes], Any] | None = None


def _int64(text: str) -> int:
    value = int(text)
    if not -(1 << 63) <= value < 1 << 64:
        raise ValueError("integer outside 64 bits")  # orjson reads it as a float
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value - value != 0.0:
        raise ValueError("number is infinite as a double")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_PLAIN = json.JSONDecoder(parse_int=_int64, parse_float=_finite, parse_constant=_no_constant)


def _codec() -> Callable[[bytes], Any]:
    global _codec_loads
    if _codec_loads is None:
        from ..record import codec

        _codec_loads = codec.loads
    return _codec_loads


def loads(raw: bytes) -> Any:
    """Decode one line of JSON as the codec's ``loads`` does (raising ``ValueError``)."""
    global _plain_left
    if _plain_left > 0:
        _plain_left -= len(raw)
        if b"\\ud" not in raw and b"\\uD" not in raw:
            try:
                return _PLAIN.decode(raw.decode("utf-8"))
            except (ValueError, RecursionError):
                pass  # the codec says what is wrong, or reads what the narrow decoder would not
    return _codec()(raw)


def decode_line(raw: bytes) -> tuple[Any, str | None]:
    """The value of a line, or None and why it is not valid JSON."""
    try:
        return loads(raw), None
    except ValueError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            return (
                None,
                f"not valid UTF-8 (byte 0x{raw[uexc.start]:02x} at column {uexc.start + 1})",
            )
        msg = str(exc).split("\n")[0]
        return None, f"not valid JSON ({msg})"


def read_events(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    run: str | Collection[str] | None = None,
    kind: str | Collection[str] | None = None,
    strict: bool = True,
    report: ReadReport | None = None,
    name: str | None = None,
) -> Iterator[Line]:
    """Yield the events of a trace file as :class:`Line` (line number, event).

    ``source`` is a path, ``-`` (stdin), a ``.gz`` path, or a binary stream. ``run`` and
    ``kind`` keep only events of those runs or kinds (a name or a collection of names).
    ``strict`` (default) raises :class:`TraceFormatError` on the first bad line; otherwise bad
    lines are skipped and recorded in ``report``. A torn last line is skipped in both modes
    and recorded in ``report.torn`` (or, with no report, issued as a :class:`TornLineWarning`).
    ``name`` is how messages name the source (default: its path, ``<stdin>`` for ``-``).
    """
    runs = _as_set(run)
    kinds = _as_set(kind)
    name = name if name is not None else display_name(source)
    if report is not None:
        report.path = name
    stream = open_source(source)
    owned = stream is not source and stream is not sys.stdin.buffer
    try:
        yield from _iter(stream, name, runs, kinds, strict, report)
    finally:
        if owned:
            stream.close()


def _iter(
    stream: IO[bytes],
    name: str,
    runs: frozenset[str] | None,
    kinds: frozenset[str] | None,
    strict: bool,
    report: ReadReport | None,
) -> Iterator[Line]:
    lineno = 0
    pending: tuple[int, str] | None = None
    direct: Callable[[bytes], Any] | None = None
    try:
        # (raw_lines, inlined: one generator less on every line of every command)
        for raw in stream:
            lineno += 1
            if report is not None:
                report.lines += 1
                report.bytes_read += len(raw)
            if pending is not None:
                # The previous bad line was not the last: it is an ordinary bad line.
                _bad(name, *pending, strict, report)
                pending = None
            # The usual line first: it decodes (trailing "\r\n" is JSON whitespace) to an
            # object whose required keys are right. Anything else takes the long way below,
            # which gives every verdict and message.
            obj: Any
            try:
                if direct is None:
                    obj = loads(raw)
                    if _plain_left <= 0:
                        # Past the first MiB: the codec's loads, without the calls around it.
                        direct = _codec()
                else:
                    obj = direct(raw)
            except ValueError:
                obj = None
            quick = type(obj) is dict
            if quick:
                ts: Any = obj.get("ts")
                tt = type(ts)
                run, kind = obj.get("run"), obj.get("kind")
                quick = ((tt is float and ts - ts == 0.0) or tt is int) and (
                    type(run) is str and run != "" and type(kind) is str and kind != ""
                )
            if not quick:
                obj, reason = _long_way(raw)
                if reason is not None:
                    if raw.endswith(b"\n"):
                        _bad(name, lineno, reason, strict, report)
                    elif reason is not _EMPTY:
                        pending = (lineno, reason)
                    continue
            if report is not None:
                report.events += 1
            if runs is not None and obj["run"] not in runs:
                continue
            if kinds is not None and obj["kind"] not in kinds:
                continue
            yield _new_line(Line, (lineno, obj))  # Line(lineno, obj), less its Python __new__
    except GZIP_ERRORS as exc:
        raise TraceFormatError(name, lineno + 1, gzip_error_reason(exc)) from None
    if pending is not None:
        _torn(Problem(name, pending[0], f"torn last line skipped ({pending[1]})"), report)


def _torn(problem: Problem, report: ReadReport | None) -> None:
    """A last line with no newline that does not parse: the writer died mid-write."""
    if report is not None:
        report.torn = problem
        report.skipped += 1
    else:
        warnings.warn(str(problem), TornLineWarning, stacklevel=4)


_EMPTY = "empty line"
_new_line = tuple.__new__


def _long_way(raw: bytes) -> tuple[Any, str | None]:
    """A line that is not the usual event: its event, or None and why it is not one (an
    empty line as ``_EMPTY``: only a complete one is reported)."""
    body = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
    if not body.strip():
        return None, _EMPTY
    obj, reason = decode_line(body)
    if reason is None:
        reason = check_required(obj)
    return obj, reason


def _bad(name: str, lineno: int, reason: str, strict: bool, report: ReadReport | None) -> None:
    if strict:
        raise TraceFormatError(name, lineno, reason)
    if report is not None:
        report.add(Problem(name, lineno, reason))


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a whole run is read into memory.

    Parsed JSON cannot form reference cycles, so the collector finds nothing in it, yet its
    full collections walk every live object: reading N steps with it running costs O(N^2)
    (measured: 17 us per step at 100k steps against 9 us paused). Restored on exit, and left
    alone when it was already off.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

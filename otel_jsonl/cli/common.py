"""What every sub-command shares: exit codes, error printing, reading with a report, and a
progress bar that shows on a terminal and stays quiet when output is piped."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..exceptions import OtelJsonlError
from ..read.lines import Line, ReadReport, read_events

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import ExitStack

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as ``otel-jsonl: error: ...`` with an exit code (1 by default)."""

    def __init__(self, message: str, code: int = EXIT_DATA) -> None:
        super().__init__(message)
        self.code = code


def print_error(message: str) -> None:
    """Print ``otel-jsonl: error: message`` to stderr."""
    print(f"otel-jsonl: error: {message}", file=sys.stderr)


def check_readable(path: str) -> None:
    """Raise CliError when ``path`` (not ``-``) does not exist or is not a file."""
    if path == "-":
        return
    if not os.path.exists(path):
        raise CliError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CliError(f"{path}: is a directory")


#: The help of a FILE argument that takes files, directories and globs.
FILES_HELP = (
    "trace files, directories or globs (- for stdin, .gz ok); rotated sets are read in time "
    "order, as one"
)


def expand_args(args: str | Sequence[str]) -> list[str]:
    """The files command-line arguments name (see
    :func:`~otel_jsonl.read.fileset.expand_sources`), each checked to be readable."""
    names = [args] if isinstance(args, str) else list(args)
    if all(name == "-" or os.path.isfile(name) for name in names):
        return names  # files as they are (what expand_sources gives), without loading it
    from ..read.fileset import FileSetError, expand_sources

    try:
        files = expand_sources(names)
    except FileSetError as exc:
        raise CliError(str(exc)) from None
    for path in files:
        check_readable(path)
    return files


def iter_sources(
    args: str | Sequence[str],
    *,
    reports: list[ReadReport] | None = None,
    **kwargs: Any,
) -> Iterator[Line]:
    """:func:`iter_lines` over every file the arguments name, read as one stream; one report
    per file is appended to ``reports``."""
    for path in expand_args(args):
        report = ReadReport()
        if reports is not None:
            reports.append(report)
        yield from iter_lines(path, report=report, **kwargs)


def iter_lines(
    path: str,
    *,
    strict: bool = False,
    report: ReadReport | None = None,
    run: str | None = None,
    kind: str | None = None,
    progress: bool = True,
    out: IO[str] | None = None,
    torn_note: str = "",
    name: str | None = None,
) -> Iterator[Line]:
    """Read ``path`` for a command: bad lines are printed as ``file:line: reason`` (to ``out``,
    stderr by default) as they are met (lenient) or end the command (strict); a torn last line
    is reported, followed by ``torn_note``. Shows a progress bar on a terminal for large
    files."""
    check_readable(path)

    def say(message: str) -> None:
        print(message, file=out if out is not None else sys.stderr)

    report = report if report is not None else ReadReport()
    shown = 0
    bar = Progress(path) if progress else None
    live = bar if bar is not None and bar.active else None
    problems = report.problems
    try:
        for line in read_events(path, run=run, kind=kind, strict=strict, report=report, name=name):
            while shown < len(problems):
                say(str(problems[shown]))
                shown += 1
            if live is not None:
                live.update(line.lineno, report.bytes_read)
            yield line
    except OtelJsonlError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{name or path}: {exc.strerror or exc}") from None
    finally:
        if bar is not None:
            bar.close()
    while shown < len(report.problems):
        say(str(report.problems[shown]))
        shown += 1
    # skipped counts the torn last line too; it is reported on its own below.
    hidden = report.skipped - len(report.problems) - (1 if report.torn is not None else 0)
    if hidden > 0:
        say(f"{name or path}: {hidden} more bad lines not shown")
    if report.torn is not None:
        say(f"{report.torn}{torn_note}")


class Progress:
    """A one-line progress bar on stderr for reading a large file.

    Drawn only when the stream is a terminal and the file is at least ``min_bytes`` (8 MiB)
    long, so piped output and small files stay quiet; at most ten redraws a second; erased on
    :meth:`close`. Shows the share of the file read (for ``.gz`` files, lines only).
    """

    WIDTH = 24

    def __init__(
        self,
        path: str,
        stream: IO[str] | None = None,
        min_bytes: int = 8 << 20,
        clock: Any = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.path = path
        self.total = 0
        self.active = False
        self.drawn = 0
        self._clock = clock
        self._last = float("-inf")
        if path != "-" and _isatty(self.stream):
            try:
                self.total = os.path.getsize(path)
            except OSError:
                self.total = 0
            self.active = self.total >= min_bytes
            if path.endswith(".gz"):
                self.total = 0  # compressed size: a share of it would mean nothing

    def update(self, lineno: int, bytes_read: int | None = None) -> None:
        """Note that ``lineno`` lines (``bytes_read`` bytes) were read; redraw if it is time."""
        if not self.active:
            return
        now = self._clock()
        if now - self._last < 0.1:
            return
        self._last = now
        if self.total and bytes_read is not None:
            share = min(1.0, bytes_read / self.total)
            done = int(share * self.WIDTH)
            bar = "#" * done + "-" * (self.WIDTH - done)
            text = f"{self.path} [{bar}] {share:4.0%}  {lineno:,} lines"
        else:
            text = f"{self.path}: {lineno:,} lines"
        self.stream.write("\r" + text)
        self.stream.flush()
        self.drawn += 1

    def close(self) -> None:
        """Erase the progress line."""
        if self.active and self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def spool_stdin(stack: ExitStack) -> str:
    """Copy stdin to a temporary file so a strict check can read it twice."""
    import shutil
    import tempfile

    # Deleted when the command's ExitStack closes.
    tmp = stack.enter_context(
        tempfile.NamedTemporaryFile(prefix="otel-jsonl-", suffix=".jsonl")  # noqa: SIM115
    )
    shutil.copyfileobj(sys.stdin.buffer, tmp)
    tmp.flush()
    return tmp.name


def spool_files(files: Sequence[str], stack: ExitStack) -> str:
    """One temporary file holding ``files`` one after the other (``.gz`` decompressed), for a
    command that reads a set twice by offset (``show``); deleted when ``stack`` closes."""
    import tempfile

    from ..read.lines import open_source

    tmp = stack.enter_context(
        tempfile.NamedTemporaryFile(prefix="otel-jsonl-", suffix=".jsonl")  # noqa: SIM115
    )
    for path in files:
        try:
            with open_source(path) as src:
                last = b"\n"
                while chunk := src.read(1 << 20):
                    tmp.write(chunk)
                    last = chunk[-1:]
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror or exc}") from None
        if last != b"\n":
            tmp.write(b"\n")  # a torn last line must not run into the next file's first
    tmp.flush()
    return tmp.name

"""``view``: a run, or the diff of two, as one self-contained HTML page, opened in a browser."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..exceptions import OtelJsonlError
from ..read.runs import RunEvents, read_run
from .common import EXIT_OK, EXIT_USAGE, CliError, expand_args


def register(sub: Any, only: str | None = None) -> None:
    """Add the view command to the sub-command parser. (``only`` names it or is None.)"""
    p = sub.add_parser(
        "view",
        help="a run as one offline HTML page (or two runs' diff), opened in your browser",
        description="Write a run as ONE self-contained HTML page (no network, no server: it "
        "works from file:// and as an attachment) and open it in the browser; with -o, only "
        "write it. With two files (or one file and --run twice) the page shows the two runs "
        "aligned side by side, their differences marked.",
    )
    p.add_argument(
        "file_a", metavar="FILE", help="trace file, directory or glob (- for stdin, .gz ok)"
    )
    p.add_argument(
        "file_b",
        metavar="B",
        nargs="?",
        default=None,
        help="a second trace file (directory, glob): show the diff",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="OUT.html",
        help="write the page here (- for stdout) instead of a temporary file opened in the browser",
    )
    p.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="R",
        help="run id, once per file (needed if a file holds several); "
        "with one file, twice to compare two of its runs",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="embed the full values of capped fields (from blobs/ beside the trace) in the page",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KEY",
        help="in a diff, also ignore this dotted path (as diff --ignore); repeatable",
    )
    p.set_defaults(func=cmd_view)


def _plan(args: argparse.Namespace) -> tuple[str, str | None, str | None, str | None]:
    """Which file and run is A, and which (if any) is B."""
    runs: list[str] = args.run
    if len(runs) > 2:
        raise CliError("--run at most twice (one run per side)", EXIT_USAGE)
    if args.file_b is None:
        if len(runs) == 2:
            return args.file_a, runs[0], args.file_a, runs[1]
        return args.file_a, runs[0] if runs else None, None, None
    run_a = runs[0] if runs else None
    run_b = runs[1] if len(runs) > 1 else None
    return args.file_a, run_a, args.file_b, run_b


def _temp_page(run: str | None) -> Path:
    """A new 0600 file for the page in the temporary directory."""
    label = re.sub(r"[^A-Za-z0-9_.-]", "", run or "")[:32] or "run"
    fd, name = tempfile.mkstemp(prefix=f"otel-jsonl-{label}-", suffix=".html")
    os.close(fd)
    return Path(name)


def _source(path: str, run: str | None) -> str | RunEvents:
    """A file as it is; a directory, a glob or a rotated set read as one run."""
    files = expand_args(path)
    if len(files) == 1:
        return files[0]
    try:
        return read_run(files, run)
    except OtelJsonlError as exc:
        raise CliError(str(exc)) from None


def cmd_view(args: argparse.Namespace) -> int:
    """Write the page; open it in the browser unless -o was given."""
    import webbrowser

    from ..analyze.html import view_html, write_html

    file_a, run_a, file_b, run_b = _plan(args)
    if "-" in (file_a, file_b) and file_a == file_b:
        raise CliError("stdin can be read once: compare two runs of a file, not of -", EXIT_USAGE)
    source_a = _source(file_a, run_a)
    source_b = _source(file_b, run_b) if file_b is not None else None
    to_stdout = args.output == "-"
    page = None if to_stdout else Path(args.output) if args.output else _temp_page(run_a)
    try:
        text = view_html(
            source_a,
            source_b,
            run_a=run_a,
            run_b=run_b,
            full=args.full,
            page=page,
            ignore=args.ignore,
        )
    except (OtelJsonlError, OSError) as exc:
        if page is not None and not args.output:
            page.unlink(missing_ok=True)  # the empty temporary file made for the page
        if isinstance(exc, OtelJsonlError):
            raise CliError(str(exc)) from None
        raise CliError(f"{exc.filename or file_a}: {exc.strerror or exc}") from None
    if page is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_html(page, text)
    except OSError as exc:
        raise CliError(f"{page}: {exc.strerror or exc}") from None
    if args.output:
        print(f"wrote {page}")
        return EXIT_OK
    print(f"wrote {page}; opening it in your browser")
    if not webbrowser.open(page.resolve().as_uri()):
        print("no browser found: open the file above in one", file=sys.stderr)
    return EXIT_OK

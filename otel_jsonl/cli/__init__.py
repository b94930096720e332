"""The ``otel-jsonl`` command: argument parsing, output formatting and exit codes only.

Each group of commands lives in a module of ``otel_jsonl.cli`` with a ``register(subparsers)``
function; the work itself is done by library functions. Data goes to stdout, errors to stderr
as ``otel-jsonl: error: ...``. Exit codes: 0 ok, 1 differences found or a data error, 2 usage,
130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    import argparse

__all__ = ["COMMANDS", "COMMAND_MODULES", "build_parser", "main"]

#: Modules of ``otel_jsonl.cli`` whose ``register()`` adds sub-commands, in help order.
COMMAND_MODULES = ("data", "convert", "replay", "show", "serve", "view", "ship")

#: The module that registers each sub-command: a command line that names one builds only that
#: command's parser and imports only its module (start-up is part of every command's cost).
COMMANDS = {
    "validate": "data",
    "runs": "data",
    "demo": "data",
    "convert": "convert",
    "import": "convert",
    "replay": "replay",
    "diff": "replay",
    "show": "show",
    "stats": "show",
    "serve": "serve",
    "view": "view",
    "ship": "ship",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command (also used by the docs test to list them), or only
    ``command`` (a name in :data:`COMMANDS`), which parses that command's arguments alike."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="otel-jsonl",
        description="Agent traces as JSON lines: record, read, replay, diff and ship to OTLP.",
    )
    parser.add_argument("--version", action="version", version=f"otel-jsonl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if command is None or COMMANDS.get(command) == name:
            module = importlib.import_module(f"otel_jsonl.cli.{name}")
            module.register(sub, only=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:
        # Answered before any command module (and what it imports) is loaded.
        print(f"otel-jsonl {__version__}")
        return 0
    from .common import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE, CliError, print_error

    # A known command word first builds that command alone; anything else (help, a typo) the
    # full parser, so its messages list every command.
    parser = build_parser(args_list[0] if args_list and args_list[0] in COMMANDS else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except CliError as exc:
        print_error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `otel-jsonl show trace.jsonl | head`: the reader went away; that is not an error.
        _silence_stdout()
        return 0
    except Exception as exc:  # broad: the last line of defence, a user never sees a traceback
        if os.environ.get("OTEL_JSONL_DEBUG"):
            raise
        print_error(
            f"unexpected {type(exc).__name__}: {exc} (a bug in otel-jsonl: please report it; "
            "OTEL_JSONL_DEBUG=1 shows the traceback)"
        )
        return EXIT_DATA


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

"""``replay`` and ``diff``: the commands that read one run (or two) whole."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..exceptions import OtelJsonlError
from .common import EXIT_DATA, EXIT_OK, CliError, expand_args

if TYPE_CHECKING:  # pragma: no cover
    from ..read.runs import RunEvents

# What each command reads and renders is imported inside it: a command pays only for its own.


def register(sub: Any, only: str | None = None) -> None:
    """Add the replay and diff commands to the sub-command parser (or only the one named)."""
    if only in (None, "replay"):
        _add_replay(sub)
    if only in (None, "diff"):
        _add_diff(sub)


def _add_replay(sub: Any) -> None:
    from ..analyze.replay import FORMATS

    p = sub.add_parser(
        "replay",
        help="print the messages the model saw at a step",
        description="Print, as JSON, the messages the model was sent at step N (the event's "
        "seq) of a run, in a form ready to send again.",
    )
    p.add_argument(
        "file", metavar="FILE", help="trace file, directory or glob (- for stdin, .gz ok)"
    )
    p.add_argument("--step", type=int, required=True, metavar="N", help="step (seq) to replay")
    p.add_argument("--run", default=None, metavar="R", help="run id (needed if several)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="openai",
        help="openai (default): messages list; anthropic: {system, messages}; "
        "genai: GenAI parts messages; responses: {instructions, input}; "
        "gemini: {systemInstruction, contents}",
    )
    p.add_argument("--full", action="store_true", help="restore capped values from the blob store")
    p.add_argument(
        "--blob-dir", default=None, metavar="DIR", help="blob store (default: blobs/ beside FILE)"
    )
    p.add_argument(
        "--allow-missing-input",
        action="store_true",
        help="replay a run with no input event (its first messages are missing)",
    )
    p.set_defaults(func=cmd_replay)


def _add_diff(sub: Any) -> None:
    from ..analyze.diff import DEFAULT_IGNORE

    p = sub.add_parser(
        "diff",
        help="compare two runs step by step",
        description="Align the steps of two runs and print where they differ. Exit 0 when "
        "equal, 1 when they differ. Ignored: " + ", ".join(DEFAULT_IGNORE) + ".",
    )
    p.add_argument("file_a", metavar="A", help="trace file (directory, glob) of run A")
    p.add_argument("file_b", metavar="B", help="trace file (directory, glob) of run B (may be A)")
    p.add_argument("--run-a", default=None, metavar="X", help="run of A (needed if several)")
    p.add_argument("--run-b", default=None, metavar="Y", help="run of B (needed if several)")
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KEY",
        help="also ignore this dotted path (* one level, ** any); repeatable",
    )
    p.add_argument("--json", action="store_true", help="the differences as one JSON object")
    p.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="differences to print (default 50; 0 for all)",
    )
    p.set_defaults(func=cmd_diff)


def _read(path: str, run: str | None) -> RunEvents:
    from ..read.lines import ReadReport
    from ..read.runs import read_run

    files = expand_args(path)
    try:
        return read_run(files if len(files) > 1 else files[0], run, report=ReadReport())
    except OtelJsonlError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    """Print the replayed messages as JSON; warnings go to stderr."""
    from ..analyze.replay import replay_step

    events = _read(args.file, args.run)
    if args.full and args.file == "-" and args.blob_dir is None:
        raise CliError("--full on stdin needs --blob-dir")
    try:
        result = replay_step(
            events,
            args.step,
            format=args.format,
            full=args.full,
            blob_dir=args.blob_dir,
            allow_missing_input=args.allow_missing_input,
        )
    except OtelJsonlError as exc:
        raise CliError(str(exc)) from None
    for warning in result.warnings:
        print(f"otel-jsonl: warning: {warning}", file=sys.stderr)
    print(json.dumps(result.payload, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """Diff two runs; exit 1 when they differ."""
    from ..analyze.diff import diff_runs
    from ..analyze.terminal import format_diff

    run_a = _read(args.file_a, args.run_a)
    run_b = _read(args.file_b, args.run_b)
    result = diff_runs(run_a, run_b, ignore=args.ignore)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, default=repr))
    else:
        print(format_diff(result, args.file_a, args.file_b, args.limit))
    return EXIT_OK if result.equal else EXIT_DATA

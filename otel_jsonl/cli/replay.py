"""``replay``, ``diff``, ``show`` and ``stats``: the commands that look inside runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from typing import Any

from ..analyze.diff import DEFAULT_IGNORE, diff_runs
from ..analyze.pricing import PRICES, load_prices
from ..analyze.replay import FORMATS, replay_step
from ..analyze.stats import compute_stats, render_stats
from ..analyze.terminal import format_diff, render_header, render_step
from ..exceptions import OtelJsonlError
from ..read.follow import FOLLOW_INTERVAL, follow_events
from ..read.lines import ReadReport
from ..read.runs import RunEvents, iter_run_steps, read_run, step_events, summarize_runs
from .common import (
    EXIT_DATA,
    EXIT_OK,
    FILES_HELP,
    CliError,
    check_readable,
    expand_args,
    iter_lines,
    iter_sources,
    spool_files,
    spool_stdin,
)


def register(sub: Any) -> None:
    """Add the replay, diff, show and stats commands to the sub-command parser."""
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

    p = sub.add_parser(
        "show",
        help="draw a run as a timeline",
        description="One row per step: step, time since the run started, duration, kind, "
        "and model, tokens, tool names and arguments, results, errors (long values shortened).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    p.add_argument("--run", default=None, metavar="R", help="show only this run")
    p.add_argument(
        "--width",
        type=int,
        default=100,
        metavar="N",
        help="characters of detail per row (default 100)",
    )
    p.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep watching the file for new steps (Ctrl-C to stop)",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI colours (auto: on a terminal, unless NO_COLOR is set)",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "stats",
        help="tokens, estimated cost, tool calls, errors and wall time per run",
        description="Per run: steps, model calls, tokens in and out, an estimated cost from "
        "the price table (otel_jsonl.pricing; --prices to override), tool calls, errors, "
        "wall time. A model with no price shows its cost as ?.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    p.add_argument("--run", default=None, metavar="R", help="only this run")
    p.add_argument(
        "--prices",
        default=None,
        metavar="FILE.json",
        help='prices to add or override: {"model": {"input": USD/M, "output": USD/M}}',
    )
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    p.set_defaults(func=cmd_stats)


def _read(path: str, run: str | None) -> RunEvents:
    files = expand_args(path)
    try:
        return read_run(files if len(files) > 1 else files[0], run, report=ReadReport())
    except OtelJsonlError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    """Print the replayed messages as JSON; warnings go to stderr."""
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
    run_a = _read(args.file_a, args.run_a)
    run_b = _read(args.file_b, args.run_b)
    result = diff_runs(run_a, run_b, ignore=args.ignore)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, default=repr))
    else:
        print(format_diff(result, args.file_a, args.file_b, args.limit))
    return EXIT_OK if result.equal else EXIT_DATA


def _use_color(mode: str) -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def cmd_show(args: argparse.Namespace) -> int:
    """Print each run as a timeline; with --follow keep printing new steps."""
    color = _use_color(args.color)
    if args.follow:
        if len(args.files) != 1:
            raise CliError("--follow follows one file (its rotated set included)")
        return _follow(args.files[0], args.run, color, args.width)
    files = expand_args(args.files)
    with ExitStack() as stack:
        # Two reads, so memory stays flat on any file: the first sums up the runs (and says
        # where each lies), the second draws one run at a time. stdin is spooled to re-read it,
        # and several files (a rotated set) are spooled into one.
        if len(files) > 1:
            name = f"{files[0]} (+{len(files) - 1} files)"
            path = spool_files(files, stack)
        else:
            name = files[0]
            path = spool_stdin(stack) if name == "-" else name
        report = ReadReport()
        summaries = summarize_runs(
            iter_lines(path, run=args.run, report=report, name=name), report=report
        )
        if args.run is not None and not summaries:
            raise CliError(f"{' '.join(args.files)}: no run {args.run!r}")
        for i, summary in enumerate(summaries):
            if i:
                print()
            print(
                render_header(
                    summary.run, summary.first_ts, summary.steps, summary.duration, color=color
                )
            )
            t0 = summary.first_ts
            for st in iter_run_steps(path, summary):
                print(render_step(st.step, st.event, t0, color=color, width=args.width))
    return EXIT_OK


def _follow(
    path: str,
    run: str | None,
    color: bool,
    width: int,
    interval: float = FOLLOW_INTERVAL,
    max_polls: int | None = None,
) -> int:
    """Print steps as they are appended to ``path`` until Ctrl-C (or ``max_polls`` polls)."""
    if path == "-":
        raise CliError("--follow needs a file, not stdin")
    check_readable(path)
    t0s: dict[str, float] = {}
    numbered = step_events(
        follow_events(
            path,
            run=run,
            interval=interval,
            max_polls=max_polls,
            on_problem=lambda p: print(p, file=sys.stderr),
            on_note=lambda n: print(f"otel-jsonl: {n}", file=sys.stderr),
            on_wait=sys.stdout.flush,  # not a flush (a write) per step
        )
    )
    for st in numbered:
        if st.step < 0:
            continue
        rid = st.event["run"]
        if rid not in t0s:
            start = st.event.get("start")
            t0s[rid] = float(start) if isinstance(start, (int, float)) else float(st.event["ts"])
            print(render_header(rid, t0s[rid], color=color))
        print(render_step(st.step, st.event, t0s[rid], color=color, width=width))
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """Print per-run totals and estimated cost."""
    prices = PRICES
    if args.prices:
        try:
            prices = load_prices(args.prices)
        except OSError as exc:
            raise CliError(f"{args.prices}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
    stats = compute_stats(iter_sources(args.files, run=args.run), prices)
    if args.run is not None and not stats:
        raise CliError(f"{' '.join(args.files)}: no run {args.run!r}")
    if args.json:
        for s in stats:
            print(json.dumps(s.to_dict(), ensure_ascii=False))
    else:
        print(render_stats(stats))
    return EXIT_OK

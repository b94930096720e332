"""``show`` and ``stats``: a run as a timeline, and the totals of each run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .common import (
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

# What each command reads and renders is imported inside it: a command pays only for its own.


def register(sub: Any, only: str | None = None) -> None:
    """Add the show and stats commands to the sub-command parser (or only the one named)."""
    if only in (None, "show"):
        _add_show(sub)
    if only in (None, "stats"):
        _add_stats(sub)


def _add_show(sub: Any) -> None:
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


def _add_stats(sub: Any) -> None:
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
    from contextlib import ExitStack

    from ..analyze.terminal import render_header, render_step
    from ..read.lines import ReadReport
    from ..read.runs import iter_run_steps, summarize_runs

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
    interval: float | None = None,
    max_polls: int | None = None,
) -> int:
    """Print steps as they are appended to ``path`` until Ctrl-C (or ``max_polls`` polls)."""
    from ..analyze.terminal import render_header, render_step
    from ..read.follow import FOLLOW_INTERVAL, follow_events
    from ..read.runs import step_events

    if path == "-":
        raise CliError("--follow needs a file, not stdin")
    check_readable(path)
    t0s: dict[str, float] = {}
    numbered = step_events(
        follow_events(
            path,
            run=run,
            interval=FOLLOW_INTERVAL if interval is None else interval,
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
    from ..analyze.pricing import PRICES, load_prices
    from ..analyze.stats import compute_stats, render_stats

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

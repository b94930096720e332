"""``validate``, ``runs`` and ``demo``: the commands that check and summarise trace files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    EXIT_DATA,
    EXIT_OK,
    FILES_HELP,
    CliError,
    expand_args,
    iter_lines,
    iter_sources,
)


def register(sub: Any, only: str | None = None) -> None:
    """Add the data commands to the sub-command parser (or only the one named)."""
    if only in (None, "validate"):
        _add_validate(sub)
    if only in (None, "runs"):
        _add_runs(sub)
    if only in (None, "demo"):
        _add_demo(sub)


def _add_validate(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check trace files against the event schema",
        description="Check every line of each FILE against the event schema. "
        "Each bad line is printed as FILE:LINE: REASON; exit 1 if any.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="print only bad lines")
    p.set_defaults(func=cmd_validate)


def _add_runs(sub: Any) -> None:
    p = sub.add_parser(
        "runs",
        help="list the runs in a trace file",
        description="One row per run: steps, start, wall time, tokens, errors.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line")
    p.set_defaults(func=cmd_runs)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="record a scripted agent loop with a built-in fake model",
        description="Run a two-turn tool-using agent loop against a built-in "
        "fake model (no key, no network), record it, and print what was recorded.",
    )
    p.add_argument(
        "-o",
        "--output",
        default="traces/demo.jsonl",
        metavar="PATH",
        help="trace file to append to (default: traces/demo.jsonl)",
    )
    p.add_argument(
        "--run-id", default=None, type=_run_id, help="run id to record under (default: random)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the steps")
    p.set_defaults(func=cmd_demo)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate files; print each problem as file:line: reason, then a summary line."""
    from ..read.lines import ReadReport
    from ..schema import validate_event

    total_events = total_bad = 0
    out = sys.stdout
    files = expand_args(args.files)
    for path in files:
        report = ReadReport()
        events = bad = 0
        lines = iter_lines(
            path, report=report, out=out, torn_note=" (warning: the writer died mid-line)"
        )
        for lineno, event in lines:
            problems = validate_event(event)
            if problems:
                bad += 1
                for reason in problems:
                    print(f"{report.path}:{lineno}: {reason}", file=out)
            else:
                events += 1
        # A torn last line is only a warning: the writer died, the lines before it are whole.
        bad += report.skipped - (1 if report.torn is not None else 0)
        total_events += events
        total_bad += bad
        if not args.quiet:
            print(f"{report.path}: {events} valid, {bad} bad ({report.lines} lines)", file=out)
    if not args.quiet and len(files) > 1:
        print(f"{len(files)} files: {total_events} valid, {total_bad} bad", file=out)
    return EXIT_DATA if total_bad else EXIT_OK


def _iso(ts: float) -> str:
    import datetime

    try:
        stamp = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return f"{ts!r} (no date)"  # a time no calendar holds: show the number
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs with step counts, time span and token totals."""
    from ..read.lines import ReadReport
    from ..read.runs import summarize_runs

    reports: list[ReadReport] = []
    summaries = summarize_runs(iter_sources(args.files, strict=args.strict, reports=reports))
    if args.json:
        import json

        for s in summaries:
            print(
                json.dumps(
                    {
                        "run": s.run,
                        "steps": s.steps,
                        "start": s.first_ts,
                        "end": s.last_ts,
                        "duration": round(s.duration, 6),
                        "input_tokens": s.input_tokens,
                        "output_tokens": s.output_tokens,
                        "errors": s.errors,
                        "kinds": dict(s.kinds),
                    },
                    ensure_ascii=False,
                )
            )
    else:
        from ..analyze.textwidth import clean, pad
        from ..analyze.textwidth import width as text_width

        names = [clean(s.run) for s in summaries]
        width = max([len("RUN"), *(text_width(n) for n in names)])
        print(
            f"{'RUN':<{width}}  {'STEPS':>5}  {'START (UTC)':<20}  {'WALL':>8}  "
            f"{'TOK IN':>8}  {'TOK OUT':>8}  {'ERRORS':>6}"
        )
        for s, name in zip(summaries, names, strict=True):
            print(
                f"{pad(name, width)}  {s.steps:>5}  {_iso(s.first_ts):<20}  "
                f"{s.duration:>7.2f}s  {s.input_tokens:>8}  {s.output_tokens:>8}  {s.errors:>6}"
            )
    return EXIT_DATA if any(r.skipped for r in reports) and args.strict else EXIT_OK


def _run_id(text: str) -> str:
    if not text or not text.isprintable() or text != text.strip():
        raise argparse.ArgumentTypeError(
            f"must be a non-empty printable string without surrounding spaces, got {text!r}"
        )
    return text


def cmd_demo(args: argparse.Namespace) -> int:
    """Record the demo loop and print its steps."""
    from ..demo import run_demo

    trace = run_demo(args.output, run_id=args.run_id)
    if trace.dropped:
        raise CliError(
            f"{args.output}: {trace.dropped} steps could not be written ({trace.last_error})"
        )
    if not args.quiet:
        from ..analyze.terminal import format_run
        from ..read.lines import read_events
        from ..read.runs import step_events

        steps = [s for s in step_events(read_events(args.output, run=trace.run_id)) if s.step >= 0]
        print(f"recorded run {trace.run_id} to {args.output}")
        print(format_run(trace.run_id, steps))
    return EXIT_OK

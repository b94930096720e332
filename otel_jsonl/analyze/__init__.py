"""Analysis of runs, data in and text out: replay (the messages the model saw at a step), diff
(two runs aligned), stats and pricing, terminal rendering and the offline HTML view. Standard
library only."""

from __future__ import annotations

from .diff import DEFAULT_IGNORE, Difference, RunDiff, diff_runs
from .html import view_html, write_html
from .replay import FORMATS, Replay, replay, replay_step
from .stats import RunStats, compute_stats, run_stats

__all__ = [
    "DEFAULT_IGNORE",
    "FORMATS",
    "Difference",
    "Replay",
    "RunDiff",
    "RunStats",
    "compute_stats",
    "diff_runs",
    "replay",
    "replay_step",
    "run_stats",
    "view_html",
    "write_html",
]

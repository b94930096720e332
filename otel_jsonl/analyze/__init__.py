"""Analysis of runs, data in and text out: replay (the messages the model saw at a step), diff
(two runs aligned), stats and pricing, terminal rendering and the offline HTML view. Standard
library only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:  # pragma: no cover
    from .diff import DEFAULT_IGNORE, Difference, RunDiff, diff_runs
    from .html import view_html, write_html
    from .replay import FORMATS, Replay, replay, replay_step
    from .stats import RunStats, compute_stats, run_stats

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "DEFAULT_IGNORE": "diff",
        "Difference": "diff",
        "RunDiff": "diff",
        "diff_runs": "diff",
        "view_html": "html",
        "write_html": "html",
        "FORMATS": "replay",
        "Replay": "replay",
        "replay": "replay",
        "replay_step": "replay",
        "RunStats": "stats",
        "compute_stats": "stats",
        "run_stats": "stats",
    },
    globals(),
)

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

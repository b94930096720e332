"""The read side: lines and events (the streaming reader), runs (reading one run, numbering
its steps, the one run summary), and following a file as it grows. Standard library only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:  # pragma: no cover
    from .follow import follow_events
    from .lines import Line, Problem, ReadReport, display_name, open_source, paused_gc, read_events
    from .runs import (
        RunEvents,
        RunSummary,
        Step,
        list_runs,
        read_run,
        step_events,
        summarize_runs,
        tokens_of,
    )

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "follow_events": "follow",
        "Line": "lines",
        "Problem": "lines",
        "ReadReport": "lines",
        "display_name": "lines",
        "open_source": "lines",
        "paused_gc": "lines",
        "read_events": "lines",
        "RunEvents": "runs",
        "RunSummary": "runs",
        "Step": "runs",
        "list_runs": "runs",
        "read_run": "runs",
        "step_events": "runs",
        "summarize_runs": "runs",
        "tokens_of": "runs",
    },
    globals(),
)

__all__ = [
    "Line",
    "Problem",
    "ReadReport",
    "RunEvents",
    "RunSummary",
    "Step",
    "display_name",
    "follow_events",
    "list_runs",
    "open_source",
    "paused_gc",
    "read_events",
    "read_run",
    "step_events",
    "summarize_runs",
    "tokens_of",
]

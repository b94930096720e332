"""The read side: lines and events (the streaming reader), runs (reading one run, numbering
its steps, the one run summary), and following a file as it grows. Standard library only."""

from __future__ import annotations

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

"""Following a trace file while a loop appends to it (``show -f``): complete lines as they
arrive, with their line numbers, and a bounded wait between polls. Standard library only."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from ..schema import check_required
from .lines import Line, Problem, decode_line

__all__ = ["FOLLOW_INTERVAL", "follow_events"]

#: Seconds between two looks at a file that did not grow.
FOLLOW_INTERVAL = 0.5


def follow_events(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    interval: float = FOLLOW_INTERVAL,
    max_polls: int | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Line]:
    """Yield the events of ``path`` from its first line on, then each new complete line as it
    is appended, until the caller stops (or after ``max_polls`` looks that found nothing new).

    A line still being written waits for its newline. A bad line is passed to ``on_problem``
    (``path:line: reason``) and skipped; it never stops the follow.
    """
    name = os.fspath(path)
    pending = b""
    lineno = 0
    polls = 0
    with open(path, "rb") as f:
        while max_polls is None or polls < max_polls:
            chunk = f.read()
            if not chunk:
                polls += 1
                sleep(interval)
                continue
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                lineno += 1
                if not raw.strip():
                    continue
                ev, reason = decode_line(raw)
                if reason is None:
                    reason = check_required(ev)
                if reason is not None:
                    if on_problem is not None:
                        on_problem(Problem(str(name), lineno, reason))
                    continue
                if run is None or ev["run"] == run:
                    yield Line(lineno, ev)

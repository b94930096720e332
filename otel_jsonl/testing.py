"""Helpers for tests of code that records with otel-jsonl: a ticking clock, an in-memory
trace, and parsed events. Standard library only.

    from otel_jsonl.testing import memory_trace

    def test_my_loop_records_a_final_step():
        trace, events = memory_trace()
        run_my_loop(trace)
        assert events()[-1]["kind"] == "final"
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from .read.lines import read_events
from .record.trace import Trace

__all__ = ["TickingClock", "memory_trace"]


class TickingClock:
    """A deterministic clock: ``start``, then ``start + step``, ``start + 2*step``, ..."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 0.5) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value


def memory_trace(
    *, run_id: str = "test0001", clock: Callable[[], float] | None = None, **options: Any
) -> tuple[Trace, Callable[[], list[dict[str, Any]]]]:
    """A strict :class:`Trace` writing to memory, and a function returning its events so far.

    The trace has a fixed ``run_id`` and a :class:`TickingClock` unless given others; other
    keyword arguments go to ``Trace`` (``cap``, ``redact``, ...). Being strict, a step that
    cannot be recorded raises, so a test sees it.
    """
    buffer = io.BytesIO()
    options.setdefault("strict", True)
    trace = Trace(
        stream=buffer,
        run_id=run_id,
        clock=clock if clock is not None else TickingClock(),
        **options,
    )

    def events() -> list[dict[str, Any]]:
        return [ev for _, ev in read_events(io.BytesIO(buffer.getvalue()))]

    return trace, events

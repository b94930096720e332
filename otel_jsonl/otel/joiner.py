"""The log joiner: GenAI log records wait for their span, so their content lands on the span's
``llm_call`` line when it is written (an optimisation of the write path; readers also join
``log`` lines at read time wherever they sit in the file)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["MAX_WRITTEN", "LogJoiner", "joiner_for"]

#: How many written spans a joiner remembers, so a late record is written at once.
MAX_WRITTEN = 16_384


class LogJoiner:
    """Holds GenAI log records until their span is written, so their content lands on the
    span's ``llm_call`` line.

    Records wait at most ``timeout`` seconds and at most ``max_pending`` of them wait at once;
    past either bound (or at shutdown) they are written as ``log`` lines, as are records whose
    span was already written.
    """

    def __init__(self, *, max_pending: int = 10_000, timeout: float = 30.0) -> None:
        self.max_pending = max_pending
        self.timeout = timeout
        self._lock = threading.Lock()
        # (trace_id, span_id) -> [(deadline, log line)]
        self._pending: OrderedDict[tuple[str, str], list[tuple[float, dict[str, Any]]]] = (
            OrderedDict()
        )
        self._count = 0
        self._written: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._sink: Callable[[list[dict[str, Any]]], None] | None = None

    def attach(self, sink: Callable[[list[dict[str, Any]]], None] | None) -> None:
        """Where expired records go (a log exporter's writer); None detaches."""
        self._sink = sink

    def attached(self, sink: Callable[[list[dict[str, Any]]], None]) -> bool:
        """Whether ``sink`` is where expired records go now."""
        return self._sink == sink

    def park(self, key: tuple[str, str], line: dict[str, Any]) -> bool:
        """Keep ``line`` for span ``key``; False when that span was already written."""
        evicted: list[dict[str, Any]] = []
        with self._lock:
            if key in self._written:
                return False
            self._pending.setdefault(key, []).append((time.monotonic() + self.timeout, line))
            self._count += 1
            while self._count > self.max_pending and self._pending:
                _, lines = self._pending.popitem(last=False)
                self._count -= len(lines)
                evicted.extend(line for _, line in lines)
        self._emit(evicted)
        return True

    def take(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        """Remove and return the lines waiting for span ``key``; remember it was written."""
        with self._lock:
            written = self._written
            written[key] = None
            if len(written) > MAX_WRITTEN:
                written.popitem(last=False)
            lines = self._pending.pop(key, None) if self._pending else None
            if not lines:
                return []
            self._count -= len(lines)
            return [line for _, line in lines]

    def expire(self, everything: bool = False) -> None:
        """Write the lines that waited too long (or all of them) as ``log`` lines."""
        now = time.monotonic()
        out: list[dict[str, Any]] = []
        with self._lock:
            if not self._pending:
                return
            for key in list(self._pending):
                lines = self._pending[key]
                if everything or lines[0][0] <= now:
                    del self._pending[key]
                    self._count -= len(lines)
                    out.extend(line for _, line in lines)
        self._emit(out)

    def _emit(self, lines: list[dict[str, Any]]) -> None:
        if lines and self._sink is not None:
            self._sink(lines)


# Exporters built from the same path (auto-configuration builds each with no arguments) share
# one joiner, so logs join spans without configure().
_JOINERS: dict[str, LogJoiner] = {}
_JOINERS_LOCK = threading.Lock()


def joiner_for(path: Path | None) -> LogJoiner | None:
    """The joiner shared by the exporters of ``path`` (None for a stream)."""
    if path is None:
        return None
    key = str(path.resolve())
    with _JOINERS_LOCK:
        return _JOINERS.setdefault(key, LogJoiner())

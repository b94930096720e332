"""The progress report of a file shipper: what was read and sent, and how far behind it is."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["ShipStatus"]


@dataclass
class ShipStatus:
    """Progress of a :class:`FileShipper`: what was read and sent, and how far behind it is."""

    lines: int = 0
    spans_sent: int = 0
    logs_sent: int = 0
    batches_sent: int = 0
    spans_suppressed: int = 0
    failed_attempts: int = 0
    waiting: int = 0
    lag: float = 0.0
    down_since: float | None = None
    last_error: str | None = None
    caught_up: bool = False
    bad_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self, now: float | None = None) -> str:
        """One line for a terminal or a log: ``sent 1200 spans in 3 batches; lag 0.4s; ...``."""
        batches = "batch" if self.batches_sent == 1 else "batches"
        logs = f" and {self.logs_sent} log records" if self.logs_sent else ""
        parts = [
            f"sent {self.spans_sent} spans{logs} in {self.batches_sent} {batches}",
            f"read {self.lines} lines",
            f"lag {self.lag:.1f}s",
        ]
        if self.waiting:
            parts.append(f"{self.waiting} spans waiting")
        if self.down_since is not None:
            down_for = (now if now is not None else time.monotonic()) - self.down_since
            reason = f" ({self.last_error})" if self.last_error else ""
            parts.append(f"backend down for {down_for:.0f}s{reason}")
        elif self.caught_up:
            parts.append("caught up")
        return "; ".join(parts)

"""What the converter keeps while it turns recorder lines into spans: its counts, a span being
built (:class:`Draft`), and the state of one open run (:class:`RunState`)."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import Event
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import Status

from ..genai import attributes as ga
from .ids import root_span_id, step_key
from .otlp_json import encode_span_fields

__all__ = ["ConvertStats", "Draft", "RunState", "ns"]


def ns(seconds: Any) -> int:
    """Seconds as OTLP integer nanoseconds (1970 to 2554), or ValueError / OverflowError."""
    value = round(float(seconds) * 1e9)  # NaN and infinities raise ValueError / OverflowError
    if not 0 <= value < 1 << 64:
        # OTLP times are fixed64 nanoseconds: such a span would make invalid OTLP.
        raise ValueError(f"time {seconds!r} s is outside what OTLP can hold (1970 to 2554)")
    return value


@dataclass
class ConvertStats:
    """What a conversion did."""

    lines: int = 0
    spans: int = 0
    runs: int = 0
    exporter_spans: int = 0
    unpaired_tool_calls: int = 0
    unpaired_tool_results: int = 0
    errors: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


class Draft:
    """A span being built from recorder lines."""

    __slots__ = (
        "attrs",
        "end",
        "events",
        "kind",
        "name",
        "parent_id",
        "seq",
        "span_id",
        "start",
        "status",
        "tool_name",
    )

    def __init__(
        self,
        name: str,
        span_id: int,
        parent_id: int,
        kind: SpanKind,
        start: int,
        end: int,
        attrs: dict[str, Any],
        seq: Any = None,
    ) -> None:
        self.name = name
        self.span_id = span_id
        self.parent_id = parent_id
        self.kind = kind
        self.start = start
        self.end = end
        self.attrs = attrs
        self.events: list[Event] = []
        self.status: Status | None = None
        self.seq = seq
        self.tool_name: str | None = None

    def encode(self, trace_hex: str, *, root: bool = False) -> dict[str, Any]:
        """This span as an OTLP JSON ``Span`` (a root has no parent)."""
        head = (self.name, self.kind, self.start, self.end)
        parent_id = None if root else self.parent_id
        return encode_span_fields(
            trace_hex, self.span_id, parent_id, head, self.attrs, self.events, self.status
        )


class RunState:
    """What the converter keeps about one open run."""

    __slots__ = (
        "finished",
        "first_ns",
        "held",
        "last_ns",
        "pending_errors",
        "position",
        "prev_ns",
        "root",
        "run",
        "step_key",
        "tools",
        "trace_hex",
        "trace_id",
        "untagged_tools",
    )

    def __init__(self, run: str, trace_id: int, position: int = 0, prev_ns: int | None = None):
        self.run = run
        self.step_key = step_key(run)
        self.trace_id = trace_id
        self.trace_hex = f"{trace_id:032x}"
        self.position = position
        self.prev_ns = prev_ns
        self.first_ns: int | None = None
        self.last_ns: int = 0
        self.root = Draft(
            "invoke_agent",
            root_span_id(run),
            0,
            SpanKind.INTERNAL,
            0,
            0,
            ga.agent_attributes(),
        )
        self.held: Draft | None = None
        # call id -> draft of a tool_call waiting for its tool_result (insertion ordered).
        self.tools: OrderedDict[str, Draft] = OrderedDict()
        # tool_calls without an id (the article's), paired with the next tool_result in order.
        self.untagged_tools: deque[Draft] = deque()
        # errors naming a tool that has not been called yet (the article logs them first).
        self.pending_errors: list[tuple[str, Mapping[str, Any]]] = []
        self.finished = False

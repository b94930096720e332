"""Per-run totals and an estimated cost (``otel-jsonl stats``), from the one run summary
that ``runs`` and ``show`` use too, and the table that prints them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..read.lines import Line, Plain
from ..read.runs import RunSummary, summarize_runs
from .pricing import PRICES, Price, cost_of
from .textwidth import clean, pad
from .textwidth import width as text_width

__all__ = ["RunStats", "compute_stats", "render_stats", "run_stats"]


class RunStats(Plain):
    """A run's summary with its estimated cost in USD (None when a model that used tokens
    has no price; those models are in ``unpriced``)."""

    _FIELDS = ("summary", "cost", "unpriced")

    def __init__(
        self, summary: RunSummary, cost: float | None = 0.0, unpriced: set[str] | None = None
    ) -> None:
        self.summary = summary
        self.cost = cost
        self.unpriced: set[str] = set() if unpriced is None else unpriced

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        s = self.summary
        return {
            "run": s.run,
            "steps": s.steps,
            "llm_calls": s.llm_calls,
            "input_tokens": s.input_tokens,
            "output_tokens": s.output_tokens,
            "cost_usd": None if self.cost is None else round(self.cost, 6),
            "unpriced_models": sorted(self.unpriced),
            "tool_calls": dict(sorted(s.tools.items())),
            "errors": s.errors,
            "wall": round(s.duration, 6),
        }


def run_stats(summary: RunSummary, prices: Mapping[str, Price] = PRICES) -> RunStats:
    """Price a run's tokens, model by model."""
    out = RunStats(summary)
    for model, (tin, tout) in summary.models.items():
        c = cost_of(model, tin, tout, prices)
        if c is None:
            out.unpriced.add(str(model))
            out.cost = None
        elif out.cost is not None:
            out.cost += c
    return out


def compute_stats(
    events: Iterable[Line | tuple[int, Mapping[str, Any]]],
    prices: Mapping[str, Price] = PRICES,
) -> list[RunStats]:
    """Per-run totals and cost of a stream of (lineno, event), in order of first appearance."""
    return [run_stats(s, prices) for s in summarize_runs(events)]


def _money(cost: float | None) -> str:
    if cost is None:
        return "?"
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.6f}"


def render_stats(stats: Iterable[RunStats]) -> str:
    """The ``stats`` table, then each run's tool calls by name (and unpriced models)."""
    rows = list(stats)
    names = [clean(r.summary.run) for r in rows]
    width = max([len("RUN"), *(text_width(n) for n in names)])
    lines = [
        (
            f"{'RUN':<{width}}  {'STEPS':>6}  {'LLM':>4}  {'TOK IN':>9}  {'TOK OUT':>9}  "
            f"{'COST':>10}  {'TOOLS':>5}  {'ERRORS':>6}  {'WALL':>9}"
        )
    ]
    for r, name in zip(rows, names, strict=True):
        s = r.summary
        lines.append(
            f"{pad(name, width)}  {s.steps:>6}  {s.llm_calls:>4}  {s.input_tokens:>9}  "
            f"{s.output_tokens:>9}  {_money(r.cost):>10}  {sum(s.tools.values()):>5}  "
            f"{s.errors:>6}  {s.duration:>8.3f}s"
        )
    for r, name in zip(rows, names, strict=True):
        s = r.summary
        if s.tools:
            calls = ", ".join(f"{clean(tool)} x{n}" for tool, n in sorted(s.tools.items()))
            lines.append(f"{name}: tools: {calls}")
        if r.unpriced:
            models = ", ".join(sorted(clean(m) for m in r.unpriced))
            lines.append(f"{name}: no price for {models} (cost shown as ?)")
    return "\n".join(lines)

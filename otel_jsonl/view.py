"""Rendering for ``otel-jsonl show`` (a run as a timeline) and ``otel-jsonl stats`` (per run
totals and an estimated cost).

The functions return strings and data; the CLI prints them. Columns have stable widths; ANSI
colours are added only when asked (the CLI asks when stdout is a terminal and ``NO_COLOR`` is
unset). Long values are shortened to one line with an ellipsis. Standard library only.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .pricing import PRICES, Price, cost_of
from .schema import META_KINDS, usage_of

__all__ = [
    "RunStats",
    "compute_stats",
    "render_header",
    "render_stats",
    "render_step",
    "shorten",
    "tokens_of",
]

RESET = "\033[0m"
COLORS = {
    "llm_call": "\033[36m",  # cyan
    "tool_call": "\033[33m",  # yellow
    "tool_result": "\033[33m",
    "final": "\033[32m",  # green
    "error": "\033[1;31m",  # bold red
    "dim": "\033[2m",
}

KIND_WIDTH = 11
DETAIL_WIDTH = 100


def shorten(value: Any, width: int = 60) -> str:
    """``value`` on one line (strings as they are, others as compact JSON), cut to ``width``
    characters with ``…``."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=repr)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def tokens_of(ev: Mapping[str, Any]) -> tuple[int, int]:
    """Input and output tokens of an event: its ``usage`` (any naming), else top-level
    ``input_tokens``/``output_tokens``."""
    usage = usage_of(ev)
    tin = usage.get("input_tokens")
    tout = usage.get("output_tokens")
    if tin is None and isinstance(ev.get("input_tokens"), int):
        tin = int(ev["input_tokens"])
    if tout is None and isinstance(ev.get("output_tokens"), int):
        tout = int(ev["output_tokens"])
    return tin or 0, tout or 0


def _first_text(messages: Any, role: str) -> str | None:
    if not isinstance(messages, list):
        return None
    for m in messages:
        if not isinstance(m, Mapping) or m.get("role") != role:
            continue
        if isinstance(m.get("content"), str):
            return str(m["content"])
        for p in m.get("parts") or m.get("content") or []:
            if isinstance(p, Mapping) and p.get("type") == "text":
                return str(p.get("content", p.get("text", "")))
    return None


def _tool_names(ev: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    out = ev.get("output")
    msgs = out if isinstance(out, list) else [out] if isinstance(out, Mapping) else []
    if isinstance(ev.get("content"), Mapping):
        msgs = [ev["content"]]
    for m in msgs:
        if not isinstance(m, Mapping):
            continue
        content = m.get("content")
        blocks = m.get("parts") or (content if isinstance(content, list) else [])
        for p in blocks:
            if isinstance(p, Mapping) and p.get("type") in ("tool_call", "tool_use"):
                names.append(str(p.get("name")))
        for c in m.get("tool_calls") or []:
            if isinstance(c, Mapping):
                names.append(str((c.get("function") or {}).get("name")))
    return names


def _output_text(ev: Mapping[str, Any]) -> str | None:
    out = ev.get("output")
    msgs = out if isinstance(out, list) else [out] if isinstance(out, Mapping) else []
    if isinstance(ev.get("content"), Mapping):
        msgs = [ev["content"]]
    return _first_text(msgs, "assistant")


def _detail(ev: Mapping[str, Any], width: int) -> tuple[str, bool]:
    """The detail column of a step, and whether it is an error."""
    kind = ev.get("kind")
    if kind == "input":
        msgs = ev.get("messages")
        n = len(msgs) if isinstance(msgs, list) else 0
        user = _first_text(msgs, "user")
        text = f"{n} message{'s' if n != 1 else ''}"
        if ev.get("system"):
            text = "system + " + text
        if user is not None:
            text += f": {json.dumps(shorten(user, width), ensure_ascii=False)}"
        return shorten(text, width), False
    if kind == "llm_call":
        model = ev.get("model") or ev.get("response_model") or "?"
        tin, tout = tokens_of(ev)
        text = f"{model}  in={tin} out={tout}"
        finish = ev.get("finish_reason")
        if finish:
            text += f"  {finish}"
        tools = _tool_names(ev)
        if tools:
            text += "  -> " + ", ".join(tools)
        else:
            said = _output_text(ev)
            if said:
                text += f"  {json.dumps(said, ensure_ascii=False)}"
        return shorten(text, width), False
    if kind == "tool_call":
        args = ev.get("args", ev.get("arguments"))
        text = f"{ev.get('name')}({shorten(args, width) if args is not None else ''})"
        if ev.get("id"):
            text += f"  id={ev['id']}"
        return shorten(text, width), False
    if kind == "tool_result":
        out = next((ev[k] for k in ("output", "result", "response", "content") if k in ev), "")
        raw = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        capped = ev.get("capped")
        size = len(raw.encode())
        if isinstance(capped, Mapping) and capped:
            sizes = [i.get("size") for i in capped.values() if isinstance(i, Mapping)]
            size = next((s for s in sizes if isinstance(s, int)), size)
        label = ev.get("name") or ev.get("id") or "?"
        note = f"{size} B" + (", capped" if capped else "")
        err = bool(ev.get("is_error")) or raw.startswith("error:")
        head = f"{label} ({note}) -> "
        return head + json.dumps(
            shorten(raw, max(10, width - len(head) - 2)), ensure_ascii=False
        ), err
    if kind == "error":
        etype = ev.get("type") or (f"tool {ev['tool']}" if ev.get("tool") else "error")
        msg = ev.get("message", ev.get("err"))
        return shorten(f"{etype}: {msg}", width), True
    if kind == "final":
        final: Any = ev.get("text")
        if final is None:
            final = _first_text(ev.get("output"), "assistant")
        return shorten(json.dumps(final, ensure_ascii=False), width), False
    for key in ("name", "event", "model", "query"):
        if isinstance(ev.get(key), str):
            return shorten(ev[key], width), False
    return "", False


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"{code}{text}{RESET}" if color and code else text


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_header(
    run: str,
    first_ts: float,
    steps: int | None = None,
    wall: float | None = None,
    *,
    color: bool = False,
) -> str:
    """The line that opens a run in ``show``, then the column titles."""
    bits = [f"run {run}", f"started {_iso(first_ts)}"]
    if steps is not None:
        bits.append(f"{steps} steps")
    if wall is not None:
        bits.append(f"{wall:.3f}s")
    title = "  ".join(bits)
    cols = f"{'STEP':>5}  {'AT':>9}  {'TOOK':>8}  {'KIND':<{KIND_WIDTH}}  DETAIL"
    return _paint(title, "\033[1m", color) + "\n" + _paint(cols, COLORS["dim"], color)


def render_step(
    step: int | None,
    ev: Mapping[str, Any],
    t0: float,
    *,
    color: bool = False,
    width: int = DETAIL_WIDTH,
) -> str:
    """One step as a timeline row: step, time since the run started, duration, kind, detail."""
    ts = float(ev.get("ts", t0))
    start = ev.get("start")
    began = float(start) if isinstance(start, (int, float)) else ts
    took = f"{ts - began:.3f}s" if isinstance(start, (int, float)) else ""
    detail, err = _detail(ev, width)
    kind = str(ev.get("kind"))
    kind_col = _paint(
        f"{shorten(kind, KIND_WIDTH):<{KIND_WIDTH}}",
        COLORS["error"] if err else COLORS.get(kind),
        color,
    )
    step_col = f"{step:>5}" if step is not None else f"{'-':>5}"
    at = f"+{began - t0:.3f}s"
    line = f"{step_col}  {at:>9}  {took:>8}  {kind_col}  "
    return line + (_paint(detail, COLORS["error"], color) if err else detail)


# --- stats -----------------------------------------------------------------------------------


@dataclass
class RunStats:
    """Totals of one run."""

    run: str
    steps: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    """Estimated USD; None when a model with tokens has no price."""
    unpriced: set[str] = field(default_factory=set)
    tools: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    first_ts: float | None = None
    last_ts: float | None = None

    @property
    def wall(self) -> float:
        """Seconds from the first step's start to the last step's end."""
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return self.last_ts - self.first_ts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run": self.run,
            "steps": self.steps,
            "llm_calls": self.llm_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost is None else round(self.cost, 6),
            "unpriced_models": sorted(self.unpriced),
            "tool_calls": dict(sorted(self.tools.items())),
            "errors": self.errors,
            "wall": round(self.wall, 6),
        }


def compute_stats(
    events: Iterable[tuple[int, Mapping[str, Any]]], prices: Mapping[str, Price] = PRICES
) -> list[RunStats]:
    """Per-run totals of a stream of (lineno, event), in order of first appearance. A tool
    call is a ``tool_call`` step (or, in files without them, a tool call in an ``llm_call``
    output); an error is an ``error`` step or a ``tool_result`` with ``is_error``."""
    runs: dict[str, RunStats] = {}
    saw_tool_call: set[str] = set()
    from_output: dict[str, Counter[str]] = {}
    for _lineno, ev in events:
        kind = ev["kind"]
        if kind in META_KINDS:
            continue
        rid = ev["run"]
        s = runs.get(rid)
        if s is None:
            s = runs[rid] = RunStats(rid)
            from_output[rid] = Counter()
        s.steps += 1
        ts = float(ev["ts"])
        start = ev.get("start")
        began = float(start) if isinstance(start, (int, float)) else ts
        s.first_ts = began if s.first_ts is None else min(s.first_ts, began)
        s.last_ts = ts if s.last_ts is None else max(s.last_ts, ts)
        if kind == "llm_call":
            s.llm_calls += 1
            tin, tout = tokens_of(ev)
            s.input_tokens += tin
            s.output_tokens += tout
            from_output[rid].update(_tool_names(ev))
            if tin or tout:
                model = ev.get("model") or ev.get("response_model")
                c = cost_of(model if isinstance(model, str) else None, tin, tout, prices)
                if c is None:
                    s.unpriced.add(str(model))
                    s.cost = None
                elif s.cost is not None:
                    s.cost += c
        elif kind == "tool_call":
            saw_tool_call.add(rid)
            s.tools[str(ev.get("name"))] += 1
        elif kind == "error" or (kind == "tool_result" and ev.get("is_error") is True):
            s.errors += 1
    for rid, s in runs.items():
        if rid not in saw_tool_call:
            s.tools = from_output[rid]
    return list(runs.values())


def _money(cost: float | None) -> str:
    if cost is None:
        return "?"
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.6f}"


def render_stats(stats: Iterable[RunStats]) -> str:
    """The ``stats`` table, then each run's tool calls by name (and unpriced models)."""
    rows = list(stats)
    width = max([len("RUN"), *(len(s.run) for s in rows)])
    lines = [
        (
            f"{'RUN':<{width}}  {'STEPS':>6}  {'LLM':>4}  {'TOK IN':>9}  {'TOK OUT':>9}  "
            f"{'COST':>10}  {'TOOLS':>5}  {'ERRORS':>6}  {'WALL':>9}"
        )
    ]
    for s in rows:
        lines.append(
            f"{s.run:<{width}}  {s.steps:>6}  {s.llm_calls:>4}  {s.input_tokens:>9}  "
            f"{s.output_tokens:>9}  {_money(s.cost):>10}  {sum(s.tools.values()):>5}  "
            f"{s.errors:>6}  {s.wall:>8.3f}s"
        )
    for s in rows:
        if s.tools:
            calls = ", ".join(f"{name} x{n}" for name, n in sorted(s.tools.items()))
            lines.append(f"{s.run}: tools: {calls}")
        if s.unpriced:
            lines.append(f"{s.run}: no price for {', '.join(sorted(s.unpriced))} (cost shown as ?)")
    return "\n".join(lines)

"""Terminal rendering: ``show`` (a run as a timeline) and ``diff`` (the readable form of a
run diff).

The functions return strings and data; the CLI prints them. Columns have stable widths; ANSI
colours are added only when asked (the CLI asks when stdout is a terminal and ``NO_COLOR`` is
unset). Long values are shortened to one line with an ellipsis. Standard library only.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..read.runs import Step, tokens_of, tool_names_in_output
from .textwidth import clean, cut, pad
from .textwidth import width as text_width

if TYPE_CHECKING:  # pragma: no cover
    from .diff import RunDiff

__all__ = [
    "DETAIL_WIDTH",
    "format_diff",
    "format_run",
    "render_header",
    "render_step",
    "shorten",
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
    """``value`` on one line (strings as they are, others as compact JSON), without escape
    sequences or control characters, cut to ``width`` terminal cells with ``…``."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=repr)
    # Whitespace runs (newlines included) become one space, then escape sequences and
    # control characters go: recorded text must not drive the user's terminal.
    return cut(clean(" ".join(text.split())), width)


_TEXT_TYPES = ("text", "input_text", "output_text")


def _first_text(messages: Any, role: str) -> str | None:
    if not isinstance(messages, list):
        return None
    roles = (role, "model") if role == "assistant" else (role,)  # Gemini says model
    for m in messages:
        if not isinstance(m, Mapping) or m.get("role") not in roles:
            continue
        if isinstance(m.get("content"), str):
            return str(m["content"])
        for p in m.get("parts") or m.get("content") or []:
            # GenAI and chat parts, Responses input/output_text, Gemini's untyped text parts
            if (
                isinstance(p, Mapping)
                and p.get("type", "text") in _TEXT_TYPES
                and not p.get("thought")
                and ("content" in p or "text" in p)
            ):
                return str(p.get("content", p.get("text", "")))
    return None


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
        tools = tool_names_in_output(ev)
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
        head = clean(head)
        return head + json.dumps(
            shorten(raw, max(10, width - text_width(head) - 2)), ensure_ascii=False
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
    try:
        stamp = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return f"{ts!r} (no date)"  # a time no calendar holds: show the number
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_header(
    run: str,
    first_ts: float,
    steps: int | None = None,
    wall: float | None = None,
    *,
    color: bool = False,
) -> str:
    """The line that opens a run in ``show``, then the column titles."""
    bits = [f"run {shorten(run, 80)}", f"started {_iso(first_ts)}"]
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
        pad(shorten(kind, KIND_WIDTH), KIND_WIDTH),
        COLORS["error"] if err else COLORS.get(kind),
        color,
    )
    step_col = f"{step:>5}" if step is not None else f"{'-':>5}"
    at = f"+{began - t0:.3f}s"
    line = f"{step_col}  {at:>9}  {took:>8}  {kind_col}  "
    return line + (_paint(detail, COLORS["error"], color) if err else detail)


def format_run(
    run: str, steps: Sequence[Step], *, color: bool = False, width: int = DETAIL_WIDTH
) -> str:
    """A run as ``show`` draws it: a header, then one row per step."""
    if any("span_id" in s.event for s in steps):
        # Lines from spans are written when each span ends, children before parents
        # (the run's input last): show them in the order they happened.
        steps = sorted(steps, key=lambda s: _when(s.event))
    starts = [_began(s.event) for s in steps]
    t0, t1 = min(starts), max(float(s.event["ts"]) for s in steps)
    rows = [render_header(run, t0, len(steps), t1 - t0, color=color)]
    rows.extend(render_step(s.step, s.event, t0, color=color, width=width) for s in steps)
    return "\n".join(rows)


def _when(ev: Mapping[str, Any]) -> float:
    """Where a step sits on the timeline: a run's final answer at its end, any other step
    at its start."""
    return float(ev["ts"]) if ev["kind"] in ("final", "error") else _began(ev)


def _began(ev: Mapping[str, Any]) -> float:
    start = ev.get("start")
    return float(start) if isinstance(start, (int, float)) else float(ev["ts"])


def _value(v: Any, width: int = 70) -> str:
    return shorten(json.dumps(v, ensure_ascii=False, default=repr), width)


def _changed_pair(a: Any, b: Any, width: int = 70) -> tuple[str, str]:
    """Both sides of a change, shortened so that the difference shows: two long strings that
    share a long beginning are shown from a little before where they part."""
    if isinstance(a, str) and isinstance(b, str):
        # character by character is what is wanted here (these are texts, not paths)
        common = len(os.path.commonprefix([a, b]))  # noqa: RUF071
        if common > width // 3:
            start = common - width // 4
            return (
                f"…{_value(a[start:], width)} (from character {start})",
                f"…{_value(b[start:], width)}",
            )
    return _value(a, width), _value(b, width)


def format_diff(result: RunDiff, a: str, b: str, limit: int = 50) -> str:
    """The readable form of a diff: the two runs, the first divergence, then up to ``limit``
    differences (0: all)."""
    lines = [
        f"A: {a} run {shorten(result.run_a, 80)} ({result.steps_a} steps)",
        f"B: {b} run {shorten(result.run_b, 80)} ({result.steps_b} steps)",
    ]
    if result.equal:
        lines.append(f"equal: {result.pairs} steps aligned, no differences")
        return "\n".join(lines)
    first = result.first
    assert first is not None
    lines.append(
        f"first divergence at step {first.step}: {first.kind}"
        + (f" {shorten(first.path, 80)}" if first.path else "")
    )
    shown = result.differences if limit <= 0 else result.differences[:limit]
    for d in shown:
        if d.kind == "changed":
            where = (
                f"step {d.step_a}" if d.step_a == d.step_b else f"step {d.step_a} (B: {d.step_b})"
            )
            lines.append(f"~ {where} {shorten(d.path or '/', 80)}")
            shown_a, shown_b = _changed_pair(d.a, d.b)
            lines.append(f"    A: {'(missing)' if d.missing == 'a' else shown_a}")
            lines.append(f"    B: {'(missing)' if d.missing == 'b' else shown_b}")
        elif d.kind == "inserted":
            lines.append(f"+ step {d.step_b} only in B: {_value(d.b)}")
        else:
            lines.append(f"- step {d.step_a} only in A: {_value(d.a)}")
    if len(shown) < len(result.differences):
        lines.append(f"... {len(result.differences) - len(shown)} more differences (--limit 0)")
    lines.append(f"{len(result.differences)} differences, {result.pairs} steps aligned")
    return "\n".join(lines)

"""Log-record content at read time: a run's ``log`` lines joined onto their model call's step
wherever they sit in the file, tool results given back the call id they lost, and the content
folded into span attributes for backends that read only traces. Pure functions.

Instrumentations that put message content in log records (openai-v2 with ``EVENT_ONLY`` or
``SPAN_AND_EVENT``, OpenLLMetry's event mode) send the records and the spans through separate
pipelines, so the ``log`` lines can land before, after or among the span lines, or in another
process's batch. The exporter's write-time joiner handles the records that arrive before their
span; :func:`join_logs` handles every order, on the events of one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import names as n

# The message forms (content, attributes and what they import) load only when a run has log
# lines to join or fold: reading a run without them (most runs) must not pay for them.

__all__ = [
    "CONTENT_KEYS",
    "fill_tool_call_ids",
    "fill_tool_result_ids",
    "fold_content",
    "has_content",
    "join_logs",
    "log_key",
    "own_messages",
]

#: The keys of a ``log`` line (and an ``llm_call``) that hold message content.
CONTENT_KEYS = ("input", "output", "system")

_FOLD = (
    ("input", n.GEN_AI_INPUT_MESSAGES),
    ("output", n.GEN_AI_OUTPUT_MESSAGES),
    ("system", n.GEN_AI_SYSTEM_INSTRUCTIONS),
)


def has_content(line: Mapping[str, Any]) -> bool:
    """True when a ``log`` line carries message content (``input``, ``output`` or ``system``)."""
    return any(key in line for key in CONTENT_KEYS)


def log_key(line: Mapping[str, Any]) -> str | None:
    """The span id a ``log`` line with content belongs to, or None."""
    span = line.get("span_id")
    if line.get("kind") == "log" and isinstance(span, str) and span and has_content(line):
        return span
    return None


def _ts(line: Mapping[str, Any]) -> float:
    ts = line.get("ts")
    return float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else 0.0


def own_messages(line: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a ``log`` line whose per-message ``input`` (the older one-record-per-message
    events) may be changed in place: :func:`~otel_jsonl.genai.content.merge_logs` fills lost
    call ids into those messages' parts."""
    out = dict(line)
    if line.get("event") in n.MESSAGE_EVENTS and isinstance(line.get("input"), list):
        out["input"] = [
            {**m, "parts": [dict(p) if isinstance(p, dict) else p for p in m["parts"]]}
            if isinstance(m, dict) and isinstance(m.get("parts"), list)
            else m
            for m in line["input"]
        ]
    return out


def fill_tool_call_ids(messages: list[Any]) -> list[Any]:
    """``messages`` with tool responses that lost their call id (OpenLLMetry's per-message
    records) given the id of the call they answer: the one with the same tool name when the
    response names its tool, else the oldest call not yet answered. The list is returned as it
    is when nothing lacks an id; otherwise a new list in which only the changed messages and
    parts are copies (nothing given is modified)."""
    waiting: list[tuple[Any, Any]] = []
    out: list[Any] | None = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        parts = message.get("parts")
        if not isinstance(parts, list):
            continue
        new_parts: list[Any] | None = None
        for j, part in enumerate(parts):
            if not isinstance(part, dict):
                continue
            if part.get("type") == "tool_call":
                waiting.append((part.get("id"), part.get("name")))
            elif part.get("type") == "tool_call_response":
                call_id = part.get("id")
                if call_id is None and waiting:
                    name = part.get("name")
                    at = next((k for k, w in enumerate(waiting) if w[1] == name), 0)
                    if new_parts is None:
                        new_parts = list(parts)
                    new_parts[j] = {**part, "id": waiting.pop(at)[0]}
                else:
                    waiting = [w for w in waiting if w[0] != call_id]
        if new_parts is not None:
            if out is None:
                out = list(messages)
            out[i] = {**message, "parts": new_parts}
    return messages if out is None else out


def fill_tool_result_ids(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tool_result`` events without an ``id`` get the id of the ``tool_call`` they answer:
    the oldest unanswered call of the same ``name`` (any name when the result has none).
    Returns the events, with new dicts for the ones that changed."""
    waiting: list[tuple[Any, Any]] = []
    out: list[dict[str, Any]] = []
    for ev in events:
        kind = ev.get("kind")
        if kind == "tool_call" and ev.get("id") is not None:
            waiting.append((ev["id"], ev.get("name")))
        elif kind == "tool_result":
            call_id = ev.get("id")
            if call_id is None and waiting:
                name = ev.get("name")
                at = next((i for i, w in enumerate(waiting) if name is None or w[1] == name), -1)
                if at >= 0:
                    ev = {**ev, "id": waiting.pop(at)[0]}
            elif call_id is not None:
                waiting = [w for w in waiting if w[0] != call_id]
        out.append(ev)
    return out


def join_logs(events: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """Join the content of a run's ``log`` lines onto its ``llm_call`` steps, in any order.

    ``events`` are the lines of one run in file order. A ``log`` line with content joins the
    ``llm_call`` with its ``span_id`` (and ``trace_id`` when both have one): its ``input``,
    ``output`` and ``system`` fill the keys the step lacks (records of one call are taken in
    time order; per-message records are put together into one list), and tool responses
    without a call id get it from the call they answer. Returns the events (a changed step is
    a new dict; nothing given is modified) and the positions of the ``log`` lines that were
    joined. Tool results that lost their id get it too (:func:`fill_tool_result_ids`).
    """
    logs: dict[str, list[int]] = {}
    for i, ev in enumerate(events):
        key = log_key(ev)
        if key is not None:
            logs.setdefault(key, []).append(i)
    out = list(events)
    joined: set[int] = set()
    if logs:
        from .content import merge_logs

        for i, ev in enumerate(events):
            span = ev.get("span_id")
            if ev.get("kind") != "llm_call" or not isinstance(span, str) or span not in logs:
                continue
            mine = [
                j
                for j in logs[span]
                if events[j].get("trace_id") in (None, ev.get("trace_id"))
                or ev.get("trace_id") is None
            ]
            if not mine:
                continue
            joined.update(mine)
            if all(key in ev for key in ("input", "output")):
                continue  # the span carried the content too (SPAN_AND_EVENT)
            step = dict(ev)
            if isinstance(step.get("otel"), dict):
                step["otel"] = dict(step["otel"])
            records = sorted((events[j] for j in mine), key=_ts)
            copies = [own_messages(r) for r in records]
            merge_logs(step, copies)
            _carry_capped(step, copies)
            # Only the per-message records lose call ids (one record per call keeps them).
            per_message = any(r.get("event") in n.MESSAGE_EVENTS for r in records)
            if per_message and isinstance(step.get("input"), list):
                step["input"] = fill_tool_call_ids(step["input"])
            out[i] = step
    if any(ev.get("kind") == "tool_result" and ev.get("id") is None for ev in out):
        out = fill_tool_result_ids(out)
    return out, joined


def _carry_capped(step: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """A content key the step took whole from a record keeps that record's ``capped`` notes
    (their pointers are the same on the step), so ``replay --full`` restores the values."""
    notes: dict[str, Any] = {}
    for record in records:
        capped = record.get("capped")
        if not isinstance(capped, Mapping):
            continue
        for key in CONTENT_KEYS:
            if key in record and step.get(key) is record[key]:
                prefix = f"/{key}/"
                notes.update({p: v for p, v in capped.items() if p.startswith(prefix)})
    if notes:
        own = step.get("capped")
        step["capped"] = {**(own if isinstance(own, Mapping) else {}), **notes}


def fold_content(
    attrs: Mapping[str, Any], content: Mapping[str, Any], *, as_json: bool = True
) -> dict[str, Any]:
    """The GenAI attributes a trace-only backend needs to show a model call's messages:
    ``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions``
    from ``content`` (the parts form of a ``log`` line or an ``llm_call``), for each one that
    ``attrs`` does not have already. JSON strings (``as_json``), as span attributes hold them.
    """
    from .attributes import json_text

    out: dict[str, Any] = {}
    for key, attr in _FOLD:
        value = content.get(key)
        if value is None or attr in attrs:
            continue
        if key == "system" and isinstance(value, str):
            value = [{"type": "text", "content": value}]
        out[attr] = json_text(value) if as_json else value
    return out

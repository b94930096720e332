"""Replay: the message list the model saw at step N of a run, ready to send again.

"Step N" is the event's ``seq``; a line without ``seq`` (the article's format) gets its 0-based
position among the run's steps (``blob_ref`` and ``resource`` lines are not steps). At an
``llm_call`` the result is what the model was sent for that call:

1. the call's own ``input`` (and ``system``) when the line carries it (span exporter files with
   content capture), or its content from ``log`` lines with the same ``span_id`` (content that
   arrived as log records);
2. otherwise it is rebuilt: the run's ``input`` event (system prompt and first messages), then
   every earlier ``llm_call``'s output message and every earlier ``tool_result`` (with its call
   id), in step order. A later ``llm_call`` that carries ``input`` restarts the rebuild from it.

At any other step the result is the conversation as it stood before that step.

A run with no ``input`` event (the article's recorder never wrote one) has lost its first
messages: :func:`replay` raises :class:`MissingInputError` unless ``allow_missing_input=True``,
which returns what is known (starting at the first assistant turn) and says so in
:attr:`Replay.warnings`. No placeholder prompt is ever invented.

Capped values come back as they are on the line (what the model saw when the loop capped
them); ``full=True`` restores them from the blob store. Standard library only.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from .blobs import BlobStore, blob_dir_for
from .exceptions import MissingInputError, RunNotFoundError
from .messages import system_text, to_anthropic, to_openai, to_parts, tool_response_message
from .reader import ReadReport, display_name, paused_gc, read_events
from .schema import META_KINDS

__all__ = [
    "FORMATS",
    "MissingInputError",
    "Replay",
    "ReplayFormat",
    "RunEvents",
    "Step",
    "read_run",
    "replay",
    "replay_step",
    "step_events",
]

ReplayFormat = Literal["openai", "anthropic", "genai"]
FORMATS: tuple[ReplayFormat, ...] = ("openai", "anthropic", "genai")

#: Keys a ``tool_result`` line may carry its result under, in the order they are looked for.
RESULT_KEYS = ("output", "result", "response", "content")


@dataclass(frozen=True)
class Step:
    """One step of a run: its step number, the line it was read from, and the event."""

    step: int
    lineno: int
    event: dict[str, Any]


@dataclass
class RunEvents:
    """The events of one run, in file order, with their step numbers."""

    path: str
    run: str
    steps: list[Step] = field(default_factory=list)
    meta: list[Step] = field(default_factory=list)
    """``blob_ref`` and ``resource`` lines (their ``step`` is -1)."""


def step_events(events: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[Step]:
    """Number the steps of a stream of (lineno, event): ``seq`` when present, else the 0-based
    position among the steps of the event's run. Meta lines get step -1."""
    counters: dict[str, int] = {}
    for lineno, ev in events:
        if ev["kind"] in META_KINDS:
            yield Step(-1, lineno, ev)
            continue
        run = ev["run"]
        n = counters.get(run, 0)
        counters[run] = n + 1
        seq = ev.get("seq")
        yield Step(seq if isinstance(seq, int) and not isinstance(seq, bool) else n, lineno, ev)


def read_run(
    source: str | os.PathLike[str] | IO[bytes],
    run: str | None = None,
    *,
    report: ReadReport | None = None,
) -> RunEvents:
    """Read one run of a trace: ``run``, or the only run in the file.

    Raises :class:`RunNotFoundError` when ``run`` is not in the file, when the file has no
    events, or when ``run`` is None and the file holds several runs (the message lists them);
    :class:`~otel_jsonl.exceptions.TraceFormatError` on a bad line. A torn last line is skipped
    (and noted in ``report``).
    """
    name = display_name(source)
    report = report if report is not None else ReadReport()
    runs: dict[str, RunEvents] = {}
    with paused_gc():
        for st in step_events(read_events(source, run=run, report=report)):
            rid = st.event["run"]
            r = runs.get(rid)
            if r is None:
                r = runs[rid] = RunEvents(name, rid)
            (r.meta if st.step < 0 else r.steps).append(st)
    if not runs:
        if run is not None:
            raise RunNotFoundError(f"{name}: no run {run!r}")
        raise RunNotFoundError(f"{name}: no events")
    if len(runs) > 1:
        listed = ", ".join(list(runs)[:10]) + (", ..." if len(runs) > 10 else "")
        raise RunNotFoundError(
            f"{name}: {len(runs)} runs ({listed}); choose one with run=... (--run)"
        )
    return next(iter(runs.values()))


@dataclass
class Replay:
    """What :func:`replay_step` found: the payload in the chosen format and how it was made."""

    run: str
    step: int
    kind: str
    format: ReplayFormat
    payload: Any
    """OpenAI: a list of messages; Anthropic: ``{"system": ..., "messages": [...]}``; GenAI: a
    list of parts messages, the system prompt first as a ``system`` message."""
    source: Literal["recorded", "rebuilt"]
    """``recorded``: the ``llm_call`` carried its input; ``rebuilt``: from earlier steps."""
    complete: bool = True
    """False when the run's first messages are missing (``allow_missing_input=True``)."""
    warnings: list[str] = field(default_factory=list)
    model: str | None = None


# --- JSON pointers and capped values ---------------------------------------------------------


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _set_pointer(doc: Any, pointer: str, value: Any) -> bool:
    if not pointer.startswith("/"):
        return False
    tokens = [_unescape(t) for t in pointer[1:].split("/")]
    target = doc
    for tok in tokens[:-1]:
        if isinstance(target, dict) and tok in target:
            target = target[tok]
        elif isinstance(target, list) and tok.isdigit() and int(tok) < len(target):
            target = target[int(tok)]
        else:
            return False
    last = tokens[-1]
    if isinstance(target, dict) and last in target:
        target[last] = value
        return True
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
        return True
    return False


def _restore(ev: dict[str, Any], refs: Mapping[str, str], store: BlobStore) -> dict[str, Any]:
    """A copy of ``ev`` with capped values put back from the blob store."""
    pointers: dict[str, str] = dict(refs)
    capped = ev.get("capped")
    if isinstance(capped, Mapping):
        for pointer, info in capped.items():
            if isinstance(info, Mapping) and isinstance(info.get("sha256"), str):
                pointers[pointer] = info["sha256"]
    if not pointers:
        return ev
    out = copy.deepcopy(ev)
    for pointer, sha in pointers.items():
        _set_pointer(out, pointer, store.get_text(sha))
    out.pop("capped", None)
    return out


# --- building the conversation ---------------------------------------------------------------


def _output_messages(ev: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The assistant message an ``llm_call`` produced (first choice), in its recorded form."""
    out = ev.get("output")
    if isinstance(out, list) and out and isinstance(out[0], Mapping):
        msg = dict(out[0])
    elif isinstance(out, Mapping):
        msg = dict(out)
    elif isinstance(ev.get("content"), Mapping):  # the article: an OpenAI message dump
        msg = dict(ev["content"])
    else:
        return []
    msg.setdefault("role", "assistant")
    msg.pop("finish_reason", None)
    return [msg]


def _tool_result(ev: Mapping[str, Any]) -> Any:
    for key in RESULT_KEYS:
        if key in ev:
            return ev[key]
    return ""


_LOG_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _log_event_name(ev: Mapping[str, Any]) -> str | None:
    name = ev.get("event")
    if isinstance(name, str):
        return name
    attrs = (ev.get("otel") or {}).get("attrs") if isinstance(ev.get("otel"), Mapping) else None
    if isinstance(attrs, Mapping) and isinstance(attrs.get("event.name"), str):
        return str(attrs["event.name"])
    return None


def _messages_from_logs(logs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any] | None:
    """Input messages and system prompt carried by log records of one model call, or None.

    Two shapes: one ``gen_ai.client.inference.operation.details`` record holding
    ``gen_ai.input.messages`` (and ``gen_ai.system_instructions``), or the older one record per
    message (``gen_ai.{system,user,assistant,tool}.message``)."""
    messages: list[dict[str, Any]] = []
    system: Any = None
    for ev in logs:
        name = _log_event_name(ev)
        body = ev.get("body")
        raw_attrs = ev.get("attrs")
        attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
        holder: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        inputs = holder.get("gen_ai.input.messages", attrs.get("gen_ai.input.messages"))
        if isinstance(inputs, list):
            system = holder.get(
                "gen_ai.system_instructions", attrs.get("gen_ai.system_instructions")
            )
            return [dict(m) for m in inputs if isinstance(m, Mapping)], system
        role = _LOG_ROLES.get(name or "")
        if role is None or not isinstance(body, Mapping):
            continue
        msg = dict(body)
        msg["role"] = msg.get("role", role)
        if role == "tool" and "id" in msg and "tool_call_id" not in msg:
            msg["tool_call_id"] = msg.pop("id")
        messages.append(msg)
    return (messages, None) if messages else None


def _add_tool_result(conv: list[dict[str, Any]], made: set[int], ev: Mapping[str, Any]) -> None:
    part = tool_response_message(ev.get("id"), _tool_result(ev))
    last = conv[-1] if conv else None
    if last is not None and id(last) in made:
        last["parts"].extend(part["parts"])
        return
    conv.append(part)
    made.add(id(part))


def _format(messages: list[dict[str, Any]], system: Any, fmt: ReplayFormat) -> Any:
    if fmt == "openai":
        return to_openai(messages, system)
    if fmt == "anthropic":
        return to_anthropic(messages, system)
    out = [to_parts(m) for m in messages]
    for m in out:
        m.pop("finish_reason", None)
    if system is not None and not (out and out[0].get("role") in ("system", "developer")):
        parts = (
            system
            if isinstance(system, list)
            else [{"type": "text", "content": system_text(system)}]
        )
        out.insert(0, {"role": "system", "parts": copy.deepcopy(parts)})
    return out


@paused_gc()
def replay_step(
    source: str | os.PathLike[str] | IO[bytes] | RunEvents,
    step: int,
    *,
    run: str | None = None,
    format: ReplayFormat = "openai",
    full: bool = False,
    blob_dir: str | os.PathLike[str] | None = None,
    allow_missing_input: bool = False,
) -> Replay:
    """Replay step ``step`` of a run and say how (see :class:`Replay` and the module doc).

    ``source`` is a trace path, a binary stream, or a run already read by :func:`read_run`.
    ``blob_dir`` is the blob store for ``full=True`` (default ``blobs/`` beside the trace).
    Raises :class:`RunNotFoundError` for a missing or ambiguous run or a step that does not
    exist, :class:`MissingInputError` (see ``allow_missing_input``), ``ValueError`` for an
    unknown format, :class:`~otel_jsonl.exceptions.BlobError` when ``full=True`` and a blob
    is missing or does not match.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown replay format {format!r}; choose one of {', '.join(FORMATS)}")
    events = source if isinstance(source, RunEvents) else read_run(source, run)
    if run is not None and events.run != run:
        raise RunNotFoundError(f"{events.path}: no run {run!r}")
    store: BlobStore | None = None
    refs: dict[int, dict[str, str]] = {}
    if full:
        if blob_dir is None:
            if events.path.startswith("<"):
                raise ValueError("full=True on a stream needs blob_dir")
            blob_dir = blob_dir_for(events.path)
        store = BlobStore(blob_dir)
        for m in events.meta:
            ev = m.event
            if ev["kind"] == "blob_ref" and isinstance(ev.get("of"), int):
                refs.setdefault(ev["of"], {})[str(ev.get("field", ""))] = str(ev.get("sha256"))

    def restored(st: Step) -> dict[str, Any]:
        if store is None:
            return st.event
        return _restore(st.event, refs.get(st.step, {}), store)

    target: Step | None = None
    for st in events.steps:
        if st.step == step:
            target = st
            break
    if target is None:
        known = [s.step for s in events.steps]
        span = f"steps {min(known)}..{max(known)}" if known else "no steps"
        raise RunNotFoundError(f"{events.path}: run {events.run} has no step {step} ({span})")
    tev = restored(target)
    kind = str(tev["kind"])
    model = tev.get("model") if isinstance(tev.get("model"), str) else None
    result = Replay(events.run, step, kind, format, None, "rebuilt", model=model)

    logs_by_span: dict[str, list[dict[str, Any]]] = {}
    for st in events.steps:
        if st.event["kind"] == "log" and isinstance(st.event.get("span_id"), str):
            logs_by_span.setdefault(st.event["span_id"], []).append(restored(st))

    def recorded_input(ev: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any] | None:
        if ev.get("kind") != "llm_call":
            return None
        if isinstance(ev.get("input"), list):
            return [dict(m) for m in ev["input"] if isinstance(m, Mapping)], ev.get("system")
        span = ev.get("span_id")
        if isinstance(span, str) and span in logs_by_span:
            return _messages_from_logs(logs_by_span[span])
        return None

    own = recorded_input(tev)
    if own is not None:
        result.source = "recorded"
        result.payload = _format(own[0], own[1], format)
        return result

    # Rebuild from the steps before the target, in step order.
    before = sorted((s for s in events.steps if s.step < step), key=lambda s: s.step)
    start = 0
    conv: list[dict[str, Any]] = []
    system: Any = None
    made: set[int] = set()
    base_found = False
    for i in range(len(before) - 1, -1, -1):
        ev = before[i].event
        rec = recorded_input(restored(before[i])) if ev["kind"] == "llm_call" else None
        if rec is not None:
            conv, system = list(rec[0]), rec[1]
            start, base_found = i, True
            break
    if not base_found:
        inputs = [s for s in events.steps if s.event["kind"] == "input"]
        if inputs:
            ev = restored(inputs[0])
            msgs = ev.get("messages")
            conv = (
                [dict(m) for m in msgs if isinstance(m, Mapping)] if isinstance(msgs, list) else []
            )
            system = ev.get("system")
        elif allow_missing_input:
            result.complete = False
            result.warnings.append(
                f"run {events.run} has no input event: its first messages (the user's prompt) "
                "are not in the trace, so the replay starts at the first recorded turn"
            )
        else:
            raise MissingInputError(
                f"{events.path}: run {events.run} has no input event, so the first messages "
                f"the model saw at step {step} are not in the trace (pass allow_missing_input="
                "True / --allow-missing-input to replay what is known)"
            )
    for st in before[start:]:
        ev = st.event
        if ev["kind"] == "llm_call":
            conv.extend(_output_messages(restored(st)))
        elif ev["kind"] == "tool_result":
            _add_tool_result(conv, made, restored(st))
    result.payload = _format(conv, system, format)
    return result


def replay(
    source: str | os.PathLike[str] | IO[bytes] | RunEvents,
    step: int,
    *,
    run: str | None = None,
    format: ReplayFormat = "openai",
    full: bool = False,
    blob_dir: str | os.PathLike[str] | None = None,
    allow_missing_input: bool = False,
) -> Any:
    """The messages the model saw at step ``step``, ready to send in ``format``:

    - ``"openai"``: a list for ``client.chat.completions.create(messages=...)``;
    - ``"anthropic"``: ``{"system": ..., "messages": [...]}`` for
      ``client.messages.create(**payload)``;
    - ``"genai"``: a list of GenAI parts messages (system prompt first).

    See :func:`replay_step` for the arguments and errors, and the module doc for how the list
    is found.
    """
    return replay_step(
        source,
        step,
        run=run,
        format=format,
        full=full,
        blob_dir=blob_dir,
        allow_missing_input=allow_missing_input,
    ).payload

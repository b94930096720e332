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
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, Literal

from ..exceptions import MissingInputError, RunNotFoundError
from ..genai.messages import (
    form_of,
    system_text,
    to_anthropic,
    to_gemini,
    to_openai,
    to_parts,
    to_responses,
    tool_response_message,
)
from ..read.lines import Plain, paused_gc
from ..read.runs import RunEvents, Step, read_run

if TYPE_CHECKING:  # pragma: no cover
    from ..record.blobs import BlobStore

# The blob store (hashlib, logging, ...) is imported only by a replay that restores capped
# values (``full=True``), the log content forms only for a run with log lines.

__all__ = [
    "FORMATS",
    "Replay",
    "ReplayFormat",
    "replay",
    "replay_step",
]

ReplayFormat = Literal["openai", "anthropic", "genai", "responses", "gemini"]
FORMATS: tuple[ReplayFormat, ...] = ("openai", "anthropic", "genai", "responses", "gemini")

#: Keys a ``tool_result`` line may carry its result under, in the order they are looked for.
RESULT_KEYS = ("output", "result", "response", "content")


class Replay(Plain):
    """What :func:`replay_step` found: the payload in the chosen format and how it was made.

    ``payload``: OpenAI: a list of messages; Anthropic: ``{"system": ..., "messages": [...]}``;
    GenAI: a list of parts messages, the system prompt first as a ``system`` message;
    Responses: ``{"instructions": ..., "input": [...]}``; Gemini: ``{"systemInstruction": ...,
    "contents": [...]}``. ``source``: ``recorded`` when the ``llm_call`` carried its input,
    ``rebuilt`` when it was rebuilt from earlier steps. ``complete`` is False when the run's
    first messages are missing (``allow_missing_input=True``).
    """

    _FIELDS = (
        "run",
        "step",
        "kind",
        "format",
        "payload",
        "source",
        "complete",
        "warnings",
        "model",
    )

    def __init__(
        self,
        run: str,
        step: int,
        kind: str,
        format: ReplayFormat,
        payload: Any,
        source: Literal["recorded", "rebuilt"],
        complete: bool = True,
        warnings: list[str] | None = None,
        model: str | None = None,
    ) -> None:
        self.run = run
        self.step = step
        self.kind = kind
        self.format = format
        self.payload = payload
        self.source = source
        self.complete = complete
        self.warnings: list[str] = [] if warnings is None else warnings
        self.model = model


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
    """The assistant message an ``llm_call`` produced (first choice), in its recorded form;
    a Responses output (a list of items) whole."""
    out = ev.get("output")
    if (
        isinstance(out, list)
        and out
        and all(isinstance(m, Mapping) and form_of(m) == "responses" for m in out)
    ):
        return [dict(m) for m in out]
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


def _add_tool_result(conv: list[dict[str, Any]], made: set[int], ev: Mapping[str, Any]) -> None:
    part = tool_response_message(ev.get("id"), _tool_result(ev))
    if isinstance(ev.get("name"), str):
        part["parts"][0]["name"] = ev["name"]  # Gemini answers a call by its tool's name
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
    if fmt == "responses":
        return to_responses(messages, system)
    if fmt == "gemini":
        return to_gemini(messages, system)
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


class _Restorer:
    """Puts capped values back from the blob store (``full=True``), or leaves events as they
    are."""

    def __init__(
        self, events: RunEvents, full: bool, blob_dir: str | os.PathLike[str] | None
    ) -> None:
        self.store: BlobStore | None = None
        self.refs: dict[int, dict[str, str]] = {}
        if not full:
            return
        from ..record.blobs import BlobStore, blob_dir_for

        if blob_dir is None:
            if events.path.startswith("<"):
                raise ValueError("full=True on a stream needs blob_dir")
            blob_dir = blob_dir_for(events.path)
        self.store = BlobStore(blob_dir)
        for m in events.meta:
            ev = m.event
            if ev["kind"] == "blob_ref" and isinstance(ev.get("of"), int):
                self.refs.setdefault(ev["of"], {})[str(ev.get("field", ""))] = str(ev.get("sha256"))

    def __call__(self, st: Step) -> dict[str, Any]:
        if self.store is None:
            return st.event
        return _restore(st.event, self.refs.get(st.step, {}), self.store)


class _Inputs:
    """The input a model call recorded: on its own line, or in ``log`` lines of its span."""

    def __init__(self, events: RunEvents, restored: _Restorer) -> None:
        self.logs_by_span: dict[str, list[dict[str, Any]]] = {}
        for st in events.steps:
            if st.event["kind"] == "log" and isinstance(st.event.get("span_id"), str):
                self.logs_by_span.setdefault(st.event["span_id"], []).append(restored(st))

    def of(self, ev: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Any] | None:
        if ev.get("kind") != "llm_call":
            return None
        if isinstance(ev.get("input"), list):
            return [dict(m) for m in ev["input"] if isinstance(m, Mapping)], ev.get("system")
        span = ev.get("span_id")
        if isinstance(span, str) and span in self.logs_by_span:
            from ..genai.content import messages_from_logs  # only runs with log lines need it

            return messages_from_logs(self.logs_by_span[span])
        return None


def _find_step(events: RunEvents, step: int) -> Step:
    for st in events.steps:
        if st.step == step:
            return st
    known = [s.step for s in events.steps]
    span = f"steps {min(known)}..{max(known)}" if known else "no steps"
    raise RunNotFoundError(f"{events.path}: run {events.run} has no step {step} ({span})")


def _rebuild(
    events: RunEvents,
    step: int,
    restored: _Restorer,
    inputs: _Inputs,
    result: Replay,
    allow_missing_input: bool,
) -> tuple[list[dict[str, Any]], Any]:
    """The conversation before ``step``, from the latest earlier call that recorded its input
    (else the run's ``input`` event), then outputs and tool results in step order."""
    before = sorted((s for s in events.steps if s.step < step), key=lambda s: s.step)
    conv: list[dict[str, Any]] = []
    system: Any = None
    start = -1
    for i in range(len(before) - 1, -1, -1):
        if before[i].event["kind"] != "llm_call":
            continue
        rec = inputs.of(restored(before[i]))
        if rec is not None:
            conv, system = list(rec[0]), rec[1]
            start = i
            break
    if start < 0:
        start = 0
        first = next((s for s in events.steps if s.event["kind"] == "input"), None)
        if first is not None:
            ev = restored(first)
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
    made: set[int] = set()
    for st in before[start:]:
        kind = st.event["kind"]
        if kind == "llm_call":
            conv.extend(_output_messages(restored(st)))
        elif kind == "tool_result":
            _add_tool_result(conv, made, restored(st))
    return conv, system


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

    ``source`` is a trace path, a binary stream, or a run already read by
    :func:`~otel_jsonl.read.read_run`. ``blob_dir`` is the blob store for ``full=True``
    (default ``blobs/`` beside the trace). Raises :class:`RunNotFoundError` for a missing or
    ambiguous run or a step that does not exist, :class:`MissingInputError` (see
    ``allow_missing_input``), ``ValueError`` for an unknown format,
    :class:`~otel_jsonl.exceptions.BlobError` when ``full=True`` and a blob is missing or
    does not match.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown replay format {format!r}; choose one of {', '.join(FORMATS)}")
    events = source if isinstance(source, RunEvents) else read_run(source, run)
    if run is not None and events.run != run:
        raise RunNotFoundError(f"{events.path}: no run {run!r}")
    restored = _Restorer(events, full, blob_dir)
    tev = restored(_find_step(events, step))
    model = tev.get("model") if isinstance(tev.get("model"), str) else None
    result = Replay(events.run, step, str(tev["kind"]), format, None, "rebuilt", model=model)
    inputs = _Inputs(events, restored)
    own = inputs.of(tev)
    if own is not None:
        result.source = "recorded"
        result.payload = _format(own[0], own[1], format)
        return result
    conv, system = _rebuild(events, step, restored, inputs, result, allow_missing_input)
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
    - ``"genai"``: a list of GenAI parts messages (system prompt first);
    - ``"responses"``: ``{"instructions": ..., "input": [...]}`` for
      ``client.responses.create(model=..., **payload)``;
    - ``"gemini"``: ``{"systemInstruction": ..., "contents": [...]}``, the REST body's keys
      (``client.models.generate_content(contents=..., config={"system_instruction": ...})``).

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

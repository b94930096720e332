"""GenAI spans to step fields: which operation a span is (GenAI, OpenInference, OpenLLMetry),
and the fields of its ``llm_call``, ``tool_call``/``tool_result``, ``input``/``final`` or
``retrieval`` lines, read from whichever convention the instrumentation wrote.

Fields are filled through a :class:`FieldBuilder`, which moves an attribute into a field only
when the field holds its exact value (and records where it went), so the span comes back
exactly from the lines. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import names as n
from . import vercel
from .content import (
    flattened_messages,
    is_parts_list,
    messages_from_record,
    normalise_messages,
    normalise_system,
    openllmetry_messages,
    text_of,
)
from .frameworks import agent_fields, repair_parts, tool_fields
from .jsontext import exact_json_style, loads, parse_json
from .plain_llm import fill_plain_llm
from .responses_gemini_spans import refine_llm_call

__all__ = [
    "FieldBuilder",
    "fill_step",
    "llm_call_id",
    "operation_of",
]


def operation_of(attrs: Mapping[str, Any]) -> str | None:
    """The GenAI operation of a span: ``gen_ai.operation.name``, else OpenInference's span
    kind, else OpenLLMetry's ``llm.request.type``; None for a span that is not GenAI."""
    op = attrs.get(n.GEN_AI_OPERATION_NAME)
    if isinstance(op, str) and op:
        return op
    oi = attrs.get(n.OPENINFERENCE_SPAN_KIND)
    if isinstance(oi, str) and oi.upper() in n.OPENINFERENCE_OPERATIONS:
        return n.OPENINFERENCE_OPERATIONS[oi.upper()]
    req = attrs.get(n.LLM_REQUEST_TYPE)
    if req in ("chat", "completion"):
        return "chat" if req == "chat" else "text_completion"
    return vercel.operation_of(attrs)


def llm_call_id(attrs: Mapping[str, Any]) -> str | None:
    """The response id of an LLM span (what two instrumentations of one call share)."""
    rid = attrs.get(n.GEN_AI_RESPONSE_ID)
    return rid if isinstance(rid, str) and rid else None


def _exact_scalar(value: Any) -> bool:
    """A value a JSON field holds exactly (so the attribute may move into the field)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, bool, int))


_POINTERS: dict[tuple[str, ...], str] = {}
_MISSING: Any = object()


def _pointer(path: tuple[str, ...]) -> str:
    """The JSON pointer of ``path`` (the common ones are built once)."""
    pointer = _POINTERS.get(path)
    if pointer is None:
        pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
        if len(_POINTERS) < 1024:
            _POINTERS[path] = pointer
    return pointer


class FieldBuilder:
    """Moves attributes into line fields, keeping track of what moved where."""

    __slots__ = ("attrs", "lines", "main", "moved", "native")

    def __init__(self, attrs: Mapping[str, Any], main: dict[str, Any]) -> None:
        self.attrs = dict(attrs)
        self.moved: dict[str, Any] = {}
        self.main = main
        self.lines: dict[str, dict[str, Any]] = {}
        #: Set by a filler that knows every field it made holds no NaN or infinite float.
        self.native = False

    def _slot(self, line: str | None, path: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
        target = self.main if line is None else self.lines[line]
        for key in path[:-1]:
            nxt = target.setdefault(key, {})
            if not isinstance(nxt, dict):
                return None
            target = nxt
        return target, path[-1]

    def _where(self, path: tuple[str, ...], codec: str, line: str | None) -> Any:
        pointer = _pointer(path)
        if line is None and codec == "":
            return pointer
        return [pointer, codec] if line is None else [pointer, codec, line]

    def move(self, key: str, path: tuple[str, ...], line: str | None = None) -> Any:
        """Put attribute ``key`` at ``path`` (when its value is exact there); return it."""
        attrs = self.attrs
        value = attrs.get(key, _MISSING)
        if value is _MISSING:
            return None
        t = type(value)
        if t is float:
            if not math.isfinite(value):
                return None
        elif t is not str and t is not int and t is not bool and not _exact_scalar(value):
            return None
        if line is None and len(path) == 1:
            target = self.main
            field = path[0]
        else:
            slot = self._slot(line, path)
            if slot is None:
                return None
            target, field = slot
        if field in target:
            old = target[field]
            if type(old) is not type(value) or old != value:
                return None
        else:
            target[field] = value
        del attrs[key]
        pointer = _pointer(path)
        self.moved[key] = pointer if line is None else [pointer, "", line]
        return value

    def move_json(
        self,
        key: str,
        path: tuple[str, ...],
        normalise: Any,
        line: str | None = None,
    ) -> bool:
        """Put the parsed, normalised JSON of string attribute ``key`` at ``path``.

        Moves the attribute when the normalised value is the parsed value and re-encodes to
        the exact string; otherwise the field holds the normalised value and the raw string
        stays in ``attrs``. Returns whether the field was set.
        """
        raw = self.attrs.get(key)
        if not isinstance(raw, str):
            return False
        try:
            parsed = loads(raw)
        except ValueError:
            return False
        # Already in the parts form (the common case): nothing to normalise.
        value = repair_parts(parsed if is_parts_list(parsed) else normalise(parsed))
        if value is None:
            return False
        slot = self._slot(line, path)
        if slot is None or slot[1] in slot[0]:
            return False
        slot[0][slot[1]] = value
        if value is parsed or value == parsed:
            # allow_nan=False in the check: a NaN or Infinity cannot be held exactly.
            codec = exact_json_style(raw, parsed)
            if codec is not None:
                del self.attrs[key]
                self.moved[key] = self._where(path, codec, line)
        return True

    def move_raw_or_json(self, key: str, path: tuple[str, ...], line: str | None = None) -> bool:
        """A value that is JSON text or plain text: stored parsed when exact, else as is."""
        raw = self.attrs.get(key)
        if not isinstance(raw, str):
            return bool(raw is not None and self.move(key, path, line) is not None)
        parsed = parse_json(raw)
        if parsed is not raw and not isinstance(parsed, (int, float, bool)) and parsed is not None:
            codec = exact_json_style(raw, parsed)
            if codec is not None:
                slot = self._slot(line, path)
                if slot is None or slot[1] in slot[0]:
                    return False
                slot[0][slot[1]] = parsed
                del self.attrs[key]
                self.moved[key] = self._where(path, codec, line)
                return True
        return self.move(key, path, line) is not None


#: Usage attributes, current and deprecated, and the usage field each one fills.
_USAGE_KEYS = (
    (n.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
    (n.GEN_AI_USAGE_PROMPT_TOKENS, "input_tokens"),
    (n.LLM_TOKEN_COUNT_PROMPT, "input_tokens"),
    (n.GEN_AI_USAGE_TEXT_INPUT_TOKENS, "input_tokens"),  # only when no total was given
    (n.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"),
    (n.GEN_AI_USAGE_COMPLETION_TOKENS, "output_tokens"),
    (n.LLM_TOKEN_COUNT_COMPLETION, "output_tokens"),
    (n.GEN_AI_USAGE_TOTAL_TOKENS, "total_tokens"),
    (n.LLM_TOKEN_COUNT_TOTAL, "total_tokens"),
    (n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
    (n.LLM_TOKEN_COUNT_CACHE_READ, "cache_read_input_tokens"),
    (n.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, "cache_creation_input_tokens"),
    (n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "cache_creation_input_tokens"),
    (n.LLM_TOKEN_COUNT_CACHE_WRITE, "cache_creation_input_tokens"),
    (n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "reasoning_tokens"),
    (n.GEN_AI_USAGE_REASONING_TOKENS, "reasoning_tokens"),
    (n.LLM_TOKEN_COUNT_REASONING, "reasoning_tokens"),
)


def _fill_llm(
    b: FieldBuilder, events: Sequence[tuple[str, Any]], op: str, attrs: Mapping[str, Any]
) -> None:
    """Fields of an ``llm_call`` (also used, in part, by ``embeddings``); the common model
    call is filled by :func:`.plain_llm.fill_plain_llm` first (the same fields)."""
    ev = b.main
    if b.move(n.GEN_AI_OPERATION_NAME, ("operation",)) is None:
        ev["operation"] = op
    # model: the request model, else the response model (OpenInference: llm.model_name)
    b.move(n.GEN_AI_REQUEST_MODEL, ("model",))
    b.move(n.GEN_AI_RESPONSE_MODEL, ("response_model",))
    if "model" not in ev:
        b.move(n.LLM_MODEL_NAME, ("model",))
    if "model" not in ev and "response_model" in ev:
        ev["model"] = ev["response_model"]
    for key in (n.GEN_AI_PROVIDER_NAME, n.GEN_AI_SYSTEM, n.LLM_PROVIDER, n.LLM_SYSTEM):
        b.move(key, ("provider",))
    b.move(n.GEN_AI_RESPONSE_ID, ("response_id",))
    # usage, current names written, deprecated ones read
    for key, name in _USAGE_KEYS:
        value = b.attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            b.move(key, ("usage", name))
    if op not in n.LLM_OPERATIONS:
        return
    # finish reason: the first of the list, else Anthropic's stop reason, else OpenInference's
    reasons = attrs.get(n.GEN_AI_RESPONSE_FINISH_REASONS)
    if isinstance(reasons, (tuple, list)) and reasons and isinstance(reasons[0], str):
        ev["finish_reason"] = reasons[0]
    else:
        b.move(n.ANTHROPIC_STOP_REASON, ("finish_reason",))
        b.move(n.LLM_FINISH_REASON, ("finish_reason",))
    # request parameters
    for key in list(b.attrs):
        if key.startswith(n.GEN_AI_REQUEST_PREFIX) and key != n.GEN_AI_REQUEST_MODEL:
            b.move(key, ("request", key[len(n.GEN_AI_REQUEST_PREFIX) :]))
    _fill_llm_content(b, events, attrs)
    refine_llm_call(ev, b.moved, b.attrs, attrs)
    if "finish_reason" not in ev:
        out = ev.get("output")
        if isinstance(out, list) and out and isinstance(out[-1], Mapping):
            reason = out[-1].get("finish_reason")
            if isinstance(reason, str):
                ev["finish_reason"] = reason


def _fill_llm_content(
    b: FieldBuilder, events: Sequence[tuple[str, Any]], attrs: Mapping[str, Any]
) -> None:
    """A model call's messages: current attributes, then OpenInference, OpenLLMetry, span
    events, whichever the span has first."""
    ev = b.main
    b.move_json(n.GEN_AI_SYSTEM_INSTRUCTIONS, ("system",), normalise_system)
    b.move_json(n.GEN_AI_INPUT_MESSAGES, ("input",), normalise_messages)
    b.move_json(n.GEN_AI_OUTPUT_MESSAGES, ("output",), lambda v: normalise_messages(v, "assistant"))
    if "input" not in ev:
        flat = flattened_messages(attrs, n.LLM_INPUT_MESSAGES)
        if flat is not None:
            ev["input"] = flat
    if "output" not in ev:
        flat = flattened_messages(attrs, n.LLM_OUTPUT_MESSAGES)
        if flat is not None:
            ev["output"] = flat
    if "input" not in ev or "output" not in ev:
        for field, messages in openllmetry_messages(attrs).items():
            ev.setdefault(field, messages)
    if "input" not in ev or "output" not in ev:
        got: dict[str, list[Any]] = {}
        for name, event_attrs in events:
            content = messages_from_record(name, event_attrs or {}, None)
            for field, value in content.items():
                if field == "system":
                    ev.setdefault("system", value)
                else:
                    got.setdefault(field, []).extend(value)
        for field, messages in got.items():
            ev.setdefault(field, messages)
    vercel.fill_llm(b, attrs)


def _fill_tool(b: FieldBuilder, attrs: Mapping[str, Any], error: bool) -> None:
    call = b.lines["tool_call"]
    res = b.main
    for key in (n.GEN_AI_TOOL_NAME, n.TOOL_NAME):
        b.move(key, ("name",))
    for key in (n.GEN_AI_TOOL_CALL_ID, n.TOOL_CALL_ID):
        b.move(key, ("id",))
    # LangChain's payloads (frameworks.tool_fields) are read, not moved: they hold more.
    derived = tool_fields(attrs) or {}
    if "name" in res:
        call["name"] = res["name"]
    if "id" not in res and derived.get("id") is not None:
        res["id"] = derived["id"]
    if "id" in res:
        call["id"] = res["id"]
    else:
        call["id"] = res["id"] = None
    if "args" in derived:
        call["args"] = derived["args"]
    elif not b.move_raw_or_json(n.GEN_AI_TOOL_CALL_ARGUMENTS, ("args",), "tool_call") and (
        attrs.get(n.OPENINFERENCE_SPAN_KIND) == "TOOL"
    ):
        b.move_raw_or_json(n.INPUT_VALUE, ("args",), "tool_call")
    if "output" in derived:
        res["output"] = derived["output"]
    else:
        for key in (n.GEN_AI_TOOL_CALL_RESULT, n.ANTHROPIC_TOOL_RESULT_CONTENT):
            if b.move_raw_or_json(key, ("output",)):
                break
        else:
            if attrs.get(n.OPENINFERENCE_SPAN_KIND) == "TOOL":
                b.move_raw_or_json(n.OUTPUT_VALUE, ("output",))
    vercel.fill_tool(b, attrs)
    if error:
        res["is_error"] = True


def _fill_agent(b: FieldBuilder, attrs: Mapping[str, Any]) -> None:
    first = b.lines["input"]
    for key in (n.GEN_AI_AGENT_NAME, n.AGENT_NAME):
        b.move(key, ("agent",), "input")
    b.move_json(n.GEN_AI_SYSTEM_INSTRUCTIONS, ("system",), normalise_system, "input")
    b.move_json(n.GEN_AI_INPUT_MESSAGES, ("messages",), normalise_messages, "input")
    b.move_json(n.GEN_AI_OUTPUT_MESSAGES, ("output",), lambda v: normalise_messages(v, "assistant"))
    # A framework's own content (frameworks.agent_fields): read, not moved.
    for field, value in (agent_fields(attrs) or {}).items():
        (first if field == "messages" else b.main).setdefault(field, value)
    if "messages" not in first and isinstance(attrs.get(n.INPUT_VALUE), str):
        first["messages"] = normalise_messages(attrs[n.INPUT_VALUE])
    text = text_of(b.main.get("output"))
    if text is None and isinstance(b.main.get("text"), str):
        return
    if text is None and isinstance(attrs.get(n.OUTPUT_VALUE), str):
        b.move(n.OUTPUT_VALUE, ("text",))
    else:
        b.main["text"] = text
    vercel.fill_agent(b, attrs)


def fill_step(
    b: FieldBuilder,
    op: str | None,
    attrs: Mapping[str, Any],
    events: Sequence[tuple[str, Any]],
    first: dict[str, Any],
    *,
    error: bool,
) -> bool:
    """Fill the step fields of a span of GenAI operation ``op`` (:func:`operation_of`).

    ``b.main`` is the span's main line (written when the span ends); ``first`` a line at the
    span's start, used by tool spans (``tool_call``, with ``tool_result`` as the main line) and
    agent spans (``input``, with ``final``). ``events`` are the span's events as (name,
    attributes). Sets the lines' ``kind``; returns whether ``first`` is one of the span's lines.
    A span that is not GenAI becomes a generic ``span`` line (the caller names it).
    """
    main = b.main
    if op in n.LLM_OPERATIONS:
        main["kind"] = "llm_call"
        if not fill_plain_llm(b, op, attrs, bool(events)):  # the common span, in one pass
            _fill_llm(b, events, op, attrs)
    elif op == "execute_tool":
        first["kind"] = "tool_call"
        b.lines["tool_call"] = first
        main["kind"] = "tool_result"
        _fill_tool(b, attrs, error)
        return True
    elif op == "invoke_agent":
        first["kind"] = "input"
        b.lines["input"] = first
        main["kind"] = "final"
        _fill_agent(b, attrs)
        return True
    elif op == "embeddings":
        main["kind"] = "embeddings"
        _fill_llm(b, events, op, attrs)
    elif op == "retrieval":
        main["kind"] = "retrieval"
        for key in (n.GEN_AI_RETRIEVAL_QUERY_TEXT, n.INPUT_VALUE):
            if b.move(key, ("query",)) is not None:
                break
    else:
        main["kind"] = "span"
    return False

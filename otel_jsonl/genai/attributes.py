"""Steps to GenAI span attributes: what the converter writes on the spans it builds from
recorder lines, in the current GenAI conventions (``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.*``, ``gen_ai.input.messages`` /
``gen_ai.output.messages`` as JSON strings in the parts form, ``gen_ai.tool.*``), plus
OpenInference's ``input.value`` / ``output.value`` on the agent span, which Phoenix needs to
show a run's input and answer. Pure functions."""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from ..record import codec as _codec
from ..schema import usage_of
from . import names as n
from .messages import form_of, to_parts, vendor_turns
from .responses_gemini_spans import finish_reason as conventional_finish
from .responses_gemini_spans import merge_turn, provider_name

__all__ = [
    "agent_attributes",
    "exception_attributes",
    "final_attributes",
    "input_attributes",
    "json_text",
    "llm_attributes",
    "set_tool_call_id",
    "step_attributes",
    "tool_attributes",
    "tool_result_attributes",
]

#: Keys of a recorder line that are not the step's content (they become span structure).
_BASE_KEYS = frozenset(
    {"ts", "run", "kind", "seq", "trace_id", "span_id", "parent_id", "start", "capped", "otel"}
)


def json_text(value: Any) -> str:
    """Compact JSON text of ``value`` (what a JSON-string attribute holds)."""
    if _make_encoder is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    t = type(value)
    if (t is dict or t is list) and _codec.HAVE_ORJSON:
        text = _orjson_text(value)
        if text is not None:
            return text
    # What that json.dumps call does, without the JSONEncoder it builds on every call (half
    # the time of a small value): the C encoder it makes, with the same arguments (a fresh
    # markers dict: check_circular).
    encode = _make_encoder({}, str, _encode_string, None, ":", ",", False, False, True)
    return "".join(encode(value, 0))


_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_string = json.encoder.encode_basestring
#: Digits as "0", "." as "e": a float's text in orjson's output has "0e" after this.
_FLOAT_MARKS = bytes.maketrans(b"123456789.", b"000000000e")


def _orjson_text(value: Any) -> str | None:
    """json_text's text, written by orjson (the codec's, about 3x quicker), when it is sure to
    be the same, else None. Strings are escaped alike (every code point checked); what
    differs is refused: a float (orjson spells exponents its own way; a float always has a
    digit before its "." or "e", so no such pair means no float), a subclass of a built-in
    type (a dict's order may differ), a dataclass or date (json gives their str()), an enum
    or UUID orjson writes natively (marshal takes only the exact built-in types), NaN or an
    infinity (written as null: text with a null is read back and compared)."""
    global _plain_only, _orjson
    orjson = _orjson
    if orjson is None:
        orjson = _orjson = _codec.orjson_module()  # the codec's orjson (None without it)
        if orjson is None:
            return None
    if not _plain_only:
        # With no ``default``, values of these kinds raise instead of being written.
        _plain_only = (
            orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATACLASS
        )
    try:
        raw: bytes = orjson.dumps(value, option=_plain_only)
        if b"0e" in raw.translate(_FLOAT_MARKS):  # a digit, then "." or "e": a float
            return None
        if b"null" in raw:  # None, or NaN / an infinity written as null: read it back
            return raw.decode() if orjson.loads(raw) == value else None
        # Only the exact built-in types (no enum, UUID or other type orjson writes natively):
        # marshal refuses anything else, in C, quicker than reading the text back.
        marshal.dumps(value)
        return raw.decode()
    except (TypeError, ValueError):  # a type orjson or marshal would not take; numpy's ==
        pass
    return None


_plain_only = 0
_orjson: Any = None


def _scalar(value: Any) -> Any:
    """An attribute value for a field: scalars and homogeneous string lists as they are,
    anything else as compact JSON."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return json_text(value)


def _plain_parts(message: Any) -> bool:
    """Whether ``message`` is a parts message no other form could claim (what the recorder
    writes): ``form_of`` says ``parts`` without the checks of every other form. A dict with
    ``parts`` (a list, empty or typed first), no ``type``, no ``content``, not role ``model``:
    neither a Gemini content nor a Responses item."""
    if type(message) is not dict or "type" in message or "content" in message:
        return False
    parts = message.get("parts")
    return (
        type(parts) is list
        and message.get("role") != "model"
        and (not parts or (type(parts[0]) is dict and "type" in parts[0]))
    )


def _as_parts(message: Any) -> dict[str, Any]:
    """A message in the GenAI parts form (OpenAI and Anthropic forms are converted)."""
    if _plain_parts(message):
        return {**message, "parts": list(message["parts"])}
    if not isinstance(message, Mapping):
        return {"role": "user", "parts": [{"type": "text", "content": str(message)}]}
    if "parts" in message and form_of(message) == "parts":
        # What to_parts gives, less its deep copy: the messages built here are only read and
        # encoded (a finish reason is set on the message, never inside a part), and the deep
        # copy was most of a conversion's time.
        return {**message, "parts": list(message.get("parts") or [])}
    return to_parts(message)


def _output_messages(
    messages: Iterable[Any], finish_reason: Any, *, fresh: bool = False
) -> list[dict[str, Any]]:
    """Output messages with their finish reasons. ``fresh``: ``messages`` are plain parts
    messages this module already copied and merged (converting and merging them again gives
    the same), given their finish reasons in place."""
    out = []
    for m in messages if fresh else merge_turn([_as_parts(message) for message in messages]):
        if "finish_reason" in m:
            m["finish_reason"] = conventional_finish(m["finish_reason"], [m])
        else:
            if isinstance(finish_reason, str) and finish_reason:
                m["finish_reason"] = finish_reason
            else:
                has_call = any(p.get("type") == "tool_call" for p in m.get("parts", ()))
                m["finish_reason"] = "tool_call" if has_call else "stop"
        out.append(m)
    return out


def _text_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "parts": [{"type": "text", "content": text}]}


def _system_parts(system: Any) -> list[Any]:
    if isinstance(system, str):
        return [{"type": "text", "content": system}]
    return list(system)


def _last_user_text(parts: Sequence[Mapping[str, Any]]) -> str | None:
    for message in reversed(parts):
        if message.get("role") == "user":
            texts = [
                str(p.get("content", ""))
                for p in message.get("parts", ())
                if isinstance(p, Mapping) and p.get("type") == "text"
            ]
            return "\n".join(texts) if texts else None
    return None


def _nonempty(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


# --- the run (invoke_agent) --------------------------------------------------------------


def agent_attributes() -> dict[str, Any]:
    """The attributes a run's root span starts with."""
    return {n.GEN_AI_OPERATION_NAME: "invoke_agent"}


def input_attributes(attrs: dict[str, Any], ev: Mapping[str, Any]) -> str | None:
    """Add what a run's ``input`` line holds to its root span's ``attrs``; return the span's
    name when the line names the agent."""
    name = None
    agent = ev.get("agent")
    if _nonempty(agent):
        attrs[n.GEN_AI_AGENT_NAME] = agent
        name = f"invoke_agent {agent}"
    messages = ev.get("messages")
    if isinstance(messages, list):
        parts = [_as_parts(m) for m in messages]
        attrs[n.GEN_AI_INPUT_MESSAGES] = json_text(parts)
        text = _last_user_text(parts)
        if text is not None:
            attrs[n.INPUT_VALUE] = text
        else:
            attrs[n.INPUT_VALUE] = json_text(parts)
            attrs[n.INPUT_MIME_TYPE] = "application/json"
    system = ev.get("system")
    if system:
        attrs[n.GEN_AI_SYSTEM_INSTRUCTIONS] = json_text(_system_parts(system))
    return name


def final_attributes(attrs: dict[str, Any], ev: Mapping[str, Any]) -> None:
    """Add what a run's ``final`` line holds to its root span's ``attrs``."""
    output = ev.get("output")
    text = ev.get("text")
    if isinstance(output, list) and output:
        attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text(_output_messages(output, None))
    elif isinstance(text, str):
        attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text(_output_messages([_text_message(text)], "stop"))
    if isinstance(text, str):
        attrs[n.OUTPUT_VALUE] = text


# --- tools -------------------------------------------------------------------------------


def tool_attributes(name: str, call_id: Any, ev: Mapping[str, Any] | None) -> dict[str, Any]:
    """The attributes of an ``execute_tool`` span, from its ``tool_call`` line (or None when
    only the result is known)."""
    attrs: dict[str, Any] = {
        n.GEN_AI_OPERATION_NAME: "execute_tool",
        n.GEN_AI_TOOL_NAME: name,
        n.GEN_AI_TOOL_TYPE: "function",
    }
    set_tool_call_id(attrs, call_id)
    if ev is not None and "args" in ev:
        args = ev["args"]
        attrs[n.GEN_AI_TOOL_CALL_ARGUMENTS] = args if isinstance(args, str) else json_text(args)
    return attrs


def set_tool_call_id(attrs: dict[str, Any], call_id: Any) -> None:
    """Name the call an ``execute_tool`` span answers (when the id is known)."""
    if _nonempty(call_id):
        attrs[n.GEN_AI_TOOL_CALL_ID] = call_id


def tool_result_attributes(attrs: dict[str, Any], ev: Mapping[str, Any]) -> None:
    """Add a ``tool_result`` line's output to its ``execute_tool`` span's ``attrs``."""
    if "output" in ev:
        output = ev["output"]
        attrs[n.GEN_AI_TOOL_CALL_RESULT] = output if isinstance(output, str) else json_text(output)


# --- model calls and other steps ---------------------------------------------------------

_LLM_STRINGS = (
    ("response_model", n.GEN_AI_RESPONSE_MODEL),
    ("provider", n.GEN_AI_PROVIDER_NAME),
    ("response_id", n.GEN_AI_RESPONSE_ID),
)
_LLM_USAGE = (
    ("input_tokens", n.GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", n.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cache_read_input_tokens", n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_creation_input_tokens", n.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS),
    ("reasoning_tokens", n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
)


def llm_attributes(ev: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The name and attributes of the ``chat`` span of an ``llm_call`` line."""
    # (_nonempty inlined: this runs for every model call of a conversion)
    operation = ev.get("operation")
    operation = operation if isinstance(operation, str) and operation else "chat"
    attrs: dict[str, Any] = {n.GEN_AI_OPERATION_NAME: operation}
    model = ev.get("model")
    name = operation
    if isinstance(model, str) and model:
        attrs[n.GEN_AI_REQUEST_MODEL] = model
        name = f"{operation} {model}"
    for key, attr in _LLM_STRINGS:
        value = ev.get(key)
        if isinstance(value, str) and value:
            attrs[attr] = value
    request = ev.get("request")
    if request is not None and isinstance(request, Mapping):  # (None: no slow ABC check)
        for key, value in request.items():
            if isinstance(value, (str, bool, int, float)):
                attrs[n.GEN_AI_REQUEST_PREFIX + key] = value
    usage: Mapping[str, Any] = _usage(ev)
    for key, attr in _LLM_USAGE:
        if key in usage:
            attrs[attr] = usage[key]
    output = ev.get("output")
    content = ev.get("content")
    out_parts = (
        merge_turn([_as_parts(m) for m in output]) if isinstance(output, list) and output else None
    )
    finish = conventional_finish(ev.get("finish_reason"), out_parts)
    if n.GEN_AI_PROVIDER_NAME in attrs:
        attrs[n.GEN_AI_PROVIDER_NAME] = provider_name(attrs[n.GEN_AI_PROVIDER_NAME])
    if _nonempty(finish):
        attrs[n.GEN_AI_RESPONSE_FINISH_REASONS] = [finish]
    messages = ev.get("input")
    if isinstance(messages, list):
        # A Responses assistant turn (one item each) is one message, as in the output.
        turns = messages if all(map(_plain_parts, messages)) else vendor_turns(messages)
        attrs[n.GEN_AI_INPUT_MESSAGES] = json_text([_as_parts(m) for m in turns])
    system = ev.get("system")
    if system:
        attrs[n.GEN_AI_SYSTEM_INSTRUCTIONS] = json_text(_system_parts(system))
    if out_parts is not None:
        fresh = isinstance(output, list) and all(map(_plain_parts, output))
        attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text(
            _output_messages(out_parts, finish, fresh=fresh)
        )
    elif content is not None and isinstance(content, Mapping):
        # The article's llm_call: an OpenAI assistant message (``msg.model_dump()``).
        attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text(_output_messages([content], finish))
    elif isinstance(content, str):
        attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text(
            _output_messages([_text_message(content)], finish)
        )
    return name, attrs


_PLAIN_USAGE = frozenset({"input_tokens", "output_tokens", "total_tokens"})


def _usage(ev: Mapping[str, Any]) -> Mapping[str, Any]:
    """``usage_of(ev)`` as far as the model-call attributes read it; quicker for the usual
    ``input_tokens``/``output_tokens`` usage (then usage_of reads only those two)."""
    raw = ev.get("usage")
    if type(raw) is not dict or not raw.keys() <= _PLAIN_USAGE:
        return usage_of(ev)
    return {
        key: int(value)
        for key in ("input_tokens", "output_tokens")
        if isinstance(value := raw.get(key), int) and not isinstance(value, bool)
    }


def step_attributes(kind: str, ev: Mapping[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """The name and attributes of the span of a step that is not a model call or a tool, and
    whether it is a client span: ``embeddings`` and ``retrieval`` in the GenAI conventions,
    anything else as ``otel_jsonl.<key>`` attributes (so nothing is dropped)."""
    attrs: dict[str, Any] = {}
    name = kind
    if kind == "embeddings":
        model = ev.get("model")
        attrs[n.GEN_AI_OPERATION_NAME] = "embeddings"
        if isinstance(model, str):
            attrs[n.GEN_AI_REQUEST_MODEL] = model
            name = f"embeddings {model}"
        if isinstance(ev.get("provider"), str):
            attrs[n.GEN_AI_PROVIDER_NAME] = ev["provider"]
        usage = usage_of(ev)
        if "input_tokens" in usage:
            attrs[n.GEN_AI_USAGE_INPUT_TOKENS] = usage["input_tokens"]
        return name, attrs, True
    if kind == "retrieval":
        attrs[n.GEN_AI_OPERATION_NAME] = "retrieval"
        if "query" in ev:
            attrs[n.GEN_AI_RETRIEVAL_QUERY_TEXT] = _scalar(ev["query"])
        if "documents" in ev:
            attrs[n.GEN_AI_RETRIEVAL_DOCUMENTS] = _scalar(ev["documents"])
        return name, attrs, False
    if _nonempty(ev.get("name")):
        name = ev["name"]
    attrs["otel_jsonl.kind"] = kind
    for key, value in ev.items():
        if key in _BASE_KEYS or key == "name" or value is None:
            continue
        attrs[f"otel_jsonl.{key}"] = _scalar(value)
    return name, attrs, False


def exception_attributes(ev: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The ``exception`` event attributes of an ``error`` line, and the span status text."""
    etype = ev.get("type")
    etype = etype if _nonempty(etype) else "Error"
    message = ev.get("message")
    if not isinstance(message, str):
        message = ev.get("err") if isinstance(ev.get("err"), str) else ""
    attrs: dict[str, Any] = {n.EXCEPTION_TYPE: etype, n.EXCEPTION_MESSAGE: message}
    if isinstance(ev.get("traceback"), str):
        attrs[n.EXCEPTION_STACKTRACE] = ev["traceback"]
    return attrs, (f"{etype}: {message}" if message else etype)

"""What agent frameworks and their bridges put on spans, read as steps: LangChain / LangGraph
(OpenInference, OpenLLMetry), the OpenAI Agents SDK (OpenInference, OpenLLMetry, the official
agents-v2 bridge) and Pydantic AI's own instrumentation (data formats 5 and 6).

Two layers, both without I/O:

- per span, called while a span's fields are filled (:mod:`.spans`): :func:`repair_parts`
  (message parts as bridges really write them: tool results under ``result``, arguments as
  JSON text, a tool call printed as a Python repr; a call labelled with its Responses item id
  is :mod:`.responses_gemini_spans`'s), :func:`tool_fields` (LangChain's tool payloads) and
  :func:`agent_fields` (LangChain state, Pydantic AI's conversation and result);
- per run, across spans: :class:`.run_steps.RunSteps` (nested agents, LangChain's root chain,
  tool spans without a call id, agents without content, stale model inputs).

Derived values are set as fields without moving their attributes, so a span still comes back
exactly from its lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from . import names as n
from .content import text_of
from .jsontext import parse_json
from .messages import to_parts

__all__ = [
    "agent_fields",
    "has_content",
    "langchain_messages",
    "repair_parts",
    "tool_fields",
]

# --- message parts as bridges write them -------------------------------------------------------

# `ResponseFunctionToolCall(arguments='{"city": "Lisbon"}', call_id='call_1', name='get_weather',
# ...)`: how opentelemetry-instrumentation-openai-agents-v2 0.1.0 writes a Responses tool call
# into an output message's text.
_REPR_CALL = re.compile(r"^ResponseFunctionToolCall\((.*)\)$", re.S)
_REPR_FIELD = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|None)")


def _repr_tool_call(text: str) -> dict[str, Any] | None:
    """A ``tool_call`` part from the repr of a Responses function call, or None."""
    m = _REPR_CALL.match(text)
    if m is None:
        return None
    fields: dict[str, Any] = {}
    for key, literal in _REPR_FIELD.findall(m.group(1)):
        try:
            fields[key] = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            return None
    if not isinstance(fields.get("name"), str):
        return None
    call_id = fields.get("call_id") or fields.get("id")
    return {
        "type": "tool_call",
        "id": call_id,
        "name": fields["name"],
        "arguments": _object_arguments(fields.get("arguments")),
    }


def _object_arguments(raw: Any) -> Any:
    """Tool arguments as an object when they are JSON text of one (else as they are)."""
    if isinstance(raw, str):
        parsed = parse_json(raw)
        if isinstance(parsed, dict):
            return parsed
    return raw


def _repair_part(part: Any) -> Any:
    """The part in the canonical parts form (the same object when it already is)."""
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind == "tool_call_response" and "response" not in part and "result" in part:
        # Pydantic AI (data formats 5 and 6) puts a tool's result under `result`.
        fixed = {k: v for k, v in part.items() if k != "result"}
        fixed["response"] = part["result"]
        return fixed
    if kind == "tool_call" and isinstance(part.get("arguments"), str):
        arguments = _object_arguments(part["arguments"])
        if arguments is not part["arguments"]:
            return {**part, "arguments": arguments}
    if kind == "text" and isinstance(part.get("content"), str):
        content = part["content"]
        if content.startswith("ResponseFunctionToolCall("):
            call = _repr_tool_call(content)
            if call is not None:
                return call
    return part


def _needs_repair(messages: list[Any]) -> bool:
    """Whether any part needs :func:`_repair_part` (one pass with no call per part: this runs
    on every model call the exporter maps)."""
    for message in messages:
        parts = message.get("parts") if type(message) is dict else None
        if type(parts) is not list:
            continue
        for part in parts:
            if type(part) is not dict:
                continue
            kind = part.get("type")
            if kind == "text":
                content = part.get("content")
                if type(content) is str and content.startswith("ResponseFunctionToolCall("):
                    return True
            elif kind == "tool_call":
                if type(part.get("arguments")) is str:
                    return True
            elif kind == "tool_call_response" and "result" in part and "response" not in part:
                return True
    return False


def repair_parts(messages: Any) -> Any:
    """Parts-form messages as bridges write them, in the canonical form: tool results under
    ``response`` (not ``result``), tool arguments as objects (not JSON text), a tool call
    written as a Python repr made a ``tool_call`` part. Returns ``messages`` itself when
    nothing changes."""
    if not isinstance(messages, list) or not _needs_repair(messages):
        return messages
    out: list[Any] | None = None
    for i, message in enumerate(messages):
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list):
            continue
        fixed = [_repair_part(p) for p in parts]
        if any(a is not b for a, b in zip(fixed, parts, strict=True)):
            if out is None:
                out = list(messages)
            out[i] = {**message, "parts": fixed}
    return messages if out is None else out


# --- LangChain's serialised messages ----------------------------------------------------------

_LANGCHAIN_ROLES = {
    "human": "user",
    "HumanMessage": "user",
    "HumanMessageChunk": "user",
    "ai": "assistant",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "tool": "tool",
    "ToolMessage": "tool",
    "system": "system",
    "SystemMessage": "system",
}


def _langchain_message(raw: Any) -> dict[str, Any] | None:
    """One LangChain message (``{"lc": 1, "type": "constructor", "id": [..., "AIMessage"],
    "kwargs": {...}}``, ``{"type": "ai", "data": {...}}``, or a plain chat message) as parts."""
    if not isinstance(raw, Mapping):
        return None
    if raw.get("lc") == 1 and isinstance(raw.get("id"), list) and raw["id"]:
        kind, data = raw["id"][-1], raw.get("kwargs")
    elif isinstance(raw.get("data"), Mapping) and isinstance(raw.get("type"), str):
        kind, data = raw["type"], raw["data"]
    elif isinstance(raw.get("role"), str):
        return to_parts(raw)
    else:
        return None
    role = _LANGCHAIN_ROLES.get(str(kind))
    if role is None or not isinstance(data, Mapping):
        return None
    content = data.get("content")
    if role == "tool":
        return {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": data.get("tool_call_id"), "response": content}
            ],
        }
    message = to_parts({"role": role, "content": content if content else ""})
    if not content:
        message["parts"] = []
    for call in data.get("tool_calls") or ():
        if isinstance(call, Mapping):
            message["parts"].append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": call.get("args"),
                }
            )
    return message


def langchain_messages(value: Any) -> list[dict[str, Any]] | None:
    """The messages of LangChain / LangGraph state serialised as JSON text or a value
    (``{"messages": [...]}``, OpenLLMetry's ``{"inputs": {...}}`` / ``{"outputs": {...}}``), as
    parts; None when it holds no LangChain messages."""
    value = parse_json(value)
    if isinstance(value, Mapping):
        for key in ("inputs", "outputs"):
            if isinstance(value.get(key), Mapping):
                value = value[key]
                break
        value = value.get("messages") if isinstance(value, Mapping) else None
    if not isinstance(value, list) or not value:
        return None
    out = [_langchain_message(m) for m in value]
    if any(m is None for m in out):
        return None
    return [m for m in out if m is not None]


# --- tool spans --------------------------------------------------------------------------------


def _tool_message(value: Any) -> Mapping[str, Any] | None:
    """The fields of a LangChain ToolMessage serialised in ``value`` (either form)."""
    value = parse_json(value)
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("output"), Mapping):  # OpenLLMetry: {"output": <message>, ...}
        value = value["output"]
    if (
        value.get("lc") == 1
        and isinstance(value.get("id"), list)
        and value["id"][-1:] == ["ToolMessage"]
    ):
        data = value.get("kwargs")
    elif value.get("type") == "tool" and isinstance(value.get("data"), Mapping):
        data = value["data"]
    else:
        return None
    return data if isinstance(data, Mapping) else None


def tool_fields(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """``id``, ``args`` and ``output`` of a tool span whose payloads are LangChain's, or None.

    OpenInference: ``output.value`` is the ToolMessage (call id and content), ``input.value``
    the bare argument (so ``args`` is None here and taken from the model's call later).
    OpenLLMetry: the arguments attribute wraps the callback's ``inputs`` and ``kwargs`` (with
    ``tool_call_id``), the result attribute the ToolMessage.
    """
    found: dict[str, Any] = {}
    for key in (n.GEN_AI_TOOL_CALL_RESULT, n.OUTPUT_VALUE):
        raw = attrs.get(key)
        # Cheap look before a parse: every tool span passes here.
        if isinstance(raw, str) and raw.startswith("{") and '"tool_call_id"' in raw:
            data = _tool_message(raw)
            if data is not None:
                found["output"] = data.get("content")
                if isinstance(data.get("tool_call_id"), str):
                    found["id"] = data["tool_call_id"]
                if key == n.OUTPUT_VALUE:
                    found["args"] = None
                break
    raw_args = attrs.get(n.GEN_AI_TOOL_CALL_ARGUMENTS)
    if isinstance(raw_args, str) and raw_args.startswith("{") and '"input_str"' in raw_args:
        wrapped = parse_json(raw_args)
        if isinstance(wrapped, Mapping) and isinstance(wrapped.get("inputs"), Mapping):
            found["args"] = dict(wrapped["inputs"])
            kwargs = wrapped.get("kwargs")
            if isinstance(kwargs, Mapping) and isinstance(kwargs.get("tool_call_id"), str):
                found.setdefault("id", kwargs["tool_call_id"])
    return found or None


# --- agent spans -------------------------------------------------------------------------------


def _leading_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages before the first assistant message: what the run was asked."""
    out = []
    for m in messages:
        if m.get("role") == "assistant":
            break
        out.append(m)
    return out


def _last_assistant(messages: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    for m in reversed(messages):
        if m.get("role") == "assistant":
            return [m]
    return None


def agent_fields(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """``messages`` (the run's input), ``output`` and ``text`` (its answer) and ``usage`` of an
    agent span whose content is a framework's own, or None.

    Pydantic AI: ``pydantic_ai.all_messages`` (the conversation, parts form) and
    ``final_result``, usage as ``gen_ai.aggregated_usage.*``. LangChain / LangGraph (OpenLLMetry's
    ``gen_ai.task.input``/``output``, OpenInference's root chain ``input.value``/``output.value``):
    serialised LangChain state.
    """
    found: dict[str, Any] = {}
    conversation = attrs.get(n.PYDANTIC_AI_ALL_MESSAGES)
    if isinstance(conversation, str):
        messages = repair_parts(parse_json(conversation))
        if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
            found["messages"] = _leading_input(messages)
            last = _last_assistant(messages)
            if last is not None:
                found["output"] = last
        result = parse_json(attrs.get(n.PYDANTIC_AI_FINAL_RESULT))
        if isinstance(result, str):
            found["text"] = result
        usage = {
            key[len(n.GEN_AI_AGGREGATED_USAGE_PREFIX) :]: value
            for key, value in attrs.items()
            if key.startswith(n.GEN_AI_AGGREGATED_USAGE_PREFIX)
            and isinstance(value, int)
            and not isinstance(value, bool)
        }
        if usage:
            found["usage"] = usage
        return found
    for in_key, out_key in (
        (n.GEN_AI_TASK_INPUT, n.GEN_AI_TASK_OUTPUT),
        (n.INPUT_VALUE, n.OUTPUT_VALUE),
    ):
        asked = langchain_messages(attrs.get(in_key))
        answered = langchain_messages(attrs.get(out_key))
        if asked is None and answered is None:
            continue
        if asked is not None:
            found["messages"] = _leading_input(asked)
        last = _last_assistant(answered or [])
        if last is not None:
            found["output"] = last
            found["text"] = text_of(last)
        return found
    return None


_CONTENT_KEYS = (
    n.GEN_AI_INPUT_MESSAGES,
    n.GEN_AI_OUTPUT_MESSAGES,
    n.INPUT_VALUE,
    n.OUTPUT_VALUE,
    n.PYDANTIC_AI_ALL_MESSAGES,
    n.PYDANTIC_AI_FINAL_RESULT,
    n.GEN_AI_TASK_INPUT,
    n.GEN_AI_TASK_OUTPUT,
)


def has_content(attrs: Mapping[str, Any]) -> bool:
    """Whether an agent span carries content of its own (messages, state or a result)."""
    return any(key in attrs for key in _CONTENT_KEYS)

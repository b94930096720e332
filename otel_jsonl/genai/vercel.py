"""The Vercel AI SDK's spans (``ai`` with ``experimental_telemetry``): which GenAI operation each
is, and its step fields, from the ``ai.*`` attributes that SDK writes beside the few ``gen_ai.*``
ones (model, provider, usage, response id and finish reasons, which the common code reads).

Its messages (``ai.prompt.messages``, the SDK's language-model prompt: ``text``, ``tool-call``,
``tool-result`` parts) become the parts form; the model's answer, spread over
``ai.response.text`` and ``ai.response.toolCalls``, becomes one assistant message. Pure
functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import names as n
from .jsontext import parse_json

if TYPE_CHECKING:  # pragma: no cover
    from .spans import FieldBuilder

__all__ = ["fill_agent", "fill_llm", "fill_tool", "messages_to_parts", "operation_of"]


def operation_of(attrs: Mapping[str, Any]) -> str | None:
    """The GenAI operation of an AI SDK span (by ``ai.operationId``), else None."""
    op = attrs.get(n.AI_OPERATION_ID)
    return n.AI_SDK_OPERATIONS.get(op) if isinstance(op, str) else None


def _tool_output(output: Any) -> Any:
    # ai >= 5: {"type": "text" | "json" | "error-text" | "error-json", "value": ...}
    if isinstance(output, Mapping) and "value" in output and isinstance(output.get("type"), str):
        return output["value"]
    return output


def _part(part: Any) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        return {"type": "text", "content": str(part)}
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "content": part.get("text")}
    if kind == "reasoning":
        return {"type": "reasoning", "content": part.get("text")}
    if kind == "tool-call":
        raw = part.get("input", part.get("args"))
        return {
            "type": "tool_call",
            "id": part.get("toolCallId"),
            "name": part.get("toolName"),
            "arguments": parse_json(raw),
        }
    if kind == "tool-result":
        return {
            "type": "tool_call_response",
            "id": part.get("toolCallId"),
            "response": _tool_output(part.get("output", part.get("result"))),
        }
    return dict(part)


def messages_to_parts(value: Any) -> list[dict[str, Any]] | None:
    """An AI SDK prompt (a list of ``{"role", "content"}``) in the parts form; None when it is
    not one."""
    value = parse_json(value)
    if not isinstance(value, list):
        return None
    out = []
    for message in value:
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            return None
        content = message.get("content")
        if isinstance(content, str):
            parts = [{"type": "text", "content": content}]
        elif isinstance(content, list):
            parts = [_part(p) for p in content]
        else:
            return None
        out.append({"role": message["role"], "parts": parts})
    return out


def _response_message(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    parts: list[dict[str, Any]] = []
    text = attrs.get(n.AI_RESPONSE_TEXT)
    if not isinstance(text, str):
        text = attrs.get(n.AI_RESPONSE_OBJECT)
    if isinstance(text, str) and text:
        parts.append({"type": "text", "content": text})
    calls = parse_json(attrs.get(n.AI_RESPONSE_TOOL_CALLS))
    if isinstance(calls, list):
        parts.extend(_part({"type": "tool-call", **c}) for c in calls if isinstance(c, Mapping))
    if not parts:
        return None
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    reason = attrs.get(n.AI_RESPONSE_FINISH_REASON)
    if isinstance(reason, str):
        message["finish_reason"] = reason
    return message


def fill_llm(b: FieldBuilder, attrs: Mapping[str, Any]) -> None:
    """Model, provider and content of an AI SDK model call, where the common code found none."""
    if n.AI_OPERATION_ID not in attrs:
        return
    main = b.main
    if "model" not in main:
        b.move(n.AI_MODEL_ID, ("model",))
    if "provider" not in main:
        b.move(n.AI_MODEL_PROVIDER, ("provider",))
    if "input" not in main:
        messages = messages_to_parts(attrs.get(n.AI_PROMPT_MESSAGES))
        if messages is not None:
            main["input"] = messages
    if "output" not in main:
        message = _response_message(attrs)
        if message is not None:
            main["output"] = [message]
    if "finish_reason" not in main:
        b.move(n.AI_RESPONSE_FINISH_REASON, ("finish_reason",))


def fill_tool(b: FieldBuilder, attrs: Mapping[str, Any]) -> None:
    """Name, call id, arguments and result of an AI SDK ``ai.toolCall`` span."""
    if n.AI_OPERATION_ID not in attrs:
        return
    call, res = b.lines["tool_call"], b.main
    if res.get("name") is None:
        res.pop("name", None)
        if b.move(n.AI_TOOL_CALL_NAME, ("name",)) is not None:
            call["name"] = res["name"]
    if res.get("id") is None:
        res.pop("id", None)
        if b.move(n.AI_TOOL_CALL_ID, ("id",)) is not None:
            call["id"] = res["id"]
        else:
            res["id"] = None
    if "args" not in call:
        for key in (n.AI_TOOL_CALL_ARGS, n.AI_TOOL_CALL_INPUT):
            if b.move_raw_or_json(key, ("args",), "tool_call"):
                break
    if "output" not in res:
        for key in (n.AI_TOOL_CALL_RESULT, n.AI_TOOL_CALL_OUTPUT):
            if b.move_raw_or_json(key, ("output",)):
                break


def fill_agent(b: FieldBuilder, attrs: Mapping[str, Any]) -> None:
    """The run's input (``ai.prompt``: system, prompt or messages) and its final text."""
    if n.AI_OPERATION_ID not in attrs:
        return
    first, main = b.lines["input"], b.main
    prompt = parse_json(attrs.get(n.AI_PROMPT))
    if isinstance(prompt, Mapping):
        system = prompt.get("system")
        if isinstance(system, str) and "system" not in first:
            first["system"] = system
        if "messages" not in first:
            if isinstance(prompt.get("prompt"), str):
                first["messages"] = [
                    {"role": "user", "parts": [{"type": "text", "content": prompt["prompt"]}]}
                ]
            else:
                messages = messages_to_parts(prompt.get("messages"))
                if messages is not None:
                    first["messages"] = messages
    if main.get("text") is None:
        main.pop("text", None)
        if b.move(n.AI_RESPONSE_TEXT, ("text",)) is None:
            main["text"] = None

"""Messages between the GenAI parts form and OpenAI Responses input items.

Responses input items: ``{"role", "content": str}`` (an "easy" message),
``{"type": "message", "role", "content": [{"type": "input_text" | "output_text", "text"}]}``,
``{"type": "function_call", "call_id", "name", "arguments": "<JSON string>"}``,
``{"type": "function_call_output", "call_id", "output"}``, ``{"type": "reasoning", "summary"}``;
the system prompt is the request's ``instructions``.

Each item becomes one parts message and back, without loss: what GenAI parts have no field for
stays on the part or message under its own key (an item's ``id`` as the message's ``id`` or a
tool call's ``item_id``, ``status``, a text part's ``text_type`` and ``annotations``, a
reasoning item whole under ``responses``), and items or content parts of a type this module does
not know are kept whole (``responses_item`` / ``responses_part`` parts). Converting a parts
message that came from another form gives what the API accepts. Standard library only; pure
functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "arguments_value",
    "from_responses",
    "is_responses_item",
    "join_text",
    "parts_to_responses",
    "responses_item",
]

_RESPONSES_ITEMS = frozenset(
    {
        "function_call_output",
        "reasoning",
        "item_reference",
        "compaction",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
    }
)
"""Responses item types besides ``message`` and the ``*_call`` / ``*_call_output`` ones."""
_RESPONSES_TEXT = frozenset({"input_text", "output_text"})
_RESPONSES_PARTS = frozenset(
    {"input_text", "output_text", "refusal", "input_image", "input_file", "input_audio"}
)


def arguments_value(raw: Any) -> Any:
    """Tool arguments: a JSON string of an object as that object (when it re-encodes to the
    same string, so the round trip stays exact); anything else as it is."""
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
        # Keep the string when re-encoding would not give it back: the round trip stays exact.
        if isinstance(value, dict) and json.dumps(value) == raw:
            return value
        return raw
    return copy.deepcopy(raw)


def _arguments_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- detection -----------------------------------------------------------------------------


def is_responses_item(message: Mapping[str, Any]) -> bool:
    """Whether ``message`` is a Responses input item that no other form has: a typed item
    (``function_call``, ``reasoning``, ``message`` with ``input_text``/``output_text``...)."""
    kind = message.get("type")
    if kind == "message":
        content = message.get("content")
        return isinstance(content, str) or (
            isinstance(content, list)
            and all(isinstance(p, Mapping) and p.get("type") in _RESPONSES_PARTS for p in content)
        )
    if isinstance(kind, str) and "parts" not in message:
        # Only the API's own item types: other libraries type their messages too (LangChain's
        # {"type": "human"}), and those are not Responses items.
        return kind in _RESPONSES_ITEMS or kind.endswith(("_call", "_call_output"))
    content = message.get("content")
    return (
        "type" not in message
        and isinstance(content, list)
        and bool(content)
        and all(isinstance(p, Mapping) and p.get("type") in _RESPONSES_TEXT for p in content)
    )


# --- Responses -> parts --------------------------------------------------------------------


def _text_part(text: Any) -> dict[str, Any]:
    return {"type": "text", "content": text}


def _responses_content_part(part: Any) -> dict[str, Any]:
    if isinstance(part, Mapping) and part.get("type") in _RESPONSES_TEXT:
        out = _text_part(part.get("text", ""))
        out["text_type"] = part["type"]
        for key, value in part.items():
            if key not in ("type", "text"):
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(part, Mapping) and part.get("type") == "refusal":
        return {"type": "refusal", "content": part.get("refusal", "")}
    return {"type": "responses_part", "value": copy.deepcopy(part)}


def responses_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """One Responses input item as a parts message (see the module docstring)."""
    kind = item.get("type")
    rest = {k: copy.deepcopy(v) for k, v in item.items()}
    if kind == "function_call":
        part: dict[str, Any] = {
            "type": "tool_call",
            "id": rest.pop("call_id", None),
            "name": rest.pop("name", None),
            "arguments": arguments_value(rest.pop("arguments", "")),
        }
        rest.pop("type")
        if "id" in rest:
            part["item_id"] = rest.pop("id")
        part.update(rest)
        return {"role": "assistant", "parts": [part]}
    if kind == "function_call_output":
        part = {
            "type": "tool_call_response",
            "id": rest.pop("call_id", None),
            "response": rest.pop("output", ""),
        }
        rest.pop("type")
        if "id" in rest:
            part["item_id"] = rest.pop("id")
        part.update(rest)
        return {"role": "tool", "parts": [part]}
    if kind == "reasoning":
        summary = rest.get("summary")
        texts = [str(s.get("text", "")) for s in summary or [] if isinstance(s, Mapping)]
        reasoning = {"type": "reasoning", "content": "\n\n".join(texts), "responses": rest}
        return {"role": "assistant", "parts": [reasoning]}
    if kind not in (None, "message"):
        return {"role": "assistant", "parts": [{"type": "responses_item", "value": rest}]}
    content = rest.pop("content", "")
    out: dict[str, Any] = {"role": rest.pop("role", "user")}
    if isinstance(content, str):
        out["parts"] = [_text_part(content)]
    else:
        out["parts"] = [_responses_content_part(p) for p in content or []]
    # Which item shape it came in: None for an "easy" message, "message" for a typed one.
    out["item_type"] = rest.pop("type", None)
    out.update(rest)
    return out


def from_responses(
    items: str | Iterable[Mapping[str, Any]], instructions: Any = None
) -> list[dict[str, Any]]:
    """A Responses request's ``input`` (a string or items) and ``instructions`` as parts
    messages, the instructions first as a ``system`` message."""
    out: list[dict[str, Any]] = []
    if isinstance(instructions, str):
        out.append({"role": "system", "parts": [_text_part(instructions)], "instructions": True})
    if isinstance(items, str):
        out.append({"role": "user", "parts": [_text_part(items)], "input_string": True})
        return out
    out.extend(responses_item(item) for item in items)
    return out


# --- parts -> Responses --------------------------------------------------------------------

_PART_KEYS = frozenset({"type", "content", "text_type"})


def _responses_text(part: Mapping[str, Any], role: str) -> dict[str, Any]:
    default = "output_text" if role == "assistant" else "input_text"
    out: dict[str, Any] = {"type": part.get("text_type") or default, "text": part.get("content")}
    out.update({k: copy.deepcopy(v) for k, v in part.items() if k not in _PART_KEYS})
    if out["type"] == "output_text":
        out.setdefault("annotations", [])
    return out


def _rest(part: Mapping[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in part.items() if k not in skip}


def _function_call_item(part: Mapping[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = {"id": part["item_id"]} if "item_id" in part else {}
    call["type"] = "function_call"
    call["call_id"] = part.get("id")
    call["name"] = part.get("name")
    call["arguments"] = _arguments_text(part.get("arguments"))
    call.update(_rest(part, ("type", "id", "name", "arguments", "item_id")))
    return call


def _function_output_item(part: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": "function_call_output",
        "call_id": part.get("id"),
        "output": _output_text(part.get("response")),
    }
    if "item_id" in part:
        result["id"] = part["item_id"]
    result.update(_rest(part, ("type", "id", "response", "item_id", "name")))
    return result


def _message_item(message: Mapping[str, Any], texts: list[dict[str, Any]]) -> dict[str, Any]:
    """The text parts of a parts message as an "easy" message or a typed ``message`` item."""
    role = str(message.get("role", "user"))
    typed = message.get("item_type") == "message"
    skip = ("role", "parts", "item_type", "instructions", "input_string", "name", "finish_reason")
    extra = _rest(message, skip)
    if not typed and len(texts) == 1 and "text_type" not in texts[0] and not extra:
        return {"role": role, "content": texts[0].get("content")}
    item: dict[str, Any] = {"type": "message"} if typed or "item_type" not in message else {}
    item["role"] = role
    item["content"] = [
        _responses_text(p, role) if p.get("type") == "text" else _other_part(p) for p in texts
    ]
    item.update(extra)
    if "item_type" not in message:
        # Built from another form: the API wants no id or status it did not issue.
        item = {k: v for k, v in item.items() if k not in ("id", "status")}
    return item


def _parts_message_to_responses(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for part in (p for p in message.get("parts") or [] if isinstance(p, Mapping)):
        kind = part.get("type")
        if kind in ("tool_call", "tool_call_response", "reasoning", "responses_item") and texts:
            out.append(_message_item(message, texts))
            texts = []
        if kind == "tool_call":
            out.append(_function_call_item(part))
        elif kind == "tool_call_response":
            out.append(_function_output_item(part))
        elif kind == "reasoning":
            if isinstance(part.get("responses"), Mapping):
                out.append(copy.deepcopy(dict(part["responses"])))
            # A reasoning part from another provider cannot be sent as a Responses item.
        elif kind == "responses_item" and isinstance(part.get("value"), Mapping):
            out.append(copy.deepcopy(dict(part["value"])))
        else:
            texts.append(dict(part))
    if texts or (message.get("item_type") == "message" and not out):
        out.append(_message_item(message, texts))
    return out


def _other_part(part: Mapping[str, Any]) -> Any:
    if part.get("type") == "refusal":
        return {"type": "refusal", "refusal": part.get("content", "")}
    if part.get("type") == "responses_part":
        return copy.deepcopy(part.get("value"))
    return {"type": "input_text", "text": json.dumps(dict(part))}


def _output_text(response: Any) -> Any:
    if isinstance(response, str):
        return response
    if isinstance(response, list) and all(
        isinstance(b, Mapping) and b.get("type") in ("input_text", "input_image", "input_file")
        for b in response
    ):
        return copy.deepcopy(response)
    if isinstance(response, list) and all(
        isinstance(b, Mapping) and b.get("type") == "text" for b in response
    ):
        return "".join(str(b.get("text", b.get("content", ""))) for b in response)
    return json.dumps(response)


def parts_to_responses(messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Parts messages (or Responses items, passed through) as a Responses request's
    ``{"instructions": ..., "input": [...]}`` (``instructions`` only when there is one).

    System and developer messages at the start become ``instructions`` (joined with a blank
    line); tool calls become ``function_call`` items with JSON-string ``arguments`` and their
    call id as ``call_id``; tool results ``function_call_output`` items (a non-string result as
    JSON); reasoning parts from another provider are left out.
    """
    items: list[Any] = []
    systems: list[str] = []
    input_string: str | None = None
    for message in messages:
        if "parts" not in message:
            # A Responses item or an "easy" message: the API takes it as it is.
            items.append(copy.deepcopy(dict(message)))
            continue
        role = message.get("role")
        leading = not items and input_string is None
        if leading and (
            message.get("instructions") or (role == "system" and "item_type" not in message)
        ):
            systems.append(join_text(message.get("parts")))
            continue
        if message.get("input_string") and not items:
            input_string = join_text(message.get("parts"))
            continue
        items.extend(_parts_message_to_responses(message))
    payload: dict[str, Any] = {}
    if systems:
        payload["instructions"] = "\n\n".join(systems)
    payload["input"] = input_string if input_string is not None and not items else items
    return payload


def join_text(parts: Any) -> str:
    return "".join(
        str(p.get("content", ""))
        for p in parts or []
        if isinstance(p, Mapping) and p.get("type") == "text"
    )

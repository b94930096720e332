"""Messages between the GenAI parts form, OpenAI Responses input items and Gemini contents.

Two more provider forms beside the Chat Completions and Anthropic ones of ``messages``:

- **OpenAI Responses** input items: ``{"role", "content": str}`` (an "easy" message),
  ``{"type": "message", "role", "content": [{"type": "input_text" | "output_text", "text"}]}``,
  ``{"type": "function_call", "call_id", "name", "arguments": "<JSON string>"}``,
  ``{"type": "function_call_output", "call_id", "output"}``, ``{"type": "reasoning", "summary"}``;
  the system prompt is the request's ``instructions``.
- **Gemini** ``contents``: ``{"role": "user" | "model", "parts": [...]}`` with parts ``text``,
  ``{"text", "thought": true}``, ``functionCall`` (``name``, ``args``, optional ``id``) and
  ``functionResponse`` (``name``, ``response`` object, optional ``id``); the system prompt is
  ``systemInstruction`` (a content whose parts are text). Tool results travel in a ``user``
  content. Keys are camelCase, as on the wire (snake_case, as ``model_dump()`` gives, is read
  too).

Each item (Responses) or content (Gemini) becomes one parts message and back, without loss:
what GenAI parts have no field for stays on the part or message under its own key (a Responses
item's ``id`` and ``status``, a text part's ``annotations``, a Gemini ``thoughtSignature``, a
function call's item id as ``item_id``...), and parts of a type this module does not know are
kept whole under ``responses`` / ``gemini``. Converting a parts message that came from another
form gives what the API accepts. Standard library only; pure functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "from_gemini",
    "from_responses",
    "gemini_content",
    "is_gemini_content",
    "is_responses_item",
    "parts_to_gemini",
    "parts_to_responses",
    "responses_item",
]

_RESPONSES_TEXT = frozenset({"input_text", "output_text"})
_RESPONSES_PARTS = frozenset(
    {"input_text", "output_text", "refusal", "input_image", "input_file", "input_audio"}
)
_GEMINI_PART_KEYS = frozenset(
    {
        "text",
        "functionCall",
        "function_call",
        "functionResponse",
        "function_response",
        "inlineData",
        "inline_data",
        "fileData",
        "file_data",
        "executableCode",
        "executable_code",
        "codeExecutionResult",
        "code_execution_result",
    }
)


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    return mapping[camel] if camel in mapping else mapping.get(snake)


def _arguments(raw: Any) -> Any:
    """A JSON string of an object as that object; anything else as it is."""
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
        return True
    content = message.get("content")
    return (
        "type" not in message
        and isinstance(content, list)
        and bool(content)
        and all(isinstance(p, Mapping) and p.get("type") in _RESPONSES_TEXT for p in content)
    )


def is_gemini_content(message: Mapping[str, Any]) -> bool:
    """Whether ``message`` is a Gemini content: role ``model``, or parts without a ``type``."""
    parts = message.get("parts")
    if not isinstance(parts, list) or "type" in message:
        return False
    if message.get("role") == "model":
        return True
    return bool(parts) and all(
        isinstance(p, Mapping) and "type" not in p and not _GEMINI_PART_KEYS.isdisjoint(p)
        for p in parts
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
            "arguments": _arguments(rest.pop("arguments", "")),
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


def _parts_message_to_responses(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    role = str(message.get("role", "user"))
    parts = [p for p in message.get("parts") or [] if isinstance(p, Mapping)]
    extra = {
        k: copy.deepcopy(v)
        for k, v in message.items()
        if k not in ("role", "parts", "item_type", "instructions", "input_string", "name")
        and k != "finish_reason"
    }
    out: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    typed = message.get("item_type") == "message"

    def flush(force: bool = False) -> None:
        if not texts and not force:
            return
        if not typed and len(texts) == 1 and "text_type" not in texts[0] and not extra:
            out.append({"role": role, "content": texts[0].get("content")})
        else:
            item: dict[str, Any] = {}
            if typed or "item_type" not in message:
                item["type"] = "message"
            item["role"] = "assistant" if role == "assistant" else role
            item["content"] = [
                _responses_text(p, role) if p.get("type") == "text" else _other_part(p)
                for p in texts
            ]
            item.update(extra)
            if "item_type" not in message:
                # Built from another form: the API wants no id or status it did not issue.
                item = {k: v for k, v in item.items() if k not in ("id", "status")}
            out.append(item)
        texts.clear()

    for part in parts:
        kind = part.get("type")
        if kind in ("text", "refusal", "responses_part"):
            texts.append(dict(part))
            continue
        flush()
        if kind == "tool_call":
            call: dict[str, Any] = {}
            if "item_id" in part:
                call["id"] = part["item_id"]
            call.update(
                {
                    "type": "function_call",
                    "call_id": part.get("id"),
                    "name": part.get("name"),
                    "arguments": _arguments_text(part.get("arguments")),
                }
            )
            call.update(
                {
                    k: copy.deepcopy(v)
                    for k, v in part.items()
                    if k not in ("type", "id", "name", "arguments", "item_id")
                }
            )
            out.append(call)
        elif kind == "tool_call_response":
            result: dict[str, Any] = {
                "type": "function_call_output",
                "call_id": part.get("id"),
                "output": _output_text(part.get("response")),
            }
            if "item_id" in part:
                result["id"] = part["item_id"]
            result.update(
                {
                    k: copy.deepcopy(v)
                    for k, v in part.items()
                    if k not in ("type", "id", "response", "item_id", "name")
                }
            )
            out.append(result)
        elif kind == "reasoning":
            if isinstance(part.get("responses"), Mapping):
                out.append(copy.deepcopy(dict(part["responses"])))
            # A reasoning part from another provider cannot be sent as a Responses item.
        elif kind == "responses_item" and isinstance(part.get("value"), Mapping):
            out.append(copy.deepcopy(dict(part["value"])))
        else:
            texts.append(dict(part))
    flush(force=typed and not out)
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
            systems.append(_join_text(message.get("parts")))
            continue
        if message.get("input_string") and not items:
            input_string = _join_text(message.get("parts"))
            continue
        items.extend(_parts_message_to_responses(message))
    payload: dict[str, Any] = {}
    if systems:
        payload["instructions"] = "\n\n".join(systems)
    payload["input"] = input_string if input_string is not None and not items else items
    return payload


def _join_text(parts: Any) -> str:
    return "".join(
        str(p.get("content", ""))
        for p in parts or []
        if isinstance(p, Mapping) and p.get("type") == "text"
    )


# --- Gemini -> parts -----------------------------------------------------------------------


def _gemini_part(part: Any) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        return {"type": "gemini", "value": copy.deepcopy(part)}
    rest = {k: copy.deepcopy(v) for k, v in part.items()}
    call = rest.pop("functionCall", None) or rest.pop("function_call", None)
    if isinstance(call, Mapping):
        call = dict(call)
        out: dict[str, Any] = {
            "type": "tool_call",
            "id": call.pop("id", None),
            "name": call.pop("name", None),
            "arguments": call.pop("args", {}),
        }
        if call:
            out["gemini_call"] = call
    else:
        answer = rest.pop("functionResponse", None) or rest.pop("function_response", None)
        if isinstance(answer, Mapping):
            answer = dict(answer)
            out = {
                "type": "tool_call_response",
                "id": answer.pop("id", None),
                "name": answer.pop("name", None),
                "response": answer.pop("response", None),
            }
            if answer:
                out["gemini_response"] = answer
        elif "text" in rest:
            text = rest.pop("text")
            thought = rest.pop("thought", None)
            if thought is not None and thought is not True:
                rest["thought"] = thought  # an explicit `false`: kept to come back as it was
            out = {"type": "reasoning" if thought is True else "text", "content": text}
        else:
            return {"type": "gemini", "value": rest}
    if rest:
        out["gemini"] = rest
    return out


def gemini_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """One Gemini content as a parts message (role ``model`` becomes ``assistant``)."""
    role = content.get("role")
    out: dict[str, Any] = {"role": "assistant" if role == "model" else (role or "user")}
    if role is None:
        out["gemini_role"] = None
    out["parts"] = [_gemini_part(p) for p in content.get("parts") or []]
    for key, value in content.items():
        if key not in ("role", "parts"):
            out[key] = copy.deepcopy(value)
    return out


def from_gemini(
    contents: Iterable[Mapping[str, Any]] | str, system_instruction: Any = None
) -> list[dict[str, Any]]:
    """A Gemini request's ``contents`` and ``systemInstruction`` as parts messages, the system
    instruction first as a ``system`` message."""
    out: list[dict[str, Any]] = []
    if system_instruction is not None:
        system = gemini_content(
            system_instruction
            if isinstance(system_instruction, Mapping)
            else {"parts": [{"text": str(system_instruction)}]}
        )
        system["gemini_role"] = (
            system_instruction.get("role") if isinstance(system_instruction, Mapping) else None
        )
        system["role"] = "system"
        out.append(system)
    if isinstance(contents, str):
        contents = [{"role": "user", "parts": [{"text": contents}]}]
    out.extend(gemini_content(c) for c in contents)
    return out


# --- parts -> Gemini -----------------------------------------------------------------------


def _gemini_out_part(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    out: dict[str, Any]
    if kind == "text":
        out = {"text": part.get("content", "")}
    elif kind == "reasoning":
        if "gemini" not in part and "content" not in part:
            return None
        out = {"text": part.get("content", ""), "thought": True}
    elif kind == "tool_call":
        call: dict[str, Any] = {}
        if part.get("id") is not None:
            call["id"] = part["id"]
        call["name"] = part.get("name")
        args = _arguments(part.get("arguments"))
        call["args"] = args if isinstance(args, Mapping) else {"arguments": args}
        call.update(copy.deepcopy(part.get("gemini_call") or {}))
        out = {"functionCall": call}
    elif kind == "tool_call_response":
        answer: dict[str, Any] = {}
        if part.get("id") is not None:
            answer["id"] = part["id"]
        answer["name"] = part.get("name")
        response = part.get("response")
        answer["response"] = response if isinstance(response, Mapping) else {"result": response}
        answer.update(copy.deepcopy(part.get("gemini_response") or {}))
        out = {"functionResponse": answer}
    elif kind == "gemini":
        value = part.get("value")
        return copy.deepcopy(dict(value)) if isinstance(value, Mapping) else None
    elif kind == "blob":
        out = {"inlineData": {"mimeType": part.get("mime_type"), "data": part.get("content")}}
    elif kind == "uri":
        out = {"fileData": {"fileUri": part.get("uri"), "mimeType": part.get("mime_type")}}
    else:
        out = {"text": json.dumps(dict(part))}
    out.update(copy.deepcopy(part.get("gemini") or {}))
    return out


def _tool_names(messages: Sequence[Mapping[str, Any]]) -> dict[Any, Any]:
    """Call id -> tool name, so a tool result from another form can carry its name."""
    names: dict[Any, Any] = {}
    for message in messages:
        for part in message.get("parts") or []:
            if isinstance(part, Mapping) and part.get("type") == "tool_call":
                names[part.get("id")] = part.get("name")
    return names


def parts_to_gemini(messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Parts messages (or Gemini contents, passed through) as a Gemini request's
    ``{"systemInstruction": ..., "contents": [...]}`` (the instruction only when there is one).

    ``assistant`` becomes ``model``; tool results go in a ``user`` content as
    ``functionResponse`` parts named after their call (a result that is not an object is sent
    as ``{"result": ...}``), consecutive ones merged into one content; tool calls and results
    keep their call id when they have one (Gemini's ``id`` is optional).
    """
    msgs = list(messages)
    names = _tool_names(msgs)
    contents: list[dict[str, Any]] = []
    systems: list[dict[str, Any]] = []
    for message in msgs:
        if is_gemini_content(message):
            contents.append(copy.deepcopy(dict(message)))
            continue
        role = message.get("role")
        if role in ("system", "developer") and not contents:
            systems.append(dict(message))
            continue
        parts = []
        for part in message.get("parts") or []:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "tool_call_response" and part.get("name") is None:
                part = {**part, "name": names.get(part.get("id"))}
            converted = _gemini_out_part(part)
            if converted is not None:
                parts.append(converted)
        content: dict[str, Any] = {}
        if "gemini_role" not in message:
            content["role"] = "model" if role == "assistant" else "user"
        content["parts"] = parts
        merged = (
            contents
            and role == "tool"
            and contents[-1].get("role") == "user"
            and all("functionResponse" in p for p in contents[-1]["parts"])
        )
        if merged:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append(content)
    payload: dict[str, Any] = {}
    if systems:
        if len(systems) == 1 and "gemini_role" in systems[0]:
            system = systems[0]
            instruction: dict[str, Any] = {}
            if system.get("gemini_role") is not None:
                instruction["role"] = system["gemini_role"]
            instruction["parts"] = [
                p for p in (_gemini_out_part(x) for x in system.get("parts") or []) if p
            ]
        else:
            text = "\n\n".join(_join_text(s.get("parts")) for s in systems)
            # As google-genai sends a string `system_instruction`.
            instruction = {"parts": [{"text": text}], "role": "user"}
        payload["systemInstruction"] = instruction
    payload["contents"] = contents
    return payload

"""Messages between the GenAI parts form and Gemini ``contents``.

Gemini contents: ``{"role": "user" | "model", "parts": [...]}`` with parts ``text``,
``{"text", "thought": true}``, ``functionCall`` (``name``, ``args``, optional ``id``) and
``functionResponse`` (``name``, ``response`` object, optional ``id``); the system prompt is
``systemInstruction`` (a content whose parts are text). Tool results travel in a ``user``
content. Keys are camelCase, as on the wire (snake_case, as ``model_dump()`` gives, is read too).

Each content becomes one parts message (role ``model`` as ``assistant``) and back, without loss:
a ``thoughtSignature`` and other part keys stay under ``gemini``, unknown parts whole as
``gemini`` parts. Standard library only; pure functions.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .responses import arguments_value, join_text

__all__ = [
    "from_gemini",
    "gemini_content",
    "is_gemini_content",
    "parts_to_gemini",
]

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
        args = arguments_value(part.get("arguments"))
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
            text = "\n\n".join(join_text(s.get("parts")) for s in systems)
            # As google-genai sends a string `system_instruction`.
            instruction = {"parts": [{"text": text}], "role": "user"}
        payload["systemInstruction"] = instruction
    payload["contents"] = contents
    return payload

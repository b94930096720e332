"""Chat messages between forms: OpenTelemetry GenAI parts, OpenAI Chat Completions, Anthropic.

A trace holds messages in whatever form the loop or the instrumentation gave them: the GenAI
"parts" form (``{"role", "parts": [...]}``, what ``gen_ai.input.messages`` holds), OpenAI Chat
Completions messages (``content`` string or parts, ``tool_calls``, ``role: tool`` +
``tool_call_id``) or Anthropic Messages messages (``text`` / ``tool_use`` / ``tool_result``
blocks). These pure functions convert between them:

- :func:`to_parts` turns one message of any known form into the parts form;
- :func:`to_openai` turns a list into what ``client.chat.completions.create(messages=...)``
  takes, system prompt first;
- :func:`to_anthropic` turns a list into ``{"system": ..., "messages": [...]}``, what
  ``client.messages.create(**payload)`` takes (system is top-level in that API).

A message already in the target form is passed through unchanged (only ``None`` values, which
the APIs treat as absent, are dropped), so replaying a trace into the provider it was recorded
from reproduces the exact request. Messages in another form go through the parts form.
Standard library only.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .gemini import gemini_content, is_gemini_content, parts_to_gemini
from .responses import is_responses_item, parts_to_responses, responses_item

__all__ = [
    "Form",
    "form_of",
    "system_text",
    "to_anthropic",
    "to_gemini",
    "to_openai",
    "to_parts",
    "to_responses",
    "tool_response_message",
    "vendor_turns",
]

Form = Literal["parts", "openai", "anthropic", "common", "responses", "gemini"]
"""A message's form. ``common`` is valid in both provider APIs as it is: a ``user`` or
``assistant`` message whose content is a string or a list of ``text`` blocks. ``responses``
is an OpenAI Responses input item, ``gemini`` a Gemini content (see ``responses``, ``gemini``)."""

# Content block types only Anthropic's Messages API uses.
_ANTHROPIC_BLOCKS = frozenset(
    {
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "image",
        "document",
        "server_tool_use",
        "web_search_tool_result",
    }
)
# Content part types only OpenAI's Chat Completions API uses.
_OPENAI_PARTS = frozenset({"image_url", "input_audio", "file", "refusal"})


def form_of(message: Mapping[str, Any]) -> Form:
    """Which form ``message`` is in (see :data:`Form`)."""
    if is_gemini_content(message):
        return "gemini"
    if is_responses_item(message):
        return "responses"
    if "parts" in message:
        return "parts"
    role = message.get("role")
    if "tool_calls" in message or "tool_call_id" in message or role in ("tool", "function"):
        return "openai"
    content = message.get("content")
    if isinstance(content, list):
        types = {b.get("type") for b in content if isinstance(b, Mapping)}
        if types & _ANTHROPIC_BLOCKS:
            return "anthropic"
        if types & _OPENAI_PARTS:
            return "openai"
    if role in ("system", "developer"):
        return "openai"
    return "common"


# --- to parts --------------------------------------------------------------------------------


def _parse_arguments(raw: Any) -> Any:
    """Tool arguments as an object when they are a JSON string of one; else as they are."""
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return copy.deepcopy(raw)


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def _block_to_part(block: Any) -> dict[str, Any]:
    """One OpenAI content part or Anthropic content block as a GenAI part."""
    if isinstance(block, str):
        return _text_part(block)
    if not isinstance(block, Mapping):
        return {"type": "unknown", "value": copy.deepcopy(block)}
    kind = block.get("type")
    if kind == "text":
        return _text_part(str(block.get("text", block.get("content", ""))))
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": block.get("id"),
            "name": block.get("name"),
            "arguments": copy.deepcopy(block.get("input", {})),
        }
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": block.get("tool_use_id"),
            "response": copy.deepcopy(block.get("content", "")),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": block.get("thinking", "")}
    if kind == "image_url":
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        return {"type": "uri", "modality": "image", "uri": url}
    if kind == "image" and isinstance(block.get("source"), Mapping):
        src = block["source"]
        if src.get("type") == "base64":
            return {
                "type": "blob",
                "modality": "image",
                "mime_type": src.get("media_type"),
                "content": src.get("data"),
            }
        if src.get("type") == "url":
            return {"type": "uri", "modality": "image", "uri": src.get("url")}
    if kind == "refusal":
        return _text_part(str(block.get("refusal", "")))
    return dict(copy.deepcopy(block))


def to_parts(message: Mapping[str, Any]) -> dict[str, Any]:
    """``message`` (parts, OpenAI or Anthropic form) as a GenAI parts message.

    The role is kept as it is (Anthropic tool results stay in a ``user`` message). Tool
    arguments become an object when they are a JSON string of one. ``name`` and
    ``finish_reason`` are kept when present. Unknown part types are kept as they are.
    A Responses item or a Gemini content goes through ``responses`` / ``gemini``.
    """
    form = form_of(message)
    if form == "gemini":
        return gemini_content(message)
    if form == "responses":
        return responses_item(message)
    if "parts" in message:
        out = copy.deepcopy(dict(message))
        out["parts"] = list(out.get("parts") or [])
        return out
    role = message.get("role", "user")
    parts: list[dict[str, Any]] = []
    if role in ("tool", "function"):
        call_id = message.get("tool_call_id", message.get("id"))
        parts.append(
            {
                "type": "tool_call_response",
                "id": call_id,
                "response": copy.deepcopy(message.get("content")),
            }
        )
        out = {"role": "tool", "parts": parts}
        if isinstance(message.get("name"), str):
            out["name"] = message["name"]
        return out
    content = message.get("content")
    if isinstance(content, str):
        if content or not message.get("tool_calls"):
            parts.append(_text_part(content))
    elif isinstance(content, list):
        parts.extend(_block_to_part(b) for b in content)
    if message.get("refusal"):
        parts.append(_text_part(str(message["refusal"])))
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": fn.get("name"),
                "arguments": _parse_arguments(fn.get("arguments")),
            }
        )
    out = {"role": role, "parts": parts}
    for key in ("name", "finish_reason"):
        if isinstance(message.get(key), str):
            out[key] = message[key]
    return out


def tool_response_message(call_id: str | None, response: Any) -> dict[str, Any]:
    """A parts-form ``tool`` message carrying one tool result."""
    return {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call_id, "response": response}],
    }


# --- system prompts --------------------------------------------------------------------------


def system_text(system: Any) -> str | None:
    """A system prompt (a string, a list of parts or blocks, or a message) as one string;
    None when there is none. Text pieces are joined with a blank line."""
    if system is None:
        return None
    if isinstance(system, str):
        return system
    if isinstance(system, Mapping):
        if "parts" in system:
            return system_text(system["parts"])
        return system_text(system.get("content"))
    if isinstance(system, list):
        texts = []
        for item in system:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, Mapping) and item.get("type", "text") == "text":
                texts.append(str(item.get("text", item.get("content", ""))))
        return "\n\n".join(texts)
    return str(system)


def _is_system(message: Mapping[str, Any]) -> bool:
    return message.get("role") in ("system", "developer")


# --- to OpenAI -------------------------------------------------------------------------------


def _dump_arguments(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _openai_tool_content(response: Any) -> Any:
    if isinstance(response, str):
        return response
    if isinstance(response, list) and all(
        isinstance(b, Mapping) and b.get("type") == "text" for b in response
    ):
        return [
            {"type": "text", "text": str(b.get("text", b.get("content", "")))} for b in response
        ]
    return json.dumps(response, ensure_ascii=False)


def _strip_none(message: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in message.items() if v is not None}
    if isinstance(out.get("tool_calls"), list):
        if not out["tool_calls"]:
            del out["tool_calls"]
        else:
            out["tool_calls"] = [
                {k: v for k, v in c.items() if v is not None} if isinstance(c, Mapping) else c
                for c in out["tool_calls"]
            ]
    return out


def _openai_user_content(parts: Sequence[Mapping[str, Any]]) -> Any:
    if len(parts) == 1 and parts[0].get("type") == "text":
        return parts[0].get("content", "")
    out: list[dict[str, Any]] = []
    for p in parts:
        kind = p.get("type")
        if kind == "text":
            out.append({"type": "text", "text": p.get("content", "")})
        elif kind == "uri":
            out.append({"type": "image_url", "image_url": {"url": p.get("uri")}})
        elif kind == "blob":
            url = (
                f"data:{p.get('mime_type') or 'application/octet-stream'};base64,{p.get('content')}"
            )
            out.append({"type": "image_url", "image_url": {"url": url}})
        else:
            out.append(dict(p))
    return out


def _parts_to_openai(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    role = message.get("role", "user")
    parts = [p for p in message.get("parts") or [] if isinstance(p, Mapping)]
    out: list[dict[str, Any]] = []
    # Tool results become one `tool` message each, whatever role carried them.
    for p in parts:
        if p.get("type") == "tool_call_response":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": p.get("id"),
                    "content": _openai_tool_content(p.get("response")),
                }
            )
    rest = [p for p in parts if p.get("type") != "tool_call_response"]
    if role == "tool" or (not rest and out):
        return out
    if role in ("system", "developer"):
        out.append({"role": role, "content": system_text(rest) or ""})
        return out
    if role == "assistant":
        msg: dict[str, Any] = {"role": "assistant"}
        texts = [str(p.get("content", "")) for p in rest if p.get("type") == "text"]
        if texts:
            msg["content"] = "".join(texts)
        calls = [
            {
                "id": p.get("id"),
                "type": "function",
                "function": {
                    "name": p.get("name"),
                    "arguments": _dump_arguments(p.get("arguments")),
                },
            }
            for p in rest
            if p.get("type") == "tool_call"
        ]
        if calls:
            msg["tool_calls"] = calls
        if "content" not in msg and not calls:
            msg["content"] = ""
    else:
        msg = {"role": role, "content": _openai_user_content(rest)}
    if isinstance(message.get("name"), str):
        msg["name"] = message["name"]
    out.append(msg)
    return out


def vendor_turns(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Responses items and Gemini contents as parts messages, a Responses assistant turn
    (reasoning, message and function_call items in a row) merged into one message."""
    out: list[Mapping[str, Any]] = []
    merging = False
    for m in messages:
        form = form_of(m)
        if form not in ("responses", "gemini"):
            out.append(m)
            merging = False
            continue
        parts = to_parts(m)
        if form == "responses" and merging and parts.get("role") == "assistant":
            last = out[-1]
            assert isinstance(last, dict)
            last["parts"] = [*last["parts"], *parts["parts"]]
            continue
        out.append(parts)
        merging = form == "responses" and parts.get("role") == "assistant"
    return out


def to_openai(messages: Iterable[Mapping[str, Any]], system: Any = None) -> list[dict[str, Any]]:
    """``messages`` (any known form) as OpenAI Chat Completions messages.

    ``system`` (a string or a list of text parts), when given and the list does not already
    start with a system or developer message, becomes the first message. OpenAI-form messages
    pass through with ``None`` values dropped; tool results become ``role: tool`` messages with
    their ``tool_call_id`` (a non-string result is sent as JSON); assistant tool calls carry
    ``function.arguments`` as a JSON string; an assistant message with tool calls and no text
    has no ``content`` key, as the official client sends it.
    """
    msgs = vendor_turns(messages)
    out: list[dict[str, Any]] = []
    text = system_text(system)
    if text is not None and not (msgs and _is_system(msgs[0])):
        out.append({"role": "system", "content": text})
    for m in msgs:
        form = form_of(m)
        if form in ("openai", "common"):
            out.append(_strip_none(m))
        else:
            out.extend(_parts_to_openai(to_parts(m)))
    return out


# --- to Anthropic ----------------------------------------------------------------------------


def _anthropic_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part.get("content", "")}
    if kind == "tool_call":
        args = _parse_arguments(part.get("arguments"))
        return {
            "type": "tool_use",
            "id": part.get("id"),
            "name": part.get("name"),
            "input": args if isinstance(args, Mapping) else {},
        }
    if kind == "tool_call_response":
        response = part.get("response")
        if not isinstance(response, (str, list)):
            response = json.dumps(response, ensure_ascii=False)
        return {"type": "tool_result", "tool_use_id": part.get("id"), "content": response}
    if kind == "uri":
        return {"type": "image", "source": {"type": "url", "url": part.get("uri")}}
    if kind == "blob":
        return {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": part.get("mime_type"),
                "data": part.get("content"),
            },
        }
    if kind == "reasoning":
        # A thinking block cannot be sent back without the signature the API gave it.
        return None
    return {k: copy.deepcopy(v) for k, v in part.items()}


def _parts_to_anthropic(message: Mapping[str, Any]) -> dict[str, Any]:
    role = message.get("role", "user")
    role = "assistant" if role == "assistant" else "user"
    blocks = [
        b
        for p in message.get("parts") or []
        if isinstance(p, Mapping)
        if (b := _anthropic_block(p)) is not None
    ]
    if role == "user" and len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": role, "content": blocks[0]["text"]}
    return {"role": role, "content": blocks}


def _only_tool_results(message: Mapping[str, Any]) -> bool:
    content = message.get("content")
    return (
        message.get("role") == "user"
        and isinstance(content, list)
        and bool(content)
        and all(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
    )


def to_anthropic(messages: Iterable[Mapping[str, Any]], system: Any = None) -> dict[str, Any]:
    """``messages`` (any known form) as an Anthropic Messages payload:
    ``{"system": ..., "messages": [...]}`` (``system`` only when there is one).

    ``system`` (a string or list of text parts) and any system or developer messages in the
    list make the top-level system prompt (joined with a blank line). Anthropic-form messages
    pass through with ``None`` values dropped; others go through the parts form: tool calls
    become ``tool_use`` blocks, tool results ``tool_result`` blocks in a ``user`` turn (a
    non-string result is sent as JSON), consecutive tool results merged into one turn as the
    API requires; a user message of one text part is sent as a string, an assistant message as
    blocks; reasoning parts are dropped (the API needs their signature).
    """
    systems: list[str] = []
    text = system_text(system)
    if text is not None:
        systems.append(text)
    out: list[dict[str, Any]] = []
    for m in vendor_turns(messages):
        if _is_system(m):
            s = system_text(m)
            if s is not None and s not in systems:
                systems.append(s)
            continue
        form = form_of(m)
        msg = (
            _strip_none(m) if form in ("anthropic", "common") else _parts_to_anthropic(to_parts(m))
        )
        if out and _only_tool_results(msg) and _only_tool_results(out[-1]):
            out[-1]["content"].extend(msg["content"])
        else:
            out.append(msg)
    payload: dict[str, Any] = {}
    if systems:
        payload["system"] = "\n\n".join(systems)
    payload["messages"] = out
    return payload


# --- to Responses and Gemini -----------------------------------------------------------------


def _leading_system(msgs: Sequence[Mapping[str, Any]], system: Any) -> list[dict[str, Any]]:
    text = system_text(system)
    if text is None or (msgs and _is_system(msgs[0])):
        return []
    return [{"role": "system", "parts": [_text_part(text)], "instructions": True}]


def to_responses(messages: Iterable[Mapping[str, Any]], system: Any = None) -> dict[str, Any]:
    """``messages`` (any known form) as ``{"instructions": ..., "input": [...]}`` for
    ``client.responses.create(**payload)``: Responses items and string-content messages pass
    through, others go through the parts form (``responses.parts_to_responses``)."""
    msgs = list(messages)
    out: list[Mapping[str, Any]] = list(_leading_system(msgs, system))
    for m in msgs:
        form = form_of(m)
        passes = form == "responses" or (form == "common" and isinstance(m.get("content"), str))
        out.append(m if passes else to_parts(m))
    return parts_to_responses(out)


def to_gemini(messages: Iterable[Mapping[str, Any]], system: Any = None) -> dict[str, Any]:
    """``messages`` (any known form) as a Gemini body's ``{"systemInstruction": ...,
    "contents": [...]}``: Gemini contents pass through, others go through the parts form
    (``gemini.parts_to_gemini``)."""
    msgs = list(messages)
    out: list[Mapping[str, Any]] = list(_leading_system(msgs, system))
    out.extend(m if form_of(m) == "gemini" else to_parts(m) for m in vendor_turns(msgs))
    return parts_to_gemini(out)

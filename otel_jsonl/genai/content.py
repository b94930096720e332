"""GenAI content wherever instrumentations put it, as the parts form: JSON-string message
attributes, OpenInference's flattened ``llm.*_messages.N.message.*`` keys, OpenLLMetry's
``gen_ai.prompt.N.*`` keys, per-message events (span events or log records) and the one
record per call; and the joining of content carried by log records onto a model call's line.
Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import names as n
from .jsontext import parse_json
from .messages import to_parts

__all__ = [
    "fill_tool_ids",
    "flattened_messages",
    "is_parts_list",
    "merge_logs",
    "messages_from_logs",
    "messages_from_record",
    "normalise_messages",
    "normalise_system",
    "openllmetry_messages",
    "text_of",
]


def is_parts_list(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    for m in value:  # noqa: SIM110 (a loop: all() over a generator costs more per call)
        if not isinstance(m, dict) or not isinstance(m.get("parts"), list):
            return False
    return True


def normalise_messages(value: Any, role: str | None = None) -> list[dict[str, Any]] | None:
    """Any message list (parts, OpenAI, Anthropic, one message, a bare string) as parts."""
    value = parse_json(value)
    if value is None:
        return None
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str):
        return [{"role": role or "user", "parts": [{"type": "text", "content": value}]}]
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        return None
    out = []
    for message in value:
        if isinstance(message, Mapping):
            if role and "role" not in message:
                message = {"role": role, **message}
            try:
                out.append(to_parts(message))
            except Exception:
                out.append(dict(message))
        elif isinstance(message, str):
            out.append({"role": role or "user", "parts": [{"type": "text", "content": message}]})
    return out


def normalise_system(value: Any) -> Any:
    value = parse_json(value)
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, str):
                parts.append({"type": "text", "content": item})
            elif isinstance(item, Mapping) and item.get("type") == "text" and "text" in item:
                parts.append({"type": "text", "content": item["text"]})
            else:
                parts.append(item)
        return parts
    return value


def _message_from_legacy(name: str, body: Any) -> tuple[str, dict[str, Any]] | None:
    """One message from a per-message event (``gen_ai.user.message``, ``gen_ai.choice``...):
    ("input" | "output", message in parts form)."""
    body = parse_json(body)
    if not isinstance(body, Mapping):
        body = {"content": body} if body is not None else {}
    if name == n.GEN_AI_CHOICE:
        msg = body.get("message")
        message: dict[str, Any] = dict(msg) if isinstance(msg, Mapping) else {}
        if "tool_calls" in body and "tool_calls" not in message:
            message["tool_calls"] = body["tool_calls"]
        message.setdefault("role", "assistant")
        if message.get("content") is None:
            message.pop("content", None)
        parts = to_parts(message)
        if body.get("finish_reason") is not None:
            parts["finish_reason"] = body["finish_reason"]
        return "output", parts
    role = n.MESSAGE_EVENTS.get(name)
    if role is None:
        return None
    message = {k: v for k, v in body.items() if v is not None}
    message.setdefault("role", role)
    if role == "tool" and "tool_call_id" not in message and "id" in message:
        message["tool_call_id"] = message.pop("id")
    if role == "tool" and "content" in message and "tool_call_id" not in message:
        # Some instrumentations drop the call id from tool messages: keep the content.
        message["tool_call_id"] = None
    return "input", to_parts(message)


def messages_from_record(name: str | None, attrs: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """Content of a GenAI log record or span event, normalised to the parts form.

    Returns the keys among ``input``, ``output`` and ``system`` that it holds (what an
    ``llm_call`` would carry). Understands the one-record-per-call form
    (``gen_ai.client.inference.operation.details``, messages as lists or JSON strings) and the
    per-message events (``gen_ai.{system,user,assistant,tool}.message``, ``gen_ai.choice``, with
    the content in the body or, for span events, in the attributes).
    """
    out: dict[str, Any] = {}
    source: Mapping[str, Any] = attrs
    if isinstance(body, Mapping) and (
        n.GEN_AI_INPUT_MESSAGES in body or n.GEN_AI_OUTPUT_MESSAGES in body
    ):
        source = body
    if n.GEN_AI_INPUT_MESSAGES in source or n.GEN_AI_OUTPUT_MESSAGES in source:
        inp = normalise_messages(source.get(n.GEN_AI_INPUT_MESSAGES))
        outp = normalise_messages(source.get(n.GEN_AI_OUTPUT_MESSAGES), "assistant")
        if inp is not None:
            out["input"] = inp
        if outp is not None:
            out["output"] = outp
        if n.GEN_AI_SYSTEM_INSTRUCTIONS in source:
            out["system"] = normalise_system(source[n.GEN_AI_SYSTEM_INSTRUCTIONS])
        return out
    if name in n.MESSAGE_EVENTS or name == n.GEN_AI_CHOICE:
        if body is None:
            # The older span-event form keeps the message in the attributes.
            body = {k: v for k, v in attrs.items() if not k.startswith(n.GEN_AI_PREFIX)}
            if "content" in body or "tool_calls" in body or "message" in body:
                for key in ("tool_calls", "message"):
                    if isinstance(body.get(key), str):
                        body[key] = parse_json(body[key])
            else:
                body = {}
        got = _message_from_legacy(name, body)
        if got is not None:
            out[got[0]] = [got[1]]
    return out


def flattened_messages(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]] | None:
    """OpenInference ``llm.input_messages.N.message.*`` as parts-form messages."""
    rows: dict[int, dict[str, Any]] = {}
    plen = len(prefix) + 1
    for key, value in attrs.items():
        if not key.startswith(prefix + "."):
            continue
        head, _, rest = key[plen:].partition(".")
        if not head.isdigit() or not rest.startswith("message."):
            continue
        rows.setdefault(int(head), {})[rest[len("message.") :]] = value
    if not rows:
        return None
    out = []
    for _, row in sorted(rows.items()):
        message: dict[str, Any] = {"role": row.get("role", "user")}
        if "content" in row:
            message["content"] = row["content"]
        contents = _indexed(row, "contents")
        if contents and "content" not in message:
            message["content"] = [
                {"type": "text", "text": c.get("message_content.text", "")}
                for c in contents
                if c.get("message_content.type", "text") == "text"
            ]
        calls = _indexed(row, "tool_calls")
        if calls:
            message["tool_calls"] = [
                {
                    "id": c.get("tool_call.id"),
                    "type": "function",
                    "function": {
                        "name": c.get("tool_call.function.name"),
                        "arguments": c.get("tool_call.function.arguments"),
                    },
                }
                for c in calls
            ]
        if "tool_call_id" in row:
            message["tool_call_id"] = row["tool_call_id"]
        out.append(to_parts(message))
    return out


def _indexed(row: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    items: dict[int, dict[str, Any]] = {}
    for key, value in row.items():
        if key.startswith(name + "."):
            head, _, rest = key[len(name) + 1 :].partition(".")
            if head.isdigit():
                items.setdefault(int(head), {})[rest] = value
    return [v for _, v in sorted(items.items())]


_OPENLLMETRY_KEY = re.compile(n.OPENLLMETRY_MESSAGE_KEY)


def openllmetry_messages(attrs: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """OpenLLMetry's ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` as parts-form messages."""
    rows: dict[str, dict[int, dict[str, Any]]] = {"prompt": {}, "completion": {}}
    for key, value in attrs.items():
        m = _OPENLLMETRY_KEY.match(key)
        if m:
            rows[m.group(1)].setdefault(int(m.group(2)), {})[m.group(3)] = value
    out: dict[str, list[dict[str, Any]]] = {}
    for side, target in (("prompt", "input"), ("completion", "output")):
        if not rows[side]:
            continue
        messages = []
        for _, row in sorted(rows[side].items()):
            message: dict[str, Any] = {
                "role": row.get("role", "assistant" if side == "completion" else "user")
            }
            if row.get("content") is not None:
                message["content"] = _maybe_blocks(row["content"])
            calls = _indexed(row, "tool_calls")
            if calls:
                message["tool_calls"] = [
                    {
                        "id": c.get("id"),
                        "type": "function",
                        "function": {"name": c.get("name"), "arguments": c.get("arguments")},
                    }
                    for c in calls
                ]
            if "tool_call_id" in row:
                message["tool_call_id"] = row["tool_call_id"]
            parts = to_parts(message)
            if side == "completion" and row.get("finish_reason") is not None:
                parts["finish_reason"] = row["finish_reason"]
            messages.append(parts)
        out[target] = messages
    return out


def _maybe_blocks(content: Any) -> Any:
    """OpenLLMetry writes list content (Anthropic blocks) as a JSON string."""
    if isinstance(content, str) and content.startswith("[{"):
        parsed = parse_json(content)
        if isinstance(parsed, list):
            return parsed
    return content


def text_of(messages: Any) -> str | None:
    """The text of the last message with text parts."""
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, Mapping):
            texts: list[Any] = [
                p.get("content")
                for p in message.get("parts") or ()
                if isinstance(p, Mapping) and p.get("type") == "text"
            ]
            strings = [t for t in texts if isinstance(t, str)]
            if strings:
                return "".join(strings)
    return None


# --- content carried by log records --------------------------------------------------------


def merge_logs(event: dict[str, Any], logs: list[dict[str, Any]]) -> None:
    """Put the content of joined log lines onto an ``llm_call`` line."""
    inputs: list[Any] = []
    outputs: list[Any] = []
    names = []
    for line in logs:
        names.append(line.get("event"))
        if "system" in line and "system" not in event:
            event["system"] = line["system"]
        if line.get("event") == n.GEN_AI_OPERATION_DETAILS_EVENT or not (
            line.get("event") in n.MESSAGE_EVENTS or line.get("event") == n.GEN_AI_CHOICE
        ):
            if "input" in line and "input" not in event:
                event["input"] = line["input"]
            if "output" in line and "output" not in event:
                event["output"] = line["output"]
        else:
            inputs.extend(line.get("input") or ())
            outputs.extend(line.get("output") or ())
    if inputs and "input" not in event:
        event["input"] = fill_tool_ids(inputs)
    if outputs and "output" not in event:
        event["output"] = outputs
    out = event.get("output")
    if "finish_reason" not in event and isinstance(out, list) and out:
        last = out[-1]
        if isinstance(last, dict) and isinstance(last.get("finish_reason"), str):
            event["finish_reason"] = last["finish_reason"]
    otel = event.get("otel")
    if isinstance(otel, dict):
        otel["logs"] = names


def fill_tool_ids(messages: list[Any]) -> list[Any]:
    """Give tool responses that lost their call id (OpenLLMetry's per-message events) the id of
    the tool call they answer: the calls of the assistant message before them, in order."""
    waiting: list[Any] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        for part in message.get("parts") or ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "tool_call":
                waiting.append(part.get("id"))
            elif part.get("type") == "tool_call_response":
                if part.get("id") is None and waiting:
                    part["id"] = waiting.pop(0)
                elif part.get("id") in waiting:
                    waiting.remove(part.get("id"))
    return messages


def _log_event_name(ev: Mapping[str, Any]) -> str | None:
    name = ev.get("event")
    if isinstance(name, str):
        return name
    attrs = (ev.get("otel") or {}).get("attrs") if isinstance(ev.get("otel"), Mapping) else None
    if isinstance(attrs, Mapping) and isinstance(attrs.get(n.EVENT_NAME), str):
        return str(attrs[n.EVENT_NAME])
    return None


def messages_from_logs(logs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any] | None:
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
        inputs = holder.get(n.GEN_AI_INPUT_MESSAGES, attrs.get(n.GEN_AI_INPUT_MESSAGES))
        if isinstance(inputs, list):
            system = holder.get(
                n.GEN_AI_SYSTEM_INSTRUCTIONS, attrs.get(n.GEN_AI_SYSTEM_INSTRUCTIONS)
            )
            return [dict(m) for m in inputs if isinstance(m, Mapping)], system
        role = n.MESSAGE_EVENTS.get(name or "")
        if role is None or not isinstance(body, Mapping):
            continue
        msg = dict(body)
        msg["role"] = msg.get("role", role)
        if role == "tool" and "id" in msg and "tool_call_id" not in msg:
            msg["tool_call_id"] = msg.pop("id")
        messages.append(msg)
    return (messages, None) if messages else None

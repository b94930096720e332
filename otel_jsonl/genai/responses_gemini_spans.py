"""What instrumentations of the OpenAI Responses API and of Gemini put on an LLM span, read into
an ``llm_call``'s fields beyond what the shared conventions give.

Seen with the real libraries (docs/notes/instrumentations.md):

- OpenInference keeps the raw request in ``input.value`` (Responses: ``input`` items and
  ``instructions``; google-genai: snake_case ``contents`` and ``system_instruction``) and the
  raw response in ``output.value``. The raw request is the exact input the model saw, so it is
  the step's ``input`` (Gemini contents in their wire form, camelCase), beside the flattened
  ``llm.input_messages`` that stay on the span. The raw response gives the output (Responses
  items, or the Gemini content, with reasoning and thought parts the flattened keys drop) and
  the response id.
- OpenLLMetry labels the assistant's tool call with the Responses item id (``fc_...``) while
  the tool result carries the call id (``call_...``): in one input list, unanswered calls and
  unclaimed results are paired in order and the call takes the result's id (the item id stays
  on the part as ``item_id``).
- Gemini output messages with role ``model`` are ``assistant`` messages.

Everything here derives fields: an attribute stays on the span (in ``otel.attrs``) unless its
value sits unchanged in a field, so a span comes back exactly from its lines. Pure functions.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from . import names as n
from .jsontext import parse_json

__all__ = [
    "FINISH_REASONS",
    "PROVIDER_NAMES",
    "finish_reason",
    "gemini_wire",
    "merge_turn",
    "pair_item_ids",
    "provider_name",
    "refine_llm_call",
    "summary_text",
]

# google-genai's snake_case part and field names, as the SDK's model_dump gives them, and the
# wire's camelCase. Only structural keys: tool arguments and results are left as they are.
_CAMEL = {
    "function_call": "functionCall",
    "function_response": "functionResponse",
    "inline_data": "inlineData",
    "file_data": "fileData",
    "executable_code": "executableCode",
    "code_execution_result": "codeExecutionResult",
    "thought_signature": "thoughtSignature",
    "video_metadata": "videoMetadata",
    "mime_type": "mimeType",
    "file_uri": "fileUri",
    "display_name": "displayName",
    "will_continue": "willContinue",
}
_OPAQUE = frozenset({"args", "response"})


def _camel(value: Any) -> Any:
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if not isinstance(value, Mapping):
        return copy.deepcopy(value)
    return {
        _CAMEL.get(k, k): copy.deepcopy(v) if k in _OPAQUE else _camel(v) for k, v in value.items()
    }


def gemini_wire(content: Any) -> Any:
    """A Gemini content (or system instruction) with google-genai's snake_case keys in the
    wire's camelCase; tool arguments and results untouched."""
    return _camel(content)


def _responses_request(raw: Mapping[str, Any]) -> tuple[list[Any], Any] | None:
    items = raw.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list):
        return None
    return copy.deepcopy(items), raw.get("instructions")


def _gemini_request(raw: Mapping[str, Any]) -> tuple[list[Any], Any] | None:
    contents = raw.get("contents")
    if isinstance(contents, str):
        contents = [{"role": "user", "parts": [{"text": contents}]}]
    if not isinstance(contents, list) or not all(isinstance(c, Mapping) for c in contents):
        return None
    system = raw.get("system_instruction", raw.get("systemInstruction"))
    if isinstance(system, Mapping):
        texts = [
            str(p.get("text", ""))
            for p in system.get("parts") or []
            if isinstance(p, Mapping) and "text" in p
        ]
        system = "\n\n".join(texts)
    return [gemini_wire(c) for c in contents], system


def _model_role_parts(message: Any) -> bool:
    """A GenAI parts message (typed parts, not a Gemini content) with Gemini's role ``model``."""
    return (
        isinstance(message, Mapping)
        and message.get("role") == "model"
        and isinstance(message.get("parts"), list)
        and all(isinstance(p, Mapping) and "type" in p for p in message["parts"])
    )


def _raw_output(raw: Mapping[str, Any]) -> list[Any] | None:
    """The output of a raw response: a Responses response's items, or a Gemini response's
    first candidate content in the wire's camelCase; None for anything else."""
    if raw.get("object") == "response" and isinstance(raw.get("output"), list):
        return [_no_nulls(item) for item in raw["output"]]
    candidates = raw.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping):
        content = candidates[0].get("content")
        if isinstance(content, Mapping):
            return [gemini_wire(_no_nulls(content))]
    return None


def _no_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _function_calls(output: Any) -> bool:
    return isinstance(output, list) and any(
        isinstance(item, Mapping) and item.get("type") == "function_call" for item in output
    )


def pair_item_ids(messages: Any) -> Any:
    """``messages`` (parts) with each tool call that no result answers given the id of the
    next result that answers no call, in order; the call's old id kept as ``item_id``. The same
    list when nothing needed pairing."""
    if not isinstance(messages, list):
        return messages
    calls: list[dict[str, Any]] = []
    answered: set[Any] = set()
    asked: set[Any] = set()
    for message in messages:
        for part in message.get("parts") or [] if isinstance(message, Mapping) else []:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "tool_call":
                calls.append(part)  # type: ignore[arg-type]
                asked.add(part.get("id"))
            elif part.get("type") == "tool_call_response":
                answered.add(part.get("id"))
    lonely_calls = [c for c in calls if c.get("id") not in answered]
    lonely_results = [r for r in answered - asked if r is not None]
    if not lonely_calls or not lonely_results:
        return messages
    order = []
    for message in messages:
        for part in message.get("parts") or [] if isinstance(message, Mapping) else []:
            if (
                isinstance(part, Mapping)
                and part.get("type") == "tool_call_response"
                and part.get("id") in lonely_results
            ):
                order.append(part.get("id"))
    new_ids = dict(zip((id(c) for c in lonely_calls), order, strict=False))
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            out.append(message)
            continue
        parts = []
        for part in message.get("parts") or []:
            if isinstance(part, Mapping) and id(part) in new_ids:
                part = {**part, "id": new_ids[id(part)], "item_id": part.get("id")}
            parts.append(part)
        out.append({**message, "parts": parts})
    return out


def _summary(content: Any) -> str | None:
    """The text of a reasoning part's content that is the JSON of a Responses ``summary``
    list (OpenLLMetry puts it so); None for any other content."""
    if not (isinstance(content, str) and content.startswith("[")):
        return None
    summary = parse_json(content)
    if not isinstance(summary, list) or not all(
        isinstance(s, Mapping) and s.get("type") == "summary_text" for s in summary
    ):
        return None
    return "\n\n".join(str(s.get("text", "")) for s in summary)


def summary_text(messages: Any) -> Any:
    """``messages`` (parts) with reasoning parts whose content is a JSON summary list given
    that summary's text; the same list when there is none."""
    if not isinstance(messages, list):
        return messages
    changed = False
    out = []
    for message in messages:
        parts = message.get("parts") if isinstance(message, Mapping) else None
        if isinstance(parts, list):
            new_parts = []
            for part in parts:
                text = _summary(part.get("content")) if isinstance(part, Mapping) else None
                if text is not None and part.get("type") == "reasoning":
                    part = {**part, "content": text}
                    changed = True
                new_parts.append(part)
            message = {**message, "parts": new_parts}
        out.append(message)
    return out if changed else messages


def _unmove(
    moved: dict[str, Any], attrs: dict[str, Any], source: Mapping[str, Any], key: str
) -> None:
    """Put attribute ``key`` back on the span: its field no longer holds its exact value."""
    if key in moved:
        del moved[key]
        attrs[key] = source[key]


def refine_llm_call(
    ev: dict[str, Any],
    moved: dict[str, Any],
    attrs: dict[str, Any],
    source: Mapping[str, Any],
) -> None:
    """Fill an ``llm_call`` line ``ev`` further from a Responses or Gemini span (see the module
    doc). ``attrs`` are the attributes still on the span, ``moved`` where the others went,
    ``source`` the span's attributes as they came."""
    if source.get(n.OPENINFERENCE_SPAN_KIND) == "LLM":
        raw_in = parse_json(source.get(n.INPUT_VALUE))
        if isinstance(raw_in, Mapping):
            request = (
                _responses_request(raw_in) if "input" in raw_in and "model" in raw_in else None
            )
            if request is None and "contents" in raw_in:
                request = _gemini_request(raw_in)
            if request is not None:
                ev["input"], system = request
                if isinstance(system, str) and system:
                    ev["system"] = system
        raw_out = parse_json(source.get(n.OUTPUT_VALUE))
        if isinstance(raw_out, Mapping):
            output = _raw_output(raw_out)
            if output is not None:
                ev["output"] = output
            rid = raw_out.get("id") if raw_out.get("object") == "response" else None
            rid = raw_out.get("response_id", rid)
            if isinstance(rid, str) and "response_id" not in ev:
                ev["response_id"] = rid
            if raw_out.get("object") == "response" and "finish_reason" not in ev:
                # The Responses API has a status, not a finish reason: name it as the
                # conventions do.
                ev["finish_reason"] = (
                    "tool_call" if _function_calls(raw_out.get("output")) else "stop"
                )
    paired = summary_text(pair_item_ids(ev.get("input")))
    if paired is not ev.get("input"):
        ev["input"] = paired
        _unmove(moved, attrs, source, n.GEN_AI_INPUT_MESSAGES)
    summarised = summary_text(ev.get("output"))
    if summarised is not ev.get("output"):
        ev["output"] = summarised
        _unmove(moved, attrs, source, n.GEN_AI_OUTPUT_MESSAGES)
    output = ev.get("output")
    if isinstance(output, list) and any(_model_role_parts(m) for m in output):
        ev["output"] = [{**m, "role": "assistant"} if _model_role_parts(m) else m for m in output]
        _unmove(moved, attrs, source, n.GEN_AI_OUTPUT_MESSAGES)


# --- events -> spans: the current conventions -----------------------------------------------

#: Provider names seen on Gemini spans and in recorded runs, as the conventions name them.
PROVIDER_NAMES = {
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "google_genai": "gcp.gemini",
    "google.genai": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
}
#: Gemini finish reasons (upper case on the wire) as the conventions name them.
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
}


def _asks_for_tools(messages: Any) -> bool:
    return isinstance(messages, list) and any(
        isinstance(p, Mapping) and p.get("type") == "tool_call"
        for m in messages
        if isinstance(m, Mapping)
        for p in m.get("parts") or []
    )


def merge_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Output parts messages with consecutive ``assistant`` messages (a Responses output: one
    per item) merged into one, as ``gen_ai.output.messages`` has one message per choice."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if out and message.get("role") == "assistant" and out[-1].get("role") == "assistant":
            out[-1] = {**out[-1], "parts": [*out[-1]["parts"], *message.get("parts", [])]}
        else:
            out.append(dict(message))
    return out


def provider_name(provider: Any) -> Any:
    """A provider name as the current conventions spell it (``gemini``, ``google`` ->
    ``gcp.gemini``); any other value as it is."""
    if isinstance(provider, str) and provider.lower() in PROVIDER_NAMES:
        return PROVIDER_NAMES[provider.lower()]
    return provider


def finish_reason(reason: Any, output: Any) -> Any:
    """A finish reason as the current conventions spell it: Gemini's upper-case reasons in
    theirs, and ``stop`` on a turn whose ``output`` (parts messages) asks for tools as
    ``tool_call`` (Gemini and some instrumentations say ``stop`` there)."""
    if not isinstance(reason, str):
        return reason
    reason = FINISH_REASONS.get(reason, reason)
    if reason == "stop" and _asks_for_tools(output):
        return "tool_call"
    return reason

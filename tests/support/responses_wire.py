"""The OpenAI Responses API wire format, as `support.providers.ProviderServer` serves it.

`POST /v1/responses` answers with one `Response` object, or with `"stream": true` with the
server-sent events the real API sends and the `openai` client's stream accumulator expects:

    response.created, response.in_progress,
    per output item: response.output_item.added, ..., response.output_item.done
      reasoning: response.reasoning_summary_part.added, .reasoning_summary_text.delta/.done,
                 response.reasoning_summary_part.done
      message:   response.content_part.added, response.output_text.delta/.done,
                 response.content_part.done
      function:  response.function_call_arguments.delta/.done
    response.completed

Ids are deterministic: response `resp_N` and message `msg_N` / reasoning `rs_N` for the N-th model
call; function call items `fc_K` whose `call_id` is `call_K` for the K-th tool call (or the
scripted id): the item id and the call id differ, as on the real API.

Pure functions: no sockets here (the server in `support.providers` sends what they build).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "output_items",
    "response_events",
    "response_object",
    "tool_result",
]

_TEXT_PIECE = 8
_ARGUMENT_PIECES = 3


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def tool_result(body: Mapping[str, Any]) -> str:
    """The output of the last `function_call_output` item in the request's `input`."""
    items = body.get("input")
    if not isinstance(items, list):
        return ""
    for item in reversed(items):
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            return _text_of(item.get("output"))
    return ""


def output_items(
    call: int,
    text: str | None,
    calls: Sequence[tuple[str, Mapping[str, Any], str, int]],
    reasoning: str | None = None,
) -> list[dict[str, Any]]:
    """The completed output items: reasoning, then the message, then the function calls.

    `calls` holds `(name, arguments, call_id, n)` with `n` the server-wide tool call number
    that names the item `fc_n`.
    """
    items: list[dict[str, Any]] = []
    if reasoning is not None:
        items.append(
            {
                "id": f"rs_{call}",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": reasoning}],
            }
        )
    if text is not None:
        items.append(
            {
                "id": f"msg_{call}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                ],
            }
        )
    items.extend(
        {
            "id": f"fc_{n}",
            "type": "function_call",
            "status": "completed",
            "arguments": json.dumps(dict(arguments)),
            "call_id": call_id,
            "name": name,
        }
        for name, arguments, call_id, n in calls
    )
    return items


def _usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def response_object(
    call: int,
    body: Mapping[str, Any],
    output: list[dict[str, Any]],
    usage: tuple[int, int, int] | None,
    *,
    created: int,
    status: str = "completed",
) -> dict[str, Any]:
    """A `Response` echoing the request's settings; `usage` is (input, output, reasoning)."""
    return {
        "id": f"resp_{call}",
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": str(body.get("model", "")),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None if usage is None else _usage(*usage),
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def response_events(
    call: int,
    body: Mapping[str, Any],
    output: list[dict[str, Any]],
    usage: tuple[int, int, int],
    *,
    created: int,
) -> Iterator[tuple[str, str]]:
    """The `(event name, data)` pairs of a streamed response whose final output is `output`."""
    sequence = 0

    def event(kind: str, /, **payload: Any) -> tuple[str, str]:
        nonlocal sequence
        data = {"type": kind, "sequence_number": sequence, **payload}
        sequence += 1
        return kind, json.dumps(data)

    pending = response_object(call, body, [], None, created=created, status="in_progress")
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(output):
        yield from _item_events(event, index, item)
    final = response_object(call, body, output, usage, created=created)
    yield event("response.completed", response=final)


def _item_events(event: Any, index: int, item: dict[str, Any]) -> Iterator[tuple[str, str]]:
    item_id = item["id"]
    where = {"item_id": item_id, "output_index": index}
    kind = item["type"]
    if kind == "reasoning":
        yield event("response.output_item.added", output_index=index, item={**item, "summary": []})
        for number, part in enumerate(item["summary"]):
            at = {**where, "summary_index": number}
            empty = {"type": "summary_text", "text": ""}
            yield event("response.reasoning_summary_part.added", **at, part=empty)
            for piece in _split(part["text"], _TEXT_PIECE):
                yield event("response.reasoning_summary_text.delta", **at, delta=piece)
            yield event("response.reasoning_summary_text.done", **at, text=part["text"])
            yield event("response.reasoning_summary_part.done", **at, part=part)
    elif kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        yield event("response.output_item.added", output_index=index, item=added)
        for number, part in enumerate(item["content"]):
            at = {**where, "content_index": number}
            empty = {**part, "text": ""}
            yield event("response.content_part.added", **at, part=empty)
            for piece in _split(part["text"], _TEXT_PIECE):
                yield event("response.output_text.delta", **at, delta=piece, logprobs=[])
            yield event("response.output_text.done", **at, text=part["text"], logprobs=[])
            yield event("response.content_part.done", **at, part=part)
    else:
        added = {**item, "status": "in_progress", "arguments": ""}
        yield event("response.output_item.added", output_index=index, item=added)
        arguments = item["arguments"]
        size = max(1, -(-len(arguments) // _ARGUMENT_PIECES))
        for piece in _split(arguments, size):
            yield event("response.function_call_arguments.delta", **where, delta=piece)
        yield event(
            "response.function_call_arguments.done",
            **where,
            arguments=arguments,
            name=item["name"],
        )
    yield event("response.output_item.done", output_index=index, item=item)

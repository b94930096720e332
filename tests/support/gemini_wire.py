"""The Gemini API (`generateContent`) wire format, as `support.providers.ProviderServer` serves it.

Paths (any of `v1`, `v1beta`, `v1alpha`; google-genai 3.x defaults to `/v1/`, older clients and
the official instrumentation's supported range use `/v1beta/`):

    POST /{version}/models/{model}:generateContent          one GenerateContentResponse
    POST /{version}/models/{model}:streamGenerateContent    with ?alt=sse: server-sent `data:`
                                                            lines, one response chunk each

The model is in the path, not the body. A tool call is a `functionCall` part, whole in one
chunk; its `id` is optional on the real API and sent here only when the script names one (so the
client's `functionResponse` pairs by name, as most real Gemini traffic does). The finish reason is
`STOP` on a tool-call turn too, as on the real API. Thought parts are `{"text", "thought": true}`.
Response ids are `gemini-N` for the N-th model call.

Pure functions: no sockets here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "GEMINI_PATH",
    "chunks",
    "parse_path",
    "response_object",
    "tool_result",
]

GEMINI_PATH = re.compile(
    r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent)$"
)
"""Groups: API version, model, method."""

_TEXT_PIECE = 8


def parse_path(path: str) -> tuple[str, bool] | None:
    """`(model, streaming)` for a Gemini generate path, None for any other path."""
    match = GEMINI_PATH.match(path.rstrip("/"))
    if match is None:
        return None
    return match.group(2), match.group(3) == "streamGenerateContent"


def tool_result(body: Mapping[str, Any]) -> str:
    """The last `functionResponse` of the request's `contents`, as text.

    A `response` with one string value (`{"result": "..."}`) gives that string; any other
    `response` gives its JSON.
    """
    contents = body.get("contents")
    if not isinstance(contents, list):
        return ""
    for content in reversed(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in reversed(parts if isinstance(parts, list) else []):
            answer = part.get("functionResponse") if isinstance(part, dict) else None
            if isinstance(answer, dict):
                response = answer.get("response")
                if isinstance(response, dict) and len(response) == 1:
                    (value,) = response.values()
                    if isinstance(value, str):
                        return value
                return json.dumps(response)
    return ""


def _parts(
    text: str | None,
    calls: Sequence[tuple[str, Mapping[str, Any], str | None]],
    thought: str | None,
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if thought is not None:
        parts.append({"text": thought, "thought": True})
    if text is not None:
        parts.append({"text": text})
    for name, arguments, call_id in calls:
        function_call: dict[str, Any] = {"name": name, "args": dict(arguments)}
        if call_id is not None:
            function_call["id"] = call_id
        parts.append({"functionCall": function_call})
    return parts


def _usage(input_tokens: int, output_tokens: int, thoughts: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": input_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": input_tokens + output_tokens + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": input_tokens}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def response_object(
    call: int,
    model: str,
    text: str | None,
    calls: Sequence[tuple[str, Mapping[str, Any], str | None]],
    usage: tuple[int, int, int],
    *,
    thought: str | None = None,
) -> dict[str, Any]:
    """One GenerateContentResponse; `calls` holds `(name, args, id or None)`,
    `usage` is (prompt, candidates, thoughts) token counts."""
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": _parts(text, calls, thought)},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": _usage(*usage),
        "modelVersion": model,
        "responseId": f"gemini-{call}",
    }


def chunks(
    call: int,
    model: str,
    text: str | None,
    calls: Sequence[tuple[str, Mapping[str, Any], str | None]],
    usage: tuple[int, int, int],
    *,
    thought: str | None = None,
) -> Iterator[str]:
    """The JSON `data` of each streamed chunk: thought and text in pieces, each call whole, the
    finish reason and the full usage on the last chunk (earlier chunks carry the prompt count)."""
    pieces: list[dict[str, Any]] = []
    if thought is not None:
        pieces.extend({"text": piece, "thought": True} for piece in _split(thought, _TEXT_PIECE))
    if text is not None:
        pieces.extend({"text": piece} for piece in _split(text, _TEXT_PIECE))
    pieces.extend(_parts(None, calls, None))
    if not pieces:
        pieces.append({"text": ""})
    input_tokens = usage[0]
    for number, part in enumerate(pieces, start=1):
        last = number == len(pieces)
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        chunk = {
            "candidates": [candidate],
            "usageMetadata": _usage(*usage)
            if last
            else {"promptTokenCount": input_tokens, "totalTokenCount": input_tokens},
            "modelVersion": model,
            "responseId": f"gemini-{call}",
        }
        yield json.dumps(chunk)


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]

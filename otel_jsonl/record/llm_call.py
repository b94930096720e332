"""A provider's response as the fields of an ``llm_call`` step, and streams recorded as they go.

``Trace.step("llm_call", response=r)`` reads ``r`` with :func:`llm_call_fields`: an OpenAI
Responses ``Response``, a Gemini ``GenerateContentResponse``, an OpenAI ``ChatCompletion`` or an
Anthropic ``Message`` (the SDK object or its dict, in the wire's or the SDK's key spelling).
:func:`record_stream` wraps a stream of Responses events, Gemini chunks or Chat Completions
chunks (SDK objects): the caller iterates it as before, and when it ends the accumulated
response is recorded as one ``llm_call``.

Standard library only: SDK objects are read through their ``model_dump()``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol

__all__ = ["RecordedStream", "llm_call_fields", "record_stream"]


class _Steps(Protocol):
    def step(self, kind: str, /, **fields: Any) -> int | None: ...


def _plain(value: Any) -> Any:
    """An SDK object as a dict in the wire's spelling (aliases, no nulls); a dict as it is."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_none=True)
    return value


def _get(d: Mapping[str, Any], camel: str, snake: str) -> Any:
    return d[camel] if camel in d else d.get(snake)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(pairs: Iterable[tuple[str, Any]]) -> dict[str, int]:
    return {key: v for key, value in pairs if (v := _int(value)) is not None}


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _responses(d: Mapping[str, Any]) -> dict[str, Any]:
    output = _strip_none(list(d.get("output") or []))
    usage = d.get("usage") or {}
    inputs = usage.get("input_tokens_details") or {}
    outputs = usage.get("output_tokens_details") or {}
    if any(isinstance(i, Mapping) and i.get("type") == "function_call" for i in output):
        finish = "tool_call"
    elif d.get("status") == "incomplete":
        reason = (d.get("incomplete_details") or {}).get("reason")
        finish = "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    elif d.get("status") == "failed":
        finish = "error"
    else:
        finish = "stop"
    return {
        "model": d.get("model"),
        "provider": "openai",
        "response_id": d.get("id"),
        "output": output,
        "finish_reason": finish,
        "usage": _usage(
            (
                ("input_tokens", usage.get("input_tokens")),
                ("output_tokens", usage.get("output_tokens")),
                ("total_tokens", usage.get("total_tokens")),
                ("cache_read_input_tokens", inputs.get("cached_tokens")),
                ("reasoning_tokens", outputs.get("reasoning_tokens")),
            )
        ),
    }


def _gemini(d: Mapping[str, Any]) -> dict[str, Any]:
    candidates = d.get("candidates") or []
    first = candidates[0] if candidates and isinstance(candidates[0], Mapping) else {}
    content = first.get("content") or {"role": "model", "parts": []}
    meta = _get(d, "usageMetadata", "usage_metadata") or {}
    output_tokens = _int(_get(meta, "candidatesTokenCount", "candidates_token_count"))
    thoughts = _int(_get(meta, "thoughtsTokenCount", "thoughts_token_count"))
    if output_tokens is not None and thoughts:
        # Gemini counts thoughts apart; the conventions' output tokens include them.
        output_tokens += thoughts
    fields: dict[str, Any] = {
        "model": _get(d, "modelVersion", "model_version"),
        "provider": "gcp.gemini",
        "operation": "generate_content",  # Gemini's operation in the GenAI conventions
        "response_id": _get(d, "responseId", "response_id"),
        "output": [_gemini_wire(content)],
        "finish_reason": _get(first, "finishReason", "finish_reason"),
        "usage": _usage(
            (
                ("input_tokens", _get(meta, "promptTokenCount", "prompt_token_count")),
                ("output_tokens", output_tokens),
                ("total_tokens", _get(meta, "totalTokenCount", "total_token_count")),
                (
                    "cache_read_input_tokens",
                    _get(meta, "cachedContentTokenCount", "cached_content_token_count"),
                ),
                ("reasoning_tokens", thoughts),
            )
        ),
    }
    return fields


_GEMINI_PART_KEYS = {
    "function_call": "functionCall",
    "function_response": "functionResponse",
    "inline_data": "inlineData",
    "file_data": "fileData",
    "thought_signature": "thoughtSignature",
}


def _gemini_wire(content: Mapping[str, Any]) -> dict[str, Any]:
    """A Gemini content with part keys in the wire's camelCase (a dict from snake_case JSON)."""
    parts = [
        {_GEMINI_PART_KEYS.get(k, k): v for k, v in p.items()} if isinstance(p, Mapping) else p
        for p in content.get("parts") or []
    ]
    return {**dict(content), "parts": parts}


def _chat(d: Mapping[str, Any]) -> dict[str, Any]:
    choices = d.get("choices") or []
    first = choices[0] if choices and isinstance(choices[0], Mapping) else {}
    usage = d.get("usage") or {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return {
        "model": d.get("model"),
        "provider": "openai",
        "response_id": d.get("id"),
        "output": [_strip_none(dict(first.get("message") or {}))],
        "finish_reason": first.get("finish_reason"),
        "usage": _usage(
            (
                ("input_tokens", usage.get("prompt_tokens")),
                ("output_tokens", usage.get("completion_tokens")),
                ("total_tokens", usage.get("total_tokens")),
                ("cache_read_input_tokens", prompt.get("cached_tokens")),
                ("reasoning_tokens", completion.get("reasoning_tokens")),
            )
        ),
    }


def _anthropic(d: Mapping[str, Any]) -> dict[str, Any]:
    usage = d.get("usage") or {}
    return {
        "model": d.get("model"),
        "provider": "anthropic",
        "response_id": d.get("id"),
        "output": [{"role": "assistant", "content": _strip_none(list(d.get("content") or []))}],
        "finish_reason": d.get("stop_reason"),
        "usage": _usage(
            (
                ("input_tokens", usage.get("input_tokens")),
                ("output_tokens", usage.get("output_tokens")),
                ("cache_read_input_tokens", usage.get("cache_read_input_tokens")),
                ("cache_creation_input_tokens", usage.get("cache_creation_input_tokens")),
            )
        ),
    }


def llm_call_fields(response: Any) -> dict[str, Any]:
    """The ``llm_call`` fields of a provider response (see the module doc): ``model``,
    ``provider``, ``response_id``, ``output`` (in the provider's own form), ``finish_reason`` and
    ``usage`` in the schema's names. Fields the response lacks are left out; an unknown shape
    gives ``{"response": <its dict>}`` so nothing is lost."""
    d = _plain(response)
    if not isinstance(d, Mapping):
        return {"response": d}
    if d.get("object") == "response" or (isinstance(d.get("output"), list) and "status" in d):
        fields = _responses(d)
    elif "candidates" in d or "usageMetadata" in d or "usage_metadata" in d:
        fields = _gemini(d)
    elif "choices" in d:
        fields = _chat(d)
    elif d.get("type") == "message" and isinstance(d.get("content"), list):
        fields = _anthropic(d)
    else:
        return {"response": dict(d)}
    return {k: v for k, v in fields.items() if v is not None and v != {}}


# --- streams ---------------------------------------------------------------------------------


class _GeminiAccumulator:
    """Gemini chunks put back together into one GenerateContentResponse dict."""

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []
        self.last: dict[str, Any] = {}
        self.last_sdk: Any = None
        self.finish: Any = None
        self.role = "model"

    def add(self, chunk: Mapping[str, Any]) -> None:
        self.last = dict(chunk)
        for candidate in chunk.get("candidates") or []:
            if not isinstance(candidate, Mapping):
                continue
            reason = _get(candidate, "finishReason", "finish_reason")
            self.finish = reason or self.finish
            content = candidate.get("content") or {}
            self.role = content.get("role") or self.role
            for part in content.get("parts") or []:
                self._add_part(dict(part))
            break  # the first candidate, as llm_call_fields reads it

    def add_sdk(self, chunk: Any) -> None:
        """An SDK chunk, read through its attributes: dumping every chunk would cost more than
        the rest of the recording (the last chunk is dumped once, at the end)."""
        self.last_sdk = chunk
        for candidate in chunk.candidates or []:
            self.finish = getattr(candidate.finish_reason, "value", None) or self.finish
            content = candidate.content
            if content is None:
                break
            self.role = content.role or self.role
            for part in content.parts or []:
                plain = part.text is not None and part.function_call is None
                if plain and not part.thought_signature and part.function_response is None:
                    self._add_part(
                        {"text": part.text, **({"thought": True} if part.thought else {})}
                    )
                else:
                    self._add_part(_plain(part))
            break

    def _add_part(self, part: dict[str, Any]) -> None:
        last = self.parts[-1] if self.parts else None
        mergeable = set(part) <= {"text", "thought"} and "text" in part
        if (
            last is not None
            and mergeable
            and set(last) <= {"text", "thought"}
            and "text" in last
            and bool(last.get("thought")) == bool(part.get("thought"))
        ):
            last["text"] += part["text"]
        else:
            self.parts.append(part)

    def response(self) -> dict[str, Any]:
        if self.last_sdk is not None:
            self.last = _plain(self.last_sdk.model_copy(update={"candidates": None}))
        out = {k: v for k, v in self.last.items() if k != "candidates"}
        candidate: dict[str, Any] = {"content": {"role": self.role, "parts": self.parts}}
        if self.finish is not None:
            candidate["finishReason"] = self.finish
        out["candidates"] = [candidate]
        return out


class _ChatAccumulator:
    """Chat Completions chunks put back together into one ``chat.completion`` dict."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.last: dict[str, Any] = {}
        self.finish: Any = None
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        self.last = {"id": chunk.id, "model": chunk.model}
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            self.finish = choice.finish_reason or self.finish
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
            for call in delta.tool_calls or []:
                slot = self.calls.setdefault(
                    call.index,
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["function"]["name"] += call.function.name or ""
                    slot["function"]["arguments"] += call.function.arguments or ""

    def response(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant"}
        if self.text:
            message["content"] = "".join(self.text)
        if self.calls:
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        usage = _plain(self.usage) if self.usage is not None else None
        return {
            **self.last,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
            "usage": usage,
        }


class RecordedStream(Iterator[Any], AsyncIterator[Any]):
    """A stream the caller iterates as before (``for`` or ``async for``, ``with`` or
    ``async with``); when it ends, one ``llm_call`` is recorded."""

    def __init__(self, trace: _Steps, stream: Any, fields: Mapping[str, Any]) -> None:
        self._trace = trace
        self._stream = stream
        self._iter: Any = None
        self._aiter: Any = None
        self._fields = dict(fields)
        self._final: Any = None
        self._gemini: _GeminiAccumulator | None = None
        self._chat: _ChatAccumulator | None = None
        self._recorded = False

    def __iter__(self) -> RecordedStream:
        return self

    def __next__(self) -> Any:
        if self._iter is None:
            self._iter = iter(self._stream)
        try:
            item = next(self._iter)
        except StopIteration:
            self._record()
            raise
        self._safe_watch(item)
        return item

    def __aiter__(self) -> RecordedStream:
        return self

    async def __anext__(self) -> Any:
        if self._aiter is None:
            self._aiter = self._stream.__aiter__()
        try:
            item = await self._aiter.__anext__()
        except StopAsyncIteration:
            self._record()
            raise
        self._safe_watch(item)
        return item

    def _safe_watch(self, item: Any) -> None:
        try:
            self._watch(item)
        except Exception:  # broad: recording never breaks the caller's stream
            self._gemini = self._chat = None

    def _watch(self, item: Any) -> None:
        kind = getattr(item, "type", None)
        if kind is None and isinstance(item, Mapping):
            kind = item.get("type")
        if isinstance(kind, str) and kind.startswith("response."):
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                response = getattr(item, "response", None)
                if response is None and isinstance(item, Mapping):
                    response = item.get("response")
                self._final = response
            return
        if getattr(item, "object", None) == "chat.completion.chunk":
            if self._chat is None:
                self._chat = _ChatAccumulator()
            self._chat.add(item)
            return
        if hasattr(item, "candidates") and hasattr(item, "model_copy"):
            if self._gemini is None:
                self._gemini = _GeminiAccumulator()
            self._gemini.add_sdk(item)
            return
        d = _plain(item)
        if isinstance(d, Mapping) and ("candidates" in d or "usageMetadata" in d):
            if self._gemini is None:
                self._gemini = _GeminiAccumulator()
            self._gemini.add(d)

    def _record(self) -> None:
        if self._recorded:
            return
        self._recorded = True
        try:
            response = self._final
            if response is None and self._gemini is not None:
                response = self._gemini.response()
            if response is None and self._chat is not None:
                response = self._chat.response()
            if response is None:
                return
            fields = llm_call_fields(response)
            fields.update(self._fields)
            self._trace.step("llm_call", **fields)
        except Exception:  # broad: recording never raises into the caller (step counts its own)
            return

    def close(self) -> None:
        """Close the underlying stream (when it can be closed) and record what arrived."""
        closer = getattr(self._stream, "close", None)
        try:
            if callable(closer):
                closer()
        finally:
            self._record()

    async def aclose(self) -> None:
        """Close an async stream (``aclose()`` or an awaitable ``close()``) and record."""
        closer = getattr(self._stream, "aclose", None) or getattr(self._stream, "close", None)
        try:
            if callable(closer):
                result = closer()
                if inspect.isawaitable(result):
                    await result
        finally:
            self._record()

    async def __aenter__(self) -> RecordedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> RecordedStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def record_stream(trace: _Steps, stream: Any, /, **fields: Any) -> RecordedStream:
    """Wrap a stream (or async stream) of OpenAI Responses events or Gemini chunks: iterate it
    as the stream itself; when it ends (or is closed) its response is recorded with
    ``trace.step("llm_call", ...)``, ``fields`` added over what the response gives."""
    return RecordedStream(trace, stream, fields)

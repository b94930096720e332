"""A scripted loopback server that speaks the OpenAI, Anthropic and Gemini wire formats.

The real `openai`, `anthropic` and `google-genai` clients talk to it with a dummy key and a
`base_url`:

    with ProviderServer() as server:
        client = OpenAI(base_url=server.openai_base_url, api_key="test-key")  # also .responses
        client = Anthropic(base_url=server.anthropic_base_url, api_key="test-key")
        client = genai.Client(api_key="test-key",
                              http_options={"base_url": server.gemini_base_url})

Endpoints: OpenAI Chat Completions (`POST /v1/chat/completions`, also without `/v1`), the OpenAI
Responses API (`POST /v1/responses`, also without `/v1`; see `support.responses_wire`),
Anthropic Messages (`POST /v1/messages`), each as one JSON response or, with `"stream": true`,
as server-sent events in the provider's real sequence; and Gemini
(`POST /{v1,v1beta}/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`; see
`support.gemini_wire`).

Every model call consumes the next `Turn` of the script (shared by both formats); every request
(also the failed ones) is kept in `requests`, in order. Ids, timestamps and token usage are
deterministic: see `usage_for`, `RESPONSE_CREATED` and the id helpers below.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from support import gemini_wire, responses_wire

__all__ = [
    "DEFAULT_SCRIPT",
    "INPUT_TOKENS_PER_MESSAGE",
    "OUTPUT_TOKENS",
    "REASONING_TOKENS",
    "RESPONSE_CREATED",
    "TOOL_RESULT_PLACEHOLDER",
    "ProviderServer",
    "RecordedRequest",
    "ToolCall",
    "Turn",
    "Usage",
    "usage_for",
]

INPUT_TOKENS_PER_MESSAGE = 10
"""Input tokens charged per message the request carries (a system prompt counts as one)."""

OUTPUT_TOKENS = 7
"""Output tokens of every response, whatever it says."""

RESPONSE_CREATED = 1_700_000_000
"""The `created` Unix time of every OpenAI response and chunk."""

TOOL_RESULT_PLACEHOLDER = "{tool_result}"
"""In a reply's text, replaced by the last tool result found in the request."""

REASONING_TOKENS = 5
"""Reasoning tokens reported for a turn with `reasoning` (Responses: part of the output
tokens; Gemini: `thoughtsTokenCount`, on top of them, as each API counts)."""

_TEXT_PIECE = 8
"""Characters per streamed text delta."""

_ARGUMENT_PIECES = 3
"""Streamed tool arguments are split into this many deltas (fewer when they are short)."""


@dataclass(frozen=True)
class ToolCall:
    """The model asks for tool `name` with `arguments`; `id` defaults to `call_N` / `toolu_N`."""

    name: str
    arguments: Mapping[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Turn:
    """One scripted model response: text, or one or more tool calls (with optional text).

    `reasoning` becomes a `reasoning` output item (Responses) or a thought part (Gemini); the
    Chat Completions and Anthropic formats leave it out.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None

    @classmethod
    def reply(cls, text: str) -> Turn:
        """Answer with `text`; `{tool_result}` in it becomes the last tool result received."""
        return cls(text=text)

    @classmethod
    def call(cls, name: str, arguments: Mapping[str, Any], *, id: str | None = None) -> Turn:
        """Call tool `name` with `arguments`."""
        return cls(tool_calls=(ToolCall(name, dict(arguments), id),))


DEFAULT_SCRIPT: tuple[Turn, ...] = (
    Turn.call("get_weather", {"city": "Lisbon"}),
    Turn.reply(f"The weather in Lisbon: {TOOL_RESULT_PLACEHOLDER}"),
)
"""The two-turn tool loop: call `get_weather` for Lisbon, then answer with the tool's result."""


@dataclass(frozen=True)
class Usage:
    """Token usage the server reports for one call."""

    input_tokens: int
    output_tokens: int
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def usage_for(body: Mapping[str, Any]) -> Usage:
    """The usage reported for a request `body`: 10 input tokens per message, 7 output tokens.

    Messages are Chat/Anthropic `messages`, Responses `input` items (a string input is one) or
    Gemini `contents`. A top-level system prompt (Anthropic `system`, Responses `instructions`,
    Gemini `systemInstruction`) counts as one message, like OpenAI's system message, so every
    format reports the same numbers for the same conversation.
    """
    count = 0
    for key in ("messages", "input", "contents"):
        value = body.get(key)
        if isinstance(value, list):
            count += len(value)
        elif isinstance(value, str) and value:
            count += 1
    for key in ("system", "instructions", "systemInstruction"):
        if body.get(key):
            count += 1
    return Usage(INPUT_TOKENS_PER_MESSAGE * count, OUTPUT_TOKENS)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Header names lowercased."""
    raw: bytes
    body: Any
    """The parsed JSON body, or None when it was empty or not JSON."""
    status: int = 0
    """The status code the server answered with."""
    call: int | None = None
    """1-based number of the model call this request was served as, None for errors."""
    usage: Usage | None = None
    route: str | None = None
    """`openai`, `responses`, `anthropic` or `gemini`; None when no route matched."""

    @property
    def messages(self) -> list[Any]:
        """The `messages` list of the body (empty when absent)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []


@dataclass
class _State:
    script: list[Turn]
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: int = 0
    tool_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ProviderServer:
    """A scripted OpenAI/Anthropic server on 127.0.0.1, serving in a daemon thread.

    Use it as a context manager, or call `close()`; both are safe to repeat.
    """

    def __init__(self, script: Sequence[Turn] | None = None, *, timeout: float = 5.0) -> None:
        self._state = _State(list(DEFAULT_SCRIPT if script is None else script))
        self._timeout = timeout
        state = self._state

        class Handler(_Handler):
            pass

        Handler.state = state
        Handler.timeout = timeout
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="provider-server",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, no trailing slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """The `base_url` for `openai.OpenAI` (it appends `/chat/completions`)."""
        return f"{self.url}/v1"

    @property
    def responses_base_url(self) -> str:
        """The `base_url` for `openai.OpenAI` used for `.responses` (it appends `/responses`)."""
        return f"{self.url}/v1"

    @property
    def gemini_base_url(self) -> str:
        """The `http_options` `base_url` for `google.genai.Client` (it appends `v1beta/...`)."""
        return f"{self.url}/"

    @property
    def anthropic_base_url(self) -> str:
        """The `base_url` for `anthropic.Anthropic` (it appends `/v1/messages`)."""
        return self.url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def calls(self) -> list[RecordedRequest]:
        """The requests that were served as model calls, in order."""
        return [r for r in self.requests if r.call is not None]

    @property
    def remaining(self) -> int:
        """Turns of the script not yet served."""
        with self._state.lock:
            return len(self._state.script) - self._state.calls

    def extend(self, turns: Sequence[Turn]) -> None:
        """Append `turns` to the script."""
        with self._state.lock:
            self._state.script.extend(turns)

    def close(self) -> None:
        """Stop serving and close the socket, waiting at most the server's timeout."""
        if self._closed:
            return
        self._closed = True
        # shutdown() waits for serve_forever() without a timeout: run it aside and bound the wait.
        stopper = threading.Thread(target=self._httpd.shutdown, daemon=True)
        stopper.start()
        stopper.join(self._timeout)
        self._thread.join(self._timeout)
        self._httpd.server_close()

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otel-jsonl-provider/1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `ProviderServer.requests` instead."""

    def handle(self) -> None:
        # The client may hang up (a stream closed before its last byte was read): nothing to do.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.split("?", 1)[0]
        style = _error_style(path, headers)
        state = self.state
        route: str | None = None
        try:
            route = _route(self.command, path)
            if not isinstance(body, dict):
                raise _HttpError(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
            with state.lock:
                if state.calls >= len(state.script):
                    raise _HttpError(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"script exhausted: all {len(state.script)} scripted turns were served",
                    )
                turn = state.script[state.calls]
                state.calls += 1
                call = state.calls
                calls = []
                for tool_call in turn.tool_calls:
                    state.tool_calls += 1
                    calls.append((tool_call, state.tool_calls))
                usage = usage_for(body)
                if turn.reasoning is not None and route in ("responses", "gemini"):
                    usage = Usage(usage.input_tokens, usage.output_tokens, REASONING_TOKENS)
                state.requests.append(
                    RecordedRequest(
                        self.command, path, headers, raw, body, HTTPStatus.OK, call, usage, route
                    )
                )
        except _HttpError as error:
            with state.lock:
                state.requests.append(
                    RecordedRequest(
                        self.command, path, headers, raw, body, error.status, route=route
                    )
                )
            self._send_error(error, style=style)
            return
        model = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        if route == "responses":
            self._respond_responses(call, body, turn, calls, usage, stream=stream)
        elif route == "gemini":
            self._respond_gemini(call, path, body, turn, calls, usage)
        elif route == "openai":
            ids = [(tc, tc.id or f"call_{n}") for tc, n in calls]
            text = _fill(turn.text, _openai_tool_result(body))
            if stream:
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                events = _openai_chunks(call, model, text, ids, usage, include_usage=include_usage)
                self._send_sse((None, data) for data in events)
            else:
                self._send_json(HTTPStatus.OK, _openai_completion(call, model, text, ids, usage))
        else:
            ids = [(tc, tc.id or f"toolu_{n}") for tc, n in calls]
            text = _fill(turn.text, _anthropic_tool_result(body))
            if stream:
                self._send_sse(_anthropic_events(call, model, text, ids, usage))
            else:
                self._send_json(HTTPStatus.OK, _anthropic_message(call, model, text, ids, usage))

    def _respond_responses(
        self,
        call: int,
        body: Mapping[str, Any],
        turn: Turn,
        calls: list[tuple[ToolCall, int]],
        usage: Usage,
        *,
        stream: bool,
    ) -> None:
        text = _fill(turn.text, responses_wire.tool_result(body))
        functions = [(tc.name, tc.arguments, tc.id or f"call_{n}", n) for tc, n in calls]
        output = responses_wire.output_items(call, text, functions, turn.reasoning)
        counts = (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens)
        if stream:
            self._send_sse(
                responses_wire.response_events(call, body, output, counts, created=RESPONSE_CREATED)
            )
        else:
            payload = responses_wire.response_object(
                call, body, output, counts, created=RESPONSE_CREATED
            )
            self._send_json(HTTPStatus.OK, payload)

    def _respond_gemini(
        self,
        call: int,
        path: str,
        body: Mapping[str, Any],
        turn: Turn,
        calls: list[tuple[ToolCall, int]],
        usage: Usage,
    ) -> None:
        model, stream = gemini_wire.parse_path(path) or ("", False)
        text = _fill(turn.text, gemini_wire.tool_result(body))
        functions = [(tc.name, tc.arguments, tc.id) for tc, _ in calls]
        counts = (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens)
        if stream:
            events = gemini_wire.chunks(
                call, model, text, functions, counts, thought=turn.reasoning
            )
            self._send_sse((None, data) for data in events)
        else:
            payload = gemini_wire.response_object(
                call, model, text, functions, counts, thought=turn.reasoning
            )
            self._send_json(HTTPStatus.OK, payload)

    def _send_error(self, error: _HttpError, *, style: str) -> None:
        if style == "gemini":
            payload: dict[str, Any] = {
                "error": {
                    "code": int(error.status),
                    "message": error.message,
                    "status": {
                        HTTPStatus.NOT_FOUND: "NOT_FOUND",
                        HTTPStatus.BAD_REQUEST: "INVALID_ARGUMENT",
                    }.get(error.status, "INTERNAL"),
                }
            }
        elif style == "anthropic":
            kind = {
                HTTPStatus.NOT_FOUND: "not_found_error",
                HTTPStatus.BAD_REQUEST: "invalid_request_error",
            }.get(error.status, "api_error")
            payload = {
                "type": "error",
                "error": {"type": kind, "message": error.message},
            }
        else:
            kind = {
                HTTPStatus.NOT_FOUND: "invalid_request_error",
                HTTPStatus.BAD_REQUEST: "invalid_request_error",
            }.get(error.status, "server_error")
            code = "not_found" if error.status == HTTPStatus.NOT_FOUND else None
            payload = {
                "error": {"message": error.message, "type": kind, "param": None, "code": code}
            }
        # Both SDKs retry 5xx by default; a scripted server would replay nothing useful.
        self._send_json(error.status, payload, extra_headers={"x-should-retry": "false"})

    def _send_json(
        self,
        status: int,
        payload: Mapping[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_sse(self, events: Iterator[tuple[str | None, str]]) -> None:
        """Send `(event name or None, data)` pairs, one HTTP chunk per event."""
        self.send_response(HTTPStatus.OK)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for name, data in events:
            frame = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            encoded = frame.encode()
            self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _route(method: str, path: str) -> str:
    """`openai`, `responses`, `anthropic` or `gemini`, or a 404 for anything else."""
    normalized = path.rstrip("/")
    if method == "POST" and normalized in ("/v1/chat/completions", "/chat/completions"):
        return "openai"
    if method == "POST" and normalized in ("/v1/responses", "/responses"):
        return "responses"
    if method == "POST" and normalized == "/v1/messages":
        return "anthropic"
    if method == "POST" and gemini_wire.parse_path(normalized) is not None:
        return "gemini"
    raise _HttpError(HTTPStatus.NOT_FOUND, f"no route for {method} {path}")


def _error_style(path: str, headers: Mapping[str, str]) -> str:
    """Which provider's error body a failed request gets: `anthropic`, `gemini` or `openai`."""
    if "anthropic-version" in headers or path.rstrip("/").endswith("/messages"):
        return "anthropic"
    if "x-goog-api-key" in headers or ":generateContent" in path or ":streamGenerate" in path:
        return "gemini"
    return "openai"


def _fill(text: str | None, tool_result: str) -> str | None:
    return None if text is None else text.replace(TOOL_RESULT_PLACEHOLDER, tool_result)


def _text_of(content: Any) -> str:
    """Text of a message content: a string, or a list of `{"type": "text", "text": ...}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _openai_tool_result(body: Mapping[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "tool":
            return _text_of(message.get("content"))
    return ""


def _anthropic_tool_result(body: Mapping[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if not (isinstance(message, dict) and isinstance(message.get("content"), list)):
            continue
        for block in reversed(message["content"]):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                return _text_of(block.get("content"))
    return ""


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _arguments_pieces(arguments: str) -> list[str]:
    size = max(1, -(-len(arguments) // _ARGUMENT_PIECES))
    return _split(arguments, size)


def _arguments_json(tool_call: ToolCall) -> str:
    return json.dumps(dict(tool_call.arguments))


# --- OpenAI Chat Completions --------------------------------------------------------------


def _openai_completion(
    call: int,
    model: str,
    text: str | None,
    calls: list[tuple[ToolCall, str]],
    usage: Usage,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": tc.name, "arguments": _arguments_json(tc)},
            }
            for tc, call_id in calls
        ]
    return {
        "id": f"chatcmpl-{call}",
        "object": "chat.completion",
        "created": RESPONSE_CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": _openai_usage(usage),
        "system_fingerprint": None,
    }


def _openai_usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _openai_chunks(
    call: int,
    model: str,
    text: str | None,
    calls: list[tuple[ToolCall, str]],
    usage: Usage,
    *,
    include_usage: bool,
) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{call}",
            "object": "chat.completion.chunk",
            "created": RESPONSE_CREATED,
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            payload["usage"] = None
        return json.dumps(payload)

    yield chunk({"role": "assistant", "content": "" if text is not None else None, "refusal": None})
    if text:
        for piece in _split(text, _TEXT_PIECE):
            yield chunk({"content": piece})
    for index, (tc, call_id) in enumerate(calls):
        pieces = _arguments_pieces(_arguments_json(tc))
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": tc.name, "arguments": ""},
                    }
                ]
            }
        )
        for piece in pieces:
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    if include_usage:
        yield json.dumps(
            {
                "id": f"chatcmpl-{call}",
                "object": "chat.completion.chunk",
                "created": RESPONSE_CREATED,
                "model": model,
                "system_fingerprint": None,
                "choices": [],
                "usage": _openai_usage(usage),
            }
        )
    yield "[DONE]"


# --- Anthropic Messages -------------------------------------------------------------------


def _anthropic_usage(usage: Usage, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _anthropic_content(text: str | None, calls: list[tuple[ToolCall, str]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if text is not None:
        blocks.append({"type": "text", "text": text})
    blocks.extend(
        {"type": "tool_use", "id": call_id, "name": tc.name, "input": dict(tc.arguments)}
        for tc, call_id in calls
    )
    return blocks


def _anthropic_message(
    call: int,
    model: str,
    text: str | None,
    calls: list[tuple[ToolCall, str]],
    usage: Usage,
) -> dict[str, Any]:
    return {
        "id": f"msg_{call}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_content(text, calls),
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(usage, usage.output_tokens),
    }


def _anthropic_events(
    call: int,
    model: str,
    text: str | None,
    calls: list[tuple[ToolCall, str]],
    usage: Usage,
) -> Iterator[tuple[str | None, str]]:
    def event(name: str, payload: dict[str, Any]) -> tuple[str, str]:
        return name, json.dumps({"type": name, **payload})

    message = _anthropic_message(call, model, None, [], usage)
    message.update(content=[], stop_reason=None, usage=_anthropic_usage(usage, 1))
    yield event("message_start", {"message": message})
    index = 0
    if text is not None:
        yield event(
            "content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}
        )
        yield event("ping", {})
        for piece in _split(text, _TEXT_PIECE):
            yield event(
                "content_block_delta",
                {"index": index, "delta": {"type": "text_delta", "text": piece}},
            )
        yield event("content_block_stop", {"index": index})
        index += 1
    for tc, call_id in calls:
        block = {"type": "tool_use", "id": call_id, "name": tc.name, "input": {}}
        yield event("content_block_start", {"index": index, "content_block": block})
        for piece in _arguments_pieces(_arguments_json(tc)):
            yield event(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
            )
        yield event("content_block_stop", {"index": index})
        index += 1
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None},
            "usage": _anthropic_usage(usage, usage.output_tokens),
        },
    )
    yield event("message_stop", {})

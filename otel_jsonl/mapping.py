"""Spans to events and back: pure functions, no I/O.

:func:`span_to_events` turns one finished span into the events of docs/schema.md (an LLM span
into ``llm_call``, a tool span into ``tool_call`` + ``tool_result``, an agent span into
``input`` + ``final``, anything else into ``span``, plus an ``error`` line for an ERROR status
or an ``exception`` event). The line that carries ``otel`` holds everything else the span had,
so :func:`events_to_span` rebuilds the very same span: ids, parent, name, kind, nanosecond
times, status, every attribute with its type, events, links, scope and resource.

Attribute values in ``otel.attrs`` (and in events, links, scope and resources) are JSON values
with their types kept: strings, booleans, integers and finite floats as they are, arrays as
arrays (read back as tuples, as the SDK stores them). What JSON cannot hold is a one-key
object: ``{"float": "NaN" | "Infinity" | "-Infinity"}``, ``{"bytes": "<base64>"}``,
``{"map": {...}}`` (attribute values are never objects, so there is no ambiguity).

An attribute whose exact value a field holds is not repeated in ``otel.attrs``:
``otel.moved`` maps its key to where it is, either a JSON pointer into the line that carries
``otel``, or ``[pointer, codec]`` / ``[pointer, codec, kind]`` where ``codec`` is ``""`` (the
value as is) or one of the JSON styles below (a JSON-string attribute stored parsed, moved only
when re-encoding in that style reproduces the string byte for byte) and ``kind`` names the
other line of the same span that holds the field (``tool_call``, ``input``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import Attributes

from . import _codec
from . import semconv as sc
from .messages import to_parts

__all__ = [
    "JSON_STYLES",
    "decode_attrs",
    "encode_attrs",
    "events_to_span",
    "llm_call_id",
    "messages_from_record",
    "operation_of",
    "resource_event",
    "resource_from_event",
    "resource_id",
    "span_to_events",
]

#: JSON encodings a JSON-string attribute may have been written with (codec name -> dumps
#: options). "json" is compact (util-genai, the Anthropic SDK); "json/s" is ``json.dumps``'s
#: default spacing (OpenLLMetry, OpenInference); "/a" variants escape non-ASCII. A fifth
#: codec, "json/o", is the compact form as orjson writes it (checked first when installed).
JSON_STYLES: dict[str, dict[str, Any]] = {
    "json": {"separators": (",", ":"), "ensure_ascii": False},
    "json/a": {"separators": (",", ":"), "ensure_ascii": True},
    "json/s": {"separators": (", ", ": "), "ensure_ascii": False},
    "json/sa": {"separators": (", ", ": "), "ensure_ascii": True},
}

_KIND_NAMES = {k: k.name for k in SpanKind}
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# --- typed attribute values ------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool:
        return value
    if t is tuple:
        return [_encode_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"map": {str(k): _encode_value(v) for k, v in value.items()}}
    if isinstance(value, Sequence):
        return [_encode_value(v) for v in value]
    return str(value)


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode_value(v) for v in value)
    if isinstance(value, dict) and len(value) == 1:
        if "float" in value:
            return _NONFINITE.get(value["float"], math.nan)
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
        if "map" in value and isinstance(value["map"], dict):
            return {k: _decode_value(v) for k, v in value["map"].items()}
    return value


def encode_attrs(attrs: Attributes | Mapping[str, Any] | None) -> dict[str, Any]:
    """OTel attributes as JSON values, types kept (see the module docstring)."""
    if not attrs:
        return {}
    return {k: _encode_value(v) for k, v in attrs.items()}


def decode_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The inverse of :func:`encode_attrs` (arrays come back as tuples)."""
    if not attrs:
        return {}
    return {k: _decode_value(v) for k, v in attrs.items()}


def _exact_scalar(value: Any) -> bool:
    """A value a JSON field holds exactly (so the attribute may move into the field)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, bool, int))


# --- resources -------------------------------------------------------------------------------


def resource_id(resource: Resource) -> str:
    """A short stable id for a resource: ``r-`` and 12 hex of the sha256 of its content."""
    blob = json.dumps(
        [encode_attrs(resource.attributes), resource.schema_url or ""],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "r-" + hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:12]


def resource_event(
    resource: Resource, *, run: str = "resource", ts: float = 0.0, rid: str | None = None
) -> dict[str, Any]:
    """The ``resource`` line for ``resource`` (meta kind: no ``seq``)."""
    event: dict[str, Any] = {
        "ts": ts,
        "run": run,
        "kind": "resource",
        "id": rid or resource_id(resource),
        "attrs": encode_attrs(resource.attributes),
    }
    if resource.schema_url:
        event["schema_url"] = resource.schema_url
    return event


def resource_from_event(event: Mapping[str, Any]) -> Resource:
    """The resource a ``resource`` line describes."""
    return Resource(decode_attrs(event.get("attrs")), event.get("schema_url") or None)


# --- classification --------------------------------------------------------------------------


def operation_of(attrs: Mapping[str, Any]) -> str | None:
    """The GenAI operation of a span: ``gen_ai.operation.name``, else OpenInference's span
    kind, else OpenLLMetry's ``llm.request.type``; None for a span that is not GenAI."""
    op = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if isinstance(op, str) and op:
        return op
    oi = attrs.get(sc.OPENINFERENCE_SPAN_KIND)
    if isinstance(oi, str) and oi.upper() in sc.OPENINFERENCE_OPERATIONS:
        return sc.OPENINFERENCE_OPERATIONS[oi.upper()]
    req = attrs.get(sc.LLM_REQUEST_TYPE)
    if req in ("chat", "completion"):
        return "chat" if req == "chat" else "text_completion"
    return None


def llm_call_id(attrs: Mapping[str, Any]) -> str | None:
    """The response id of an LLM span (what two instrumentations of one call share)."""
    rid = attrs.get(sc.GEN_AI_RESPONSE_ID)
    return rid if isinstance(rid, str) and rid else None


# --- messages --------------------------------------------------------------------------------


def _loads(raw: str) -> Any:
    """Parse JSON text: orjson when it can (fast), the stdlib for what orjson refuses
    (NaN literals, integers over 64 bits); ValueError when it is not JSON."""
    if _codec.HAVE_ORJSON:
        try:
            return _codec.loads(raw)
        except ValueError:
            pass
    return json.loads(raw)


def _parse_json(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return _loads(raw)
    except ValueError:
        return raw


def _exact_json_style(raw: str, parsed: Any) -> str | None:
    """The :data:`JSON_STYLES` codec that re-encodes ``parsed`` to ``raw`` exactly, or None.

    With orjson installed the compact style is checked with orjson first (twenty times faster
    than the stdlib encoder) and recorded as ``json/o``; the stdlib styles are tried after.
    """
    if _codec.HAVE_ORJSON:
        try:
            if _codec.dumps(parsed) == raw.encode("utf-8"):
                return "json/o"
        except UnicodeEncodeError:
            return None
    for name, encode in _ENCODERS.items():
        try:
            if encode(parsed) == raw:
                return name
        except (ValueError, TypeError):
            return None
    return None


# One encoder per style, built once (json.dumps with options builds one per call).
_ENCODERS = {
    name: json.JSONEncoder(allow_nan=False, **options).encode
    for name, options in JSON_STYLES.items()
}


def _is_parts_list(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    for m in value:  # noqa: SIM110 (a loop: all() over a generator costs more per call)
        if not isinstance(m, dict) or not isinstance(m.get("parts"), list):
            return False
    return True


def _normalise_messages(value: Any, role: str | None = None) -> list[dict[str, Any]] | None:
    """Any message list (parts, OpenAI, Anthropic, one message, a bare string) as parts."""
    value = _parse_json(value)
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


def _normalise_system(value: Any) -> Any:
    value = _parse_json(value)
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
    body = _parse_json(body)
    if not isinstance(body, Mapping):
        body = {"content": body} if body is not None else {}
    if name == sc.GEN_AI_CHOICE:
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
    role = sc.MESSAGE_EVENTS.get(name)
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
        sc.GEN_AI_INPUT_MESSAGES in body or sc.GEN_AI_OUTPUT_MESSAGES in body
    ):
        source = body
    if sc.GEN_AI_INPUT_MESSAGES in source or sc.GEN_AI_OUTPUT_MESSAGES in source:
        inp = _normalise_messages(source.get(sc.GEN_AI_INPUT_MESSAGES))
        outp = _normalise_messages(source.get(sc.GEN_AI_OUTPUT_MESSAGES), "assistant")
        if inp is not None:
            out["input"] = inp
        if outp is not None:
            out["output"] = outp
        if sc.GEN_AI_SYSTEM_INSTRUCTIONS in source:
            out["system"] = _normalise_system(source[sc.GEN_AI_SYSTEM_INSTRUCTIONS])
        return out
    if name in sc.MESSAGE_EVENTS or name == sc.GEN_AI_CHOICE:
        if body is None:
            # The older span-event form keeps the message in the attributes.
            body = {k: v for k, v in attrs.items() if not k.startswith("gen_ai.")}
            if "content" in body or "tool_calls" in body or "message" in body:
                for key in ("tool_calls", "message"):
                    if isinstance(body.get(key), str):
                        body[key] = _parse_json(body[key])
            else:
                body = {}
        got = _message_from_legacy(name, body)
        if got is not None:
            out[got[0]] = [got[1]]
    return out


def _flattened_messages(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]] | None:
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


_OPENLLMETRY_KEY = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")


def _openllmetry_messages(attrs: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
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
        parsed = _parse_json(content)
        if isinstance(parsed, list):
            return parsed
    return content


def _text_of(messages: Any) -> str | None:
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


# --- span -> events --------------------------------------------------------------------------


def _span_attrs(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as a plain dict (a copy).

    The SDK gives a proxy of its ``BoundedAttributes``, slow to read key by key; the proxy's
    ``copy()`` is the underlying dict's copy, made in C. Anything else is copied key by key.
    """
    raw = span.attributes
    if not raw:
        return {}
    copy = getattr(raw, "copy", None)
    if copy is not None:
        try:
            out = copy()
        except Exception:  # a mapping without a working copy(): copy it key by key below
            out = None
        if type(out) is dict:
            return out
    return dict(raw)


def _hex_trace(value: int) -> str:
    return format(value, "032x")


def _hex_span(value: int) -> str:
    return format(value, "016x")


_POINTERS: dict[tuple[str, ...], str] = {}
_MISSING: Any = object()


def _pointer(path: tuple[str, ...]) -> str:
    """The JSON pointer of ``path`` (the common ones are built once)."""
    pointer = _POINTERS.get(path)
    if pointer is None:
        pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
        if len(_POINTERS) < 1024:
            _POINTERS[path] = pointer
    return pointer


class _Builder:
    """Moves attributes into line fields, keeping track of what moved where."""

    def __init__(self, attrs: Mapping[str, Any], main: dict[str, Any]) -> None:
        self.attrs = dict(attrs)
        self.moved: dict[str, Any] = {}
        self.main = main
        self.lines: dict[str, dict[str, Any]] = {}

    def _slot(self, line: str | None, path: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
        target = self.main if line is None else self.lines[line]
        for key in path[:-1]:
            nxt = target.setdefault(key, {})
            if not isinstance(nxt, dict):
                return None
            target = nxt
        return target, path[-1]

    def _where(self, path: tuple[str, ...], codec: str, line: str | None) -> Any:
        pointer = _pointer(path)
        if line is None and codec == "":
            return pointer
        return [pointer, codec] if line is None else [pointer, codec, line]

    def move(self, key: str, path: tuple[str, ...], line: str | None = None) -> Any:
        """Put attribute ``key`` at ``path`` (when its value is exact there); return it."""
        attrs = self.attrs
        value = attrs.get(key, _MISSING)
        if value is _MISSING:
            return None
        t = type(value)
        if t is float:
            if not math.isfinite(value):
                return None
        elif t is not str and t is not int and t is not bool and not _exact_scalar(value):
            return None
        if line is None and len(path) == 1:
            target = self.main
            field = path[0]
        else:
            slot = self._slot(line, path)
            if slot is None:
                return None
            target, field = slot
        if field in target:
            old = target[field]
            if type(old) is not type(value) or old != value:
                return None
        else:
            target[field] = value
        del attrs[key]
        pointer = _pointer(path)
        self.moved[key] = pointer if line is None else [pointer, "", line]
        return value

    def move_json(
        self,
        key: str,
        path: tuple[str, ...],
        normalise: Any,
        line: str | None = None,
    ) -> bool:
        """Put the parsed, normalised JSON of string attribute ``key`` at ``path``.

        Moves the attribute when the normalised value is the parsed value and re-encodes to
        the exact string; otherwise the field holds the normalised value and the raw string
        stays in ``attrs``. Returns whether the field was set.
        """
        raw = self.attrs.get(key)
        if not isinstance(raw, str):
            return False
        try:
            parsed = _loads(raw)
        except ValueError:
            return False
        # Already in the parts form (the common case): nothing to normalise.
        value = parsed if _is_parts_list(parsed) else normalise(parsed)
        if value is None:
            return False
        slot = self._slot(line, path)
        if slot is None or slot[1] in slot[0]:
            return False
        slot[0][slot[1]] = value
        if value is parsed or value == parsed:
            # allow_nan=False in the check: a NaN or Infinity cannot be held exactly.
            codec = _exact_json_style(raw, parsed)
            if codec is not None:
                del self.attrs[key]
                self.moved[key] = self._where(path, codec, line)
        return True

    def move_raw_or_json(self, key: str, path: tuple[str, ...], line: str | None = None) -> bool:
        """A value that is JSON text or plain text: stored parsed when exact, else as is."""
        raw = self.attrs.get(key)
        if not isinstance(raw, str):
            return bool(raw is not None and self.move(key, path, line) is not None)
        parsed = _parse_json(raw)
        if parsed is not raw and not isinstance(parsed, (int, float, bool)) and parsed is not None:
            codec = _exact_json_style(raw, parsed)
            if codec is not None:
                slot = self._slot(line, path)
                if slot is None or slot[1] in slot[0]:
                    return False
                slot[0][slot[1]] = parsed
                del self.attrs[key]
                self.moved[key] = self._where(path, codec, line)
                return True
        return self.move(key, path, line) is not None


def _first(*values: Any) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


#: Usage attributes, current and deprecated, and the usage field each one fills.
_USAGE_KEYS = (
    (sc.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
    (sc.GEN_AI_USAGE_PROMPT_TOKENS, "input_tokens"),
    (sc.LLM_TOKEN_COUNT_PROMPT, "input_tokens"),
    (sc.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"),
    (sc.GEN_AI_USAGE_COMPLETION_TOKENS, "output_tokens"),
    (sc.LLM_TOKEN_COUNT_COMPLETION, "output_tokens"),
    (sc.GEN_AI_USAGE_TOTAL_TOKENS, "total_tokens"),
    (sc.LLM_TOKEN_COUNT_TOTAL, "total_tokens"),
    (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
    (sc.LLM_TOKEN_COUNT_CACHE_READ, "cache_read_input_tokens"),
    (sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "cache_creation_input_tokens"),
    (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, "cache_creation_input_tokens"),
    (sc.LLM_TOKEN_COUNT_CACHE_WRITE, "cache_creation_input_tokens"),
    (sc.GEN_AI_USAGE_REASONING_TOKENS, "reasoning_tokens"),
    (sc.LLM_TOKEN_COUNT_REASONING, "reasoning_tokens"),
)


def _fill_llm(b: _Builder, span: ReadableSpan, op: str, attrs: Mapping[str, Any]) -> None:
    """Fields of an ``llm_call`` (also used, in part, by ``embeddings``)."""
    ev = b.main
    if b.move(sc.GEN_AI_OPERATION_NAME, ("operation",)) is None:
        ev["operation"] = op
    # model: the request model, else the response model (OpenInference: llm.model_name)
    b.move(sc.GEN_AI_REQUEST_MODEL, ("model",))
    b.move(sc.GEN_AI_RESPONSE_MODEL, ("response_model",))
    if "model" not in ev:
        b.move(sc.LLM_MODEL_NAME, ("model",))
    if "model" not in ev and "response_model" in ev:
        ev["model"] = ev["response_model"]
    for key in (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM, sc.LLM_PROVIDER, sc.LLM_SYSTEM):
        b.move(key, ("provider",))
    b.move(sc.GEN_AI_RESPONSE_ID, ("response_id",))
    # usage, current names written, deprecated ones read
    for key, name in _USAGE_KEYS:
        value = b.attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            b.move(key, ("usage", name))
    if op not in sc.LLM_OPERATIONS:
        return
    # finish reason: the first of the list, else Anthropic's stop reason, else OpenInference's
    reasons = attrs.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if isinstance(reasons, (tuple, list)) and reasons and isinstance(reasons[0], str):
        ev["finish_reason"] = reasons[0]
    else:
        b.move(sc.ANTHROPIC_STOP_REASON, ("finish_reason",))
        b.move(sc.LLM_FINISH_REASON, ("finish_reason",))
    # request parameters
    for key in list(b.attrs):
        if key.startswith(sc.GEN_AI_REQUEST_PREFIX) and key != sc.GEN_AI_REQUEST_MODEL:
            b.move(key, ("request", key[len(sc.GEN_AI_REQUEST_PREFIX) :]))
    # content: current attributes, then OpenInference, OpenLLMetry, span events
    b.move_json(sc.GEN_AI_SYSTEM_INSTRUCTIONS, ("system",), _normalise_system)
    b.move_json(sc.GEN_AI_INPUT_MESSAGES, ("input",), _normalise_messages)
    b.move_json(
        sc.GEN_AI_OUTPUT_MESSAGES, ("output",), lambda v: _normalise_messages(v, "assistant")
    )
    if "input" not in ev:
        flat = _flattened_messages(attrs, sc.LLM_INPUT_MESSAGES)
        if flat is not None:
            ev["input"] = flat
    if "output" not in ev:
        flat = _flattened_messages(attrs, sc.LLM_OUTPUT_MESSAGES)
        if flat is not None:
            ev["output"] = flat
    if "input" not in ev or "output" not in ev:
        for field, messages in _openllmetry_messages(attrs).items():
            ev.setdefault(field, messages)
    if "input" not in ev or "output" not in ev:
        got: dict[str, list[Any]] = {}
        for event in span.events:
            content = messages_from_record(event.name, event.attributes or {}, None)
            for field, value in content.items():
                if field == "system":
                    ev.setdefault("system", value)
                else:
                    got.setdefault(field, []).extend(value)
        for field, messages in got.items():
            ev.setdefault(field, messages)
    if "finish_reason" not in ev:
        out = ev.get("output")
        if isinstance(out, list) and out and isinstance(out[-1], Mapping):
            reason = out[-1].get("finish_reason")
            if isinstance(reason, str):
                ev["finish_reason"] = reason


def _fill_tool(b: _Builder, attrs: Mapping[str, Any], error: bool) -> None:
    call = b.lines["tool_call"]
    res = b.main
    for key in (sc.GEN_AI_TOOL_NAME, sc.TOOL_NAME):
        b.move(key, ("name",))
    for key in (sc.GEN_AI_TOOL_CALL_ID, sc.TOOL_CALL_ID):
        b.move(key, ("id",))
    if "name" in res:
        call["name"] = res["name"]
    if "id" in res:
        call["id"] = res["id"]
    else:
        call["id"] = res["id"] = None
    moved_args = b.move_raw_or_json(sc.GEN_AI_TOOL_CALL_ARGUMENTS, ("args",), "tool_call")
    if not moved_args and attrs.get(sc.OPENINFERENCE_SPAN_KIND) == "TOOL":
        b.move_raw_or_json(sc.INPUT_VALUE, ("args",), "tool_call")
    for key in (sc.GEN_AI_TOOL_CALL_RESULT, sc.ANTHROPIC_TOOL_RESULT_CONTENT):
        if b.move_raw_or_json(key, ("output",)):
            break
    else:
        if attrs.get(sc.OPENINFERENCE_SPAN_KIND) == "TOOL":
            b.move_raw_or_json(sc.OUTPUT_VALUE, ("output",))
    if error:
        res["is_error"] = True


def _fill_agent(b: _Builder, attrs: Mapping[str, Any]) -> None:
    first = b.lines["input"]
    for key in (sc.GEN_AI_AGENT_NAME, sc.AGENT_NAME):
        b.move(key, ("agent",), "input")
    b.move_json(sc.GEN_AI_SYSTEM_INSTRUCTIONS, ("system",), _normalise_system, "input")
    b.move_json(sc.GEN_AI_INPUT_MESSAGES, ("messages",), _normalise_messages, "input")
    b.move_json(
        sc.GEN_AI_OUTPUT_MESSAGES, ("output",), lambda v: _normalise_messages(v, "assistant")
    )
    if "messages" not in first and isinstance(attrs.get(sc.INPUT_VALUE), str):
        first["messages"] = _normalise_messages(attrs[sc.INPUT_VALUE])
    text = _text_of(b.main.get("output"))
    if text is None and isinstance(attrs.get(sc.OUTPUT_VALUE), str):
        b.move(sc.OUTPUT_VALUE, ("text",))
    else:
        b.main["text"] = text


def _status(span: ReadableSpan) -> dict[str, Any] | None:
    code = span.status.status_code
    if code is StatusCode.UNSET:
        return None
    out: dict[str, Any] = {"code": code.name}
    if span.status.description is not None:
        out["description"] = span.status.description
    return out


def _otel_block(
    span: ReadableSpan, b: _Builder, resource_ref: str | None, events: Sequence[Event]
) -> dict[str, Any]:
    otel: dict[str, Any] = {
        "name": span.name,
        "kind": _KIND_NAMES[span.kind],
        "ns": [span.start_time, span.end_time],
    }
    status = _status(span)
    if status is not None:
        otel["status"] = status
    if b.attrs:
        otel["attrs"] = encode_attrs(b.attrs)
    if b.moved:
        otel["moved"] = b.moved
    if events:
        otel["events"] = [_event_json(e.name, e.timestamp, e.attributes) for e in events]
    links = span.links
    if links:
        otel["links"] = [_link_json(link) for link in links]
    scope = span.instrumentation_scope
    if scope is not None:
        s: dict[str, Any] = {"name": scope.name}
        if scope.version is not None:
            s["version"] = scope.version
        if scope.schema_url is not None:
            s["schema_url"] = scope.schema_url
        if scope.attributes:
            s["attrs"] = encode_attrs(scope.attributes)
        otel["scope"] = s
    if resource_ref is not None:
        otel["resource"] = resource_ref
    ctx = span.context
    if ctx is not None:
        if int(ctx.trace_flags) != 1:
            otel["flags"] = int(ctx.trace_flags)
        if ctx.trace_state:
            otel["trace_state"] = ctx.trace_state.to_header()
    if span.parent is not None and span.parent.is_remote:
        otel["parent_remote"] = True
    d_attrs, d_events, d_links = span.dropped_attributes, span.dropped_events, span.dropped_links
    if d_attrs or d_events or d_links:
        dropped = {"attrs": d_attrs, "events": d_events, "links": d_links}
        otel["dropped"] = {k: v for k, v in dropped.items() if v}
    return otel


def _event_json(name: str, ns: int | None, attrs: Attributes) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "ns": ns}
    if attrs:
        out["attrs"] = encode_attrs(attrs)
    return out


def _link_json(link: Link) -> dict[str, Any]:
    ctx = link.context
    out: dict[str, Any] = {"trace_id": _hex_trace(ctx.trace_id), "span_id": _hex_span(ctx.span_id)}
    if link.attributes:
        out["attrs"] = encode_attrs(link.attributes)
    if ctx.trace_state:
        out["trace_state"] = ctx.trace_state.to_header()
    if int(ctx.trace_flags) != 0:
        out["flags"] = int(ctx.trace_flags)
    if ctx.is_remote:
        out["remote"] = True
    return out


def _errors(
    span: ReadableSpan, base: dict[str, Any], events: Sequence[Event]
) -> list[dict[str, Any]]:
    out = []
    for event in events:
        if event.name != "exception":
            continue
        attrs = event.attributes or {}
        line = dict(base)
        line["ts"] = (event.timestamp or span.end_time or 0) / 1e9
        line["kind"] = "error"
        line["type"] = str(attrs.get("exception.type", "Exception"))
        line["message"] = str(attrs["exception.message"]) if "exception.message" in attrs else None
        if "exception.stacktrace" in attrs:
            line["traceback"] = str(attrs["exception.stacktrace"])
        out.append(line)
    if not out and span.status.status_code is StatusCode.ERROR:
        line = dict(base)
        line["kind"] = "error"
        error_type = (span.attributes or {}).get(sc.ERROR_TYPE)
        line["type"] = str(error_type) if error_type is not None else "Error"
        line["message"] = span.status.description
        out.append(line)
    return out


def span_to_events(span: ReadableSpan, *, resource_ref: str | None = None) -> list[dict[str, Any]]:
    """The events of one span, in file order, their ``seq`` None until :func:`number_events`
    numbers them (the exporter does, per run).

    The line that carries ``otel`` is the span's step; ``error`` lines (derived from the
    status or ``exception`` events) come last, carry the same ``span_id`` and no ``otel``, and
    their ``step`` is filled by :func:`number_events`.
    """
    ctx = span.context
    trace_id = _hex_trace(ctx.trace_id) if ctx is not None else "0" * 32
    # "seq" holds its place (after "run", as on the recorder's lines) until number_events.
    base: dict[str, Any] = {"ts": (span.end_time or 0) / 1e9, "run": trace_id, "seq": None}
    base["kind"] = "span"
    base["trace_id"] = trace_id
    base["span_id"] = _hex_span(ctx.span_id) if ctx is not None else "0" * 16
    if span.parent is not None:
        base["parent_id"] = _hex_span(span.parent.span_id)
    start = (span.start_time or 0) / 1e9
    attrs = _span_attrs(span)
    op = operation_of(attrs)
    error = span.status.status_code is StatusCode.ERROR
    main = dict(base)
    main["start"] = start
    b = _Builder(attrs, main)
    lines: list[dict[str, Any]] = []
    if op in sc.LLM_OPERATIONS:
        main["kind"] = "llm_call"
        _fill_llm(b, span, op, attrs)
    elif op == "execute_tool":
        first = dict(base, ts=start, kind="tool_call")
        b.lines["tool_call"] = first
        main["kind"] = "tool_result"
        _fill_tool(b, attrs, error)
        lines.append(first)
    elif op == "invoke_agent":
        first = dict(base, ts=start, kind="input")
        b.lines["input"] = first
        main["kind"] = "final"
        _fill_agent(b, attrs)
        lines.append(first)
    elif op == "embeddings":
        main["kind"] = "embeddings"
        _fill_llm(b, span, op, attrs)
    elif op == "retrieval":
        main["kind"] = "retrieval"
        for key in ("gen_ai.retrieval.query.text", sc.INPUT_VALUE):
            if b.move(key, ("query",)) is not None:
                break
    else:
        main["name"] = span.name
    events = span.events
    main["otel"] = _otel_block(span, b, resource_ref, events)
    lines.append(main)
    lines.extend(_errors(span, base, events))
    return lines


def number_events(events: list[dict[str, Any]], next_seq: Any) -> None:
    """Give each step of one span its ``seq`` (``next_seq()`` per line) and point the
    span's ``error`` lines at the span's step."""
    step = None
    for event in events:
        event["seq"] = seq = next_seq()
        if "otel" in event:
            step = seq
        elif event["kind"] == "error" and step is not None:
            event["step"] = step


# --- events -> span --------------------------------------------------------------------------


def _resolve(line: Mapping[str, Any], pointer: str) -> Any:
    target: Any = line
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        target = target[int(key)] if isinstance(target, list) else target[key]
    return target


def _span_context(
    trace_id: str, span_id: str, flags: int, trace_state: str | None, remote: bool
) -> SpanContext:
    return SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=remote,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState.from_header([trace_state]) if trace_state else TraceState(),
    )


def _bounded(items: list[Any], dropped: int) -> Any:
    if not dropped:
        return items
    bl: BoundedList[Any] = BoundedList.from_seq(None, items)
    bl.dropped = dropped
    return bl


def events_to_span(
    lines: Iterable[Mapping[str, Any]],
    resources: Mapping[str, Resource] | None = None,
) -> ReadableSpan:
    """Rebuild the span that :func:`span_to_events` turned into ``lines`` (all the lines of
    one span, any order; ``error``, ``log`` and ``blob_ref`` lines are ignored).

    ``resources`` maps ``resource`` line ids to resources (:func:`resource_from_event`).
    Raises ValueError when no line carries ``otel``.
    """
    by_kind: dict[str, Mapping[str, Any]] = {}
    main: Mapping[str, Any] | None = None
    for line in lines:
        if "otel" in line and isinstance(line["otel"], Mapping):
            main = line
        elif isinstance(line.get("kind"), str):
            by_kind.setdefault(line["kind"], line)
    if main is None:
        raise ValueError("no line of this span carries 'otel'")
    otel: Mapping[str, Any] = main["otel"]
    attrs = decode_attrs(otel.get("attrs"))
    for key, where in (otel.get("moved") or {}).items():
        if isinstance(where, str):
            pointer, codec, kind = where, "", None
        else:
            pointer, codec = where[0], where[1]
            kind = where[2] if len(where) > 2 else None
        source = main if kind is None else by_kind.get(kind)
        if source is None:
            raise ValueError(f"attribute {key!r} lives on a {kind!r} line that is missing")
        value = _resolve(source, pointer)
        if codec == "json/o":
            # Checked with orjson at export; orjson again here (the stdlib compact form is
            # the same text but for rare float spellings, used only without orjson).
            value = _codec.dumps(value).decode("utf-8")
        elif codec:
            value = json.dumps(value, **JSON_STYLES[codec])
        attrs[key] = value
    trace_id = main["trace_id"]
    flags = int(otel.get("flags", 1))
    context = _span_context(trace_id, main["span_id"], flags, otel.get("trace_state"), False)
    parent = None
    if main.get("parent_id"):
        parent = _span_context(
            trace_id, main["parent_id"], flags, None, bool(otel.get("parent_remote"))
        )
    status_json = otel.get("status")
    status = (
        Status(StatusCode[status_json["code"]], status_json.get("description"))
        if status_json
        else Status(StatusCode.UNSET)
    )
    events = [
        Event(e["name"], decode_attrs(e.get("attrs")), timestamp=e.get("ns"))
        for e in otel.get("events") or ()
    ]
    links = []
    for link in otel.get("links") or ():
        lctx = _span_context(
            link["trace_id"],
            link["span_id"],
            int(link.get("flags", 0)),
            link.get("trace_state"),
            bool(link.get("remote")),
        )
        links.append(Link(lctx, decode_attrs(link.get("attrs"))))
    scope_json = otel.get("scope")
    scope = (
        InstrumentationScope(
            scope_json["name"],
            scope_json.get("version"),
            scope_json.get("schema_url"),
            decode_attrs(scope_json.get("attrs")),
        )
        if scope_json
        else None
    )
    resource = None
    rid = otel.get("resource")
    if rid is not None and resources is not None:
        resource = resources.get(rid)
    dropped = otel.get("dropped") or {}
    span_attrs: Any = attrs
    if dropped.get("attrs"):
        from opentelemetry.attributes import BoundedAttributes

        span_attrs = BoundedAttributes(attributes=attrs, immutable=False)
        span_attrs.dropped = dropped["attrs"]
    start_ns, end_ns = otel["ns"]
    return ReadableSpan(
        name=otel["name"],
        context=context,
        parent=parent,
        resource=resource if resource is not None else Resource({}),
        attributes=span_attrs,
        events=_bounded(events, dropped.get("events", 0)),
        links=_bounded(links, dropped.get("links", 0)),
        kind=SpanKind[otel.get("kind", "INTERNAL")],
        status=status,
        start_time=start_ns,
        end_time=end_ns,
        instrumentation_scope=scope,
    )

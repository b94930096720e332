"""The event schema, version 1: kinds, keys, and validation of one event.

Every line of a trace file is one event, a JSON object. Only ``ts`` (float Unix seconds),
``run`` (string) and ``kind`` (string) are required, so a line written by the article's
twelve-line recorder is a valid event. docs/schema.md documents every kind and key; the same
contract ships as ``event.schema.json`` in this package. Standard library only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypedDict, TypeGuard

__all__ = [
    "KINDS",
    "META_KINDS",
    "REQUIRED_KEYS",
    "SCHEMA_VERSION",
    "Event",
    "Usage",
    "check_required",
    "json_schema",
    "usage_of",
    "validate_event",
]

SCHEMA_VERSION = 1

REQUIRED_KEYS = ("ts", "run", "kind")

#: Every kind the project writes, with what it records. Other kinds are valid (users may
#: record their own); the tools pass them through as they are.
KINDS: dict[str, str] = {
    "input": "the run's initial input: system prompt and first messages (replay starts here)",
    "llm_call": "one model call: model, provider, usage, output (and input messages when known)",
    "tool_call": "the model asked for a tool: name, call id, arguments",
    "tool_result": "a tool's result: call id, output",
    "error": "an exception or error status: type, message, the step it belongs to",
    "final": "the run's final answer",
    "blob_ref": "a capped value's full content lives in the blob store under this sha256",
    "embeddings": "an embeddings call (model, provider, usage)",
    "retrieval": "a retrieval step (query, documents)",
    "span": "an OpenTelemetry span that is not GenAI, every attribute kept",
    "log": "an OpenTelemetry log record not joined onto its step when written (readers join it)",
    "resource": "an OpenTelemetry resource, written once and referenced by id from otel.resource",
}

#: Kinds that describe other lines rather than being steps of the run.
META_KINDS = frozenset({"blob_ref", "resource"})


class Usage(TypedDict, total=False):
    """Token usage of a model call, in the current GenAI names."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    reasoning_tokens: int


class Event(TypedDict, total=False):
    """The keys every kind may carry (see docs/schema.md for the per-kind keys)."""

    ts: float
    run: str
    kind: str
    seq: int
    trace_id: str
    span_id: str
    parent_id: str
    start: float
    capped: dict[str, dict[str, Any]]
    otel: dict[str, Any]


_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def check_required(obj: Any) -> str | None:
    """The first reason ``obj`` is not an event at all (not an object, a required key missing
    or of the wrong type), or None. This is what every reader checks on every line."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {_type_name(obj)}"
    ts = obj.get("ts")
    if ts is None and "ts" not in obj:
        return "missing required key 'ts'"
    if not _is_number(ts):
        return f"'ts' must be a number of seconds, got {_type_name(ts)}"
    run = obj.get("run")
    if not isinstance(run, str) or not run:
        if "run" not in obj:
            return "missing required key 'run'"
        return f"'run' must be a non-empty string, got {_type_name(run)}"
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        if "kind" not in obj:
            return "missing required key 'kind'"
        return f"'kind' must be a non-empty string, got {_type_name(kind)}"
    return None


# key -> (check, what it must be); applied to every kind that has the key.
_COMMON: dict[str, tuple[Any, str]] = {
    "seq": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    "trace_id": (lambda v: isinstance(v, str) and _HEX32.fullmatch(v), "32 lowercase hex"),
    "span_id": (lambda v: isinstance(v, str) and _HEX16.fullmatch(v), "16 lowercase hex"),
    "parent_id": (lambda v: isinstance(v, str) and _HEX16.fullmatch(v), "16 lowercase hex"),
    "start": (_is_number, "a number of seconds"),
    "capped": (lambda v: isinstance(v, dict), "an object"),
    "otel": (lambda v: isinstance(v, dict), "an object"),
}

_str = (lambda v: isinstance(v, str), "a string")
_str_or_null = (lambda v: v is None or isinstance(v, str), "a string or null")
_list = (lambda v: isinstance(v, list), "an array")
_obj = (lambda v: isinstance(v, dict), "an object")
_obj_or_null = (lambda v: v is None or isinstance(v, dict), "an object or null")
_int = (lambda v: _is_int(v) and v >= 0, "a whole number >= 0")
_bool = (lambda v: isinstance(v, bool), "true or false")
_system = (
    lambda v: v is None or isinstance(v, (str, list)),
    "a string, an array of parts, or null",
)

# kind -> key -> (check, what it must be)
_PER_KIND: dict[str, dict[str, tuple[Any, str]]] = {
    "input": {"messages": _list, "system": _system},
    "llm_call": {
        "model": _str,
        "response_model": _str,
        "provider": _str,
        "operation": _str,
        "input": _list,
        "output": _list,
        "system": _system,
        "usage": _obj_or_null,
        "finish_reason": _str_or_null,
        "response_id": _str_or_null,
    },
    "tool_call": {"name": _str, "id": _str_or_null},
    "tool_result": {"id": _str_or_null, "name": _str, "is_error": _bool},
    "error": {"type": _str, "message": _str_or_null, "step": _int},
    "blob_ref": {
        "sha256": (lambda v: isinstance(v, str) and _HEX64.fullmatch(v), "64 lowercase hex"),
        "size": _int,
        "of": _int,
        "field": (
            lambda v: isinstance(v, str) and (v == "" or v.startswith("/")),
            "a JSON pointer",
        ),
    },
    "span": {"name": _str},
    "log": {"event": _str_or_null},
    "resource": {"id": _str, "attrs": _obj},
}

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
)


def validate_event(obj: Any) -> list[str]:
    """Every reason ``obj`` is not a valid v1 event; an empty list when it is.

    Required keys are checked first; then the known keys of every kind, and of its own kind,
    are type-checked when present. Unknown keys and unknown kinds are valid.
    """
    first = check_required(obj)
    if first is not None:
        return [first]
    problems: list[str] = []
    for key, (check, what) in _COMMON.items():
        if key in obj and not check(obj[key]):
            problems.append(f"'{key}' must be {what}, got {_short(obj[key])}")
    for key, (check, what) in _PER_KIND.get(obj["kind"], {}).items():
        if key in obj and not check(obj[key]):
            problems.append(f"{obj['kind']}: '{key}' must be {what}, got {_short(obj[key])}")
    usage = obj.get("usage")
    if isinstance(usage, dict):
        for key in _USAGE_KEYS:
            if (
                key in usage
                and usage[key] is not None
                and not (_is_int(usage[key]) and usage[key] >= 0)
            ):
                problems.append(
                    f"usage.{key} must be a whole number >= 0, got {_short(usage[key])}"
                )
    capped = obj.get("capped")
    if isinstance(capped, dict):
        for pointer, info in capped.items():
            if not pointer.startswith("/") or not isinstance(info, dict):
                problems.append(f"capped: {pointer!r} must be a JSON pointer to an object")
            elif "sha256" in info and not (
                isinstance(info["sha256"], str) and _HEX64.fullmatch(info["sha256"])
            ):
                problems.append(f"capped {pointer}: 'sha256' must be 64 lowercase hex")
    return problems


def _short(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


def usage_of(event: Mapping[str, Any]) -> Usage:
    """Token usage of an event in the current names, whatever names it was recorded with
    (``prompt_tokens``/``completion_tokens`` from the OpenAI API, ``input_tokens``/
    ``output_tokens`` from Anthropic and GenAI, Anthropic's ``cache_*`` keys)."""
    raw = event.get("usage")
    if not isinstance(raw, Mapping):
        return {}
    out: Usage = {}

    def num(*keys: str) -> int | None:
        for key in keys:
            v = raw.get(key)
            if _is_int(v):
                return int(v)
        return None

    pairs = (
        ("input_tokens", ("input_tokens", "prompt_tokens")),
        ("output_tokens", ("output_tokens", "completion_tokens")),
        ("total_tokens", ("total_tokens",)),
        ("cache_read_input_tokens", ("cache_read_input_tokens", "cache_read_tokens")),
        ("cache_creation_input_tokens", ("cache_creation_input_tokens", "cache_write_tokens")),
        ("reasoning_tokens", ("reasoning_tokens",)),
    )
    for name, keys in pairs:
        v = num(*keys)
        if v is not None:
            out[name] = v  # type: ignore[literal-required]
    if "reasoning_tokens" not in out:
        details = raw.get("completion_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, Mapping) else None
        if _is_int(reasoning):
            out["reasoning_tokens"] = int(reasoning)
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one v1 event, as shipped in the package."""
    from importlib import resources

    text = resources.files("otel_jsonl").joinpath("event.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result

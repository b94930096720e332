"""The model call the recorder writes, to span attributes in one pass: what
:func:`~otel_jsonl.genai.attributes.llm_attributes` gives of an ``llm_call`` line with one
output message in the parts form, plain usage and no input, system or request, without its
conversions of other forms (the converter's quick path; anything else takes the general one).
Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import names as n
from .attributes import _plain_parts, json_text
from .responses_gemini_spans import finish_reason as conventional_finish
from .responses_gemini_spans import provider_name

__all__ = ["plain_llm_attributes"]

_USAGE_KEYS = frozenset({"input_tokens", "output_tokens", "total_tokens"})
_STRINGS = (
    ("response_model", n.GEN_AI_RESPONSE_MODEL),
    ("provider", n.GEN_AI_PROVIDER_NAME),
    ("response_id", n.GEN_AI_RESPONSE_ID),
)


def plain_llm_attributes(ev: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``llm_attributes(ev)`` when ``ev`` is the recorder's usual model call, else None."""
    get = ev.get
    output = get("output")
    usage = get("usage")
    if (
        type(output) is not list
        or len(output) != 1
        or get("request") is not None
        or get("input") is not None
        or get("system")
        or not (usage is None or (type(usage) is dict and usage.keys() <= _USAGE_KEYS))
    ):
        return None
    message = output[0]
    if not _plain_parts(message) or "finish_reason" not in message:
        return None
    operation = get("operation")
    operation = operation if isinstance(operation, str) and operation else "chat"
    attrs: dict[str, Any] = {n.GEN_AI_OPERATION_NAME: operation}
    model = get("model")
    name = operation
    if isinstance(model, str) and model:
        attrs[n.GEN_AI_REQUEST_MODEL] = model
        name = f"{operation} {model}"
    for key, attr in _STRINGS:
        value = get(key)
        if isinstance(value, str) and value:
            attrs[attr] = value
    if usage:
        for key, attr in (
            ("input_tokens", n.GEN_AI_USAGE_INPUT_TOKENS),
            ("output_tokens", n.GEN_AI_USAGE_OUTPUT_TOKENS),
        ):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                attrs[attr] = int(value)
    # The general path's merged copy of the output is this one message with its parts: the
    # finish reasons read it alike.
    finish = conventional_finish(get("finish_reason"), output)
    if n.GEN_AI_PROVIDER_NAME in attrs:
        attrs[n.GEN_AI_PROVIDER_NAME] = provider_name(attrs[n.GEN_AI_PROVIDER_NAME])
    if isinstance(finish, str) and finish:
        attrs[n.GEN_AI_RESPONSE_FINISH_REASONS] = [finish]
    own = conventional_finish(message["finish_reason"], output)
    attrs[n.GEN_AI_OUTPUT_MESSAGES] = json_text([{**message, "finish_reason": own}])
    return name, attrs

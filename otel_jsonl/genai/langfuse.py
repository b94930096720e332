"""The attributes Langfuse reads from an OTLP span, made from a span's GenAI attributes, so a
run shows up there as a trace with generations and tool calls. Pure functions.

Langfuse's OTLP endpoint maps ``langfuse.*`` attributes first and GenAI ones second (its
"property mapping"): the observation type (``generation`` for a model call, ``tool``,
``agent``), its input and output, the model, the model parameters, the usage, the level of an
error; on the root span the trace's name, input and output, session, user and tags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from . import names as n
from .attributes import json_text
from .spans import operation_of

__all__ = ["langfuse_attributes"]

_TYPES = {"execute_tool": "tool", "invoke_agent": "agent", "embeddings": "embedding"}
_RETRIEVAL = "retrieval"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(attrs: Mapping[str, Any]) -> dict[str, int]:
    tin = _int(attrs.get(n.GEN_AI_USAGE_INPUT_TOKENS))
    tout = _int(attrs.get(n.GEN_AI_USAGE_OUTPUT_TOKENS))
    out: dict[str, int] = {}
    if tin is not None:
        out["input"] = tin
    if tout is not None:
        out["output"] = tout
    if out:
        out["total"] = (tin or 0) + (tout or 0)
    return out


def _parameters(attrs: Mapping[str, Any]) -> dict[str, Any]:
    prefix = n.GEN_AI_REQUEST_PREFIX
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key.startswith(prefix) and key != n.GEN_AI_REQUEST_MODEL:
            out[key[len(prefix) :]] = list(value) if isinstance(value, tuple) else value
    return out


def _io(attrs: Mapping[str, Any], op: str | None) -> tuple[Any, Any]:
    if op == "execute_tool":
        return attrs.get(n.GEN_AI_TOOL_CALL_ARGUMENTS), attrs.get(n.GEN_AI_TOOL_CALL_RESULT)
    inp = attrs.get(n.GEN_AI_INPUT_MESSAGES, attrs.get(n.INPUT_VALUE))
    out = attrs.get(n.GEN_AI_OUTPUT_MESSAGES, attrs.get(n.OUTPUT_VALUE))
    system = attrs.get(n.GEN_AI_SYSTEM_INSTRUCTIONS)
    if system is not None and isinstance(inp, str):
        # Langfuse shows one input: put the system instructions first, as a system message.
        try:
            parts = json.loads(system)
            messages = json.loads(inp)
        except ValueError:
            return inp, out
        if isinstance(messages, list):
            inp = json_text([{"role": "system", "parts": parts}, *messages])
    return inp, out


def langfuse_attributes(
    attrs: Mapping[str, Any],
    *,
    root: bool = False,
    name: str = "",
    error: str | None = None,
    run: str | None = None,
    tags: Sequence[str] = (),
    user: str | None = None,
) -> dict[str, Any]:
    """The ``langfuse.*`` attributes to add to a span with GenAI attributes ``attrs`` (none
    that the span already has). ``root`` marks the run's root span, which also names the
    trace (``name``), gives its input and output, its session (``gen_ai.conversation.id``,
    else ``run``), user (``user``, else the span's ``user.id``) and ``tags``. ``error`` is
    the status message of a span with ERROR status."""
    op = operation_of(attrs)
    out: dict[str, Any] = {}
    if op in n.LLM_OPERATIONS:
        out[n.LANGFUSE_OBSERVATION_TYPE] = "generation"
        model = attrs.get(n.GEN_AI_RESPONSE_MODEL) or attrs.get(n.GEN_AI_REQUEST_MODEL)
        if isinstance(model, str):
            out[n.LANGFUSE_OBSERVATION_MODEL] = model
        usage = _usage(attrs)
        if usage:
            out[n.LANGFUSE_OBSERVATION_USAGE] = json_text(usage)
        params = _parameters(attrs)
        if params:
            out[n.LANGFUSE_OBSERVATION_MODEL_PARAMETERS] = json_text(params)
    elif op in _TYPES:
        out[n.LANGFUSE_OBSERVATION_TYPE] = _TYPES[op]
    elif op == _RETRIEVAL:
        out[n.LANGFUSE_OBSERVATION_TYPE] = "retriever"
    inp, outp = _io(attrs, op)
    if inp is not None:
        out[n.LANGFUSE_OBSERVATION_INPUT] = inp if isinstance(inp, str) else json_text(inp)
    if outp is not None:
        out[n.LANGFUSE_OBSERVATION_OUTPUT] = outp if isinstance(outp, str) else json_text(outp)
    if error is not None:
        out[n.LANGFUSE_OBSERVATION_LEVEL] = "ERROR"
        if error:
            out[n.LANGFUSE_OBSERVATION_STATUS_MESSAGE] = error
    if root:
        trace_name = attrs.get(n.GEN_AI_AGENT_NAME) or name
        if trace_name:
            out[n.LANGFUSE_TRACE_NAME] = str(trace_name)
        if n.LANGFUSE_OBSERVATION_INPUT in out:
            out[n.LANGFUSE_TRACE_INPUT] = out[n.LANGFUSE_OBSERVATION_INPUT]
        if n.LANGFUSE_OBSERVATION_OUTPUT in out:
            out[n.LANGFUSE_TRACE_OUTPUT] = out[n.LANGFUSE_OBSERVATION_OUTPUT]
        session = attrs.get(n.GEN_AI_CONVERSATION_ID) or run
        if session:
            out[n.LANGFUSE_SESSION_ID] = str(session)
            out[n.SESSION_ID] = str(session)
        user = user or attrs.get(n.USER_ID)
        if isinstance(user, str) and user:
            out[n.LANGFUSE_USER_ID] = user
        if tags:
            out[n.LANGFUSE_TRACE_TAGS] = tuple(tags)
    return {k: v for k, v in out.items() if k not in attrs}

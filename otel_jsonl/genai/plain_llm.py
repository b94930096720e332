"""The common model-call span in one pass: a span whose attributes are the current GenAI ones
(``gen_ai.operation.name`` of a model call, model, provider, response id, usage, finish
reasons, request parameters, messages as JSON text in the parts form) and names no other
convention the mapping reads.

:func:`fill_plain_llm` fills an ``llm_call`` line exactly as the general path of
:mod:`.spans` does (same fields, same order, same ``otel.moved``), or declines and changes
nothing, leaving the span to the general path. It declines on anything unusual: another
convention's names, values of other types, messages to normalise or repair, Responses
reasoning summaries or lonely tool-call ids, Gemini's ``model`` role, content to look for in
span events. ``tests/test_plain_llm.py`` checks both paths give the same lines on generated
spans. Pure functions (plans are cached by attribute names), no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..record import codec as _codec
from . import names as n
from .content import normalise_system
from .jsontext import exact_json_style, loads

if TYPE_CHECKING:  # pragma: no cover
    from .spans import FieldBuilder

__all__ = ["fill_plain_llm"]

#: Scalar attributes moved to a top-level field, in the order the general path moves them.
_TOP = (
    (n.GEN_AI_OPERATION_NAME, "operation"),
    (n.GEN_AI_REQUEST_MODEL, "model"),
    (n.GEN_AI_RESPONSE_MODEL, "response_model"),
    (n.GEN_AI_PROVIDER_NAME, "provider"),
    (n.GEN_AI_SYSTEM, "provider"),
    (n.GEN_AI_RESPONSE_ID, "response_id"),
)
#: Usage attributes of the current and deprecated GenAI names, in the general path's order.
_USAGE = (
    (n.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
    (n.GEN_AI_USAGE_PROMPT_TOKENS, "input_tokens"),
    (n.GEN_AI_USAGE_TEXT_INPUT_TOKENS, "input_tokens"),
    (n.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"),
    (n.GEN_AI_USAGE_COMPLETION_TOKENS, "output_tokens"),
    (n.GEN_AI_USAGE_TOTAL_TOKENS, "total_tokens"),
    (n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
    (n.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, "cache_creation_input_tokens"),
    (n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "cache_creation_input_tokens"),
    (n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "reasoning_tokens"),
    (n.GEN_AI_USAGE_REASONING_TOKENS, "reasoning_tokens"),
)
_CONTENT = (n.GEN_AI_SYSTEM_INSTRUCTIONS, n.GEN_AI_INPUT_MESSAGES, n.GEN_AI_OUTPUT_MESSAGES)
#: Every attribute this path reads; ``gen_ai.request.*`` parameters besides. Any other
#: attribute is kept as it is by both paths, unless it names another convention
#: (``names.OTHER_CONVENTION_PREFIXES``): then the span takes the general path.
_KNOWN = frozenset(
    [k for k, _ in _TOP] + [k for k, _ in _USAGE] + [*_CONTENT, n.GEN_AI_RESPONSE_FINISH_REASONS]
)
#: Steps of a plan: (attribute, field, JSON pointer of the field).
_Steps = tuple[tuple[str, str, str], ...]


class _Plan(NamedTuple):
    """What a span with given attribute names takes, group by group, in the general path's
    order: the operation and models, then (after the model copy) provider and response id,
    usage counts, whether finish reasons are there, request parameters, messages."""

    models: _Steps
    ids: _Steps
    usage: _Steps
    finish: bool
    request: _Steps
    messages: _Steps
    #: No two attributes fill one field (provider; usage's deprecated names): the moves need
    #: not look for a field already set (:func:`_move`).
    distinct: bool


#: Plans by the span's attribute names in order (spans of one instrumentation share a few).
_PLANS: dict[tuple[str, ...], _Plan | None] = {}
_UNPLANNED: Any = object()
MAX_PLANS = 256


def _pointer(*path: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)


def _plan(keys: tuple[str, ...]) -> _Plan | None:
    """The plan of spans whose attributes are named ``keys`` (in span order); None when a name
    belongs to another convention."""
    present = set(keys)
    requests = []
    for key in keys:
        if key in _KNOWN:
            continue
        if key.startswith(n.OTHER_CONVENTION_PREFIXES):
            return None
        if key.startswith(n.GEN_AI_REQUEST_PREFIX):
            name = key[len(n.GEN_AI_REQUEST_PREFIX) :]
            requests.append((key, name, _pointer("request", name)))
    fields = ("system", "input", "output")
    ids = tuple((k, f, _pointer(f)) for k, f in _TOP[3:] if k in present)
    usage = tuple((k, f, _pointer("usage", f)) for k, f in _USAGE if k in present)
    filled = [f for _, f, _ in ids], [f for _, f, _ in usage]
    return _Plan(
        models=tuple((k, f, _pointer(f)) for k, f in _TOP[:3] if k in present),
        ids=ids,
        usage=usage,
        finish=n.GEN_AI_RESPONSE_FINISH_REASONS in present,
        request=tuple(requests),
        messages=tuple((k, f, "") for k, f in zip(_CONTENT, fields, strict=True) if k in present),
        distinct=all(len(set(group)) == len(group) for group in filled),
    )


def _plain_messages(messages: Any, output: bool) -> bool:
    """Whether ``messages`` is a parts list that the general path keeps as it is: nothing to
    repair (frameworks.repair_parts), no reasoning summary as JSON text, no Gemini ``model``
    role in an output, no tool call the Responses pairing would renumber. One pass, no call
    per part: this runs on every model call."""
    if type(messages) is not list:
        return False
    # The ids of tool calls and of answers, when there are any (str or None: checked).
    calls: set[Any] | None = None
    answers: set[Any] | None = None
    for message in messages:
        if type(message) is not dict:
            return False
        parts = message.get("parts")
        if type(parts) is not list or (output and message.get("role") == "model"):
            return False
        for part in parts:
            if type(part) is not dict:
                continue
            kind = part.get("type")
            if kind == "text":
                content = part.get("content")
                if type(content) is str and content.startswith("ResponseFunctionToolCall("):
                    return False
            elif kind == "tool_call":
                if type(part.get("arguments")) is str:
                    return False
                call_id = part.get("id")
                if call_id is not None and type(call_id) is not str:
                    return False  # the pairing hashes ids: any other type is its business
                if calls is None:
                    calls = set()
                calls.add(call_id)
            elif kind == "tool_call_response":
                if "result" in part and "response" not in part:
                    return False
                call_id = part.get("id")
                if call_id is not None and type(call_id) is not str:
                    return False
                if answers is None:
                    answers = set()
                answers.add(call_id)
            elif kind == "reasoning":
                content = part.get("content")
                if isinstance(content, str) and content.startswith("["):
                    return False
    # The Responses pairing renumbers when a call has no answer and an answer (with an id)
    # has no call: set operations, no generator (every call answered is the common case).
    if calls and answers and not output and not calls <= answers:
        unasked = answers - calls
        unasked.discard(None)
        if unasked:
            return False
    return True


#: orjson (the codec's), or None when the codec does without it: known on first use.
_ORJSON: list[Any] = []


def _orjson() -> Any:
    if not _ORJSON:
        _ORJSON.append(_codec.orjson_module())
    return _ORJSON[0]


def _compact_careful(raw: str, parsed: Any) -> bool:
    """Whether ``raw`` is ``parsed`` as the codec writes it, for a value orjson's ``dumps``
    refuses (nested too deep)."""
    encoded = raw.encode("utf-8")
    line = _codec.dumps_decoded_line(parsed)
    return len(line) == len(encoded) + 1 and line.startswith(encoded)


def _content(b: FieldBuilder, key: str, field: str, raw: Any) -> bool:
    """Set the field of a JSON-text message attribute as ``FieldBuilder.move_json`` does;
    False when the general path must (it normalises, repairs or reads elsewhere)."""
    if type(raw) is not str:
        return False
    # Parsed as jsontext.loads does; ``fast`` when orjson parsed it (then its values are
    # JSON-native, no NaN, no integer over 64 bits: the codec re-encodes them with orjson).
    orjson = _ORJSON[0] if _ORJSON else _orjson()
    fast = orjson is not None
    try:
        parsed = orjson.loads(raw) if fast else loads(raw)
    except ValueError:
        if not fast:
            return False
        fast = False
        try:
            parsed = loads(raw)
        except ValueError:
            return False
    if key == n.GEN_AI_SYSTEM_INSTRUCTIONS:
        if type(parsed) is list and any(
            type(m) is dict and type(m.get("parts")) is list for m in parsed
        ):
            return False  # messages, or parts with parts: the general path repairs them
        value = normalise_system(parsed)
        if value is None:
            return True  # JSON null: no field, the attribute stays
    elif _plain_messages(parsed, key == n.GEN_AI_OUTPUT_MESSAGES):
        value = parsed
    else:
        return False
    b.main[field] = value
    if not fast or type(parsed) is str:
        # Parsed by the standard library (NaN, Infinity), or text normalise_system parses.
        # orjson reads neither NaN nor a number out of a double's range.
        b.native = False
    if value is parsed or value == parsed:
        # exact_json_style's first test, without its wrapper: the compact form as orjson
        # writes it (what openai-v2 and most instrumentations write), with orjson's own
        # dumps (a parsed value is JSON-native: the codec's options change none of its bytes).
        codec: str | None = None
        if fast:
            try:
                if orjson.dumps(parsed) == raw.encode("utf-8"):
                    codec = "json/o"
            except TypeError:  # orjson's JSONEncodeError (nested too deep)
                if _compact_careful(raw, parsed):
                    codec = "json/o"
        if codec is None:
            codec = exact_json_style(raw, parsed)
        if codec is not None:
            del b.attrs[key]
            b.moved[key] = ["/" + field, codec]
    return True


def fill_plain_llm(b: FieldBuilder, op: str, attrs: Mapping[str, Any], has_events: bool) -> bool:
    """Fill ``b`` (a fresh builder of an ``llm_call`` line) as the general path would, in one
    pass; False, with ``b`` as it was, when the span is not a plain one."""
    if attrs.get(n.GEN_AI_OPERATION_NAME) != op or op not in n.LLM_OPERATIONS:
        return False
    keys = tuple(attrs)
    plan = _PLANS.get(keys, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = _plan(keys)
        if len(_PLANS) >= MAX_PLANS:
            _PLANS.clear()
        _PLANS[keys] = plan
    if plan is None:
        return False
    main = b.main
    main_len = len(main)
    # The line holds no NaN or infinite float (the writer need not look for them) unless a
    # message field says otherwise (_content): the scalars moved are finite (_move), the
    # otel block writes the others as objects.
    b.native = True
    distinct = plan.distinct
    if not _move(b, attrs, plan.models, None, distinct):
        return _undo(b, main_len, attrs)
    if "model" not in main and "response_model" in main:
        main["model"] = main["response_model"]
    if not (
        _move(b, attrs, plan.ids, None, distinct) and _move(b, attrs, plan.usage, "usage", distinct)
    ):
        return _undo(b, main_len, attrs)
    if plan.finish:
        reasons = attrs[n.GEN_AI_RESPONSE_FINISH_REASONS]
        if type(reasons) is tuple or type(reasons) is list:
            if reasons and type(reasons[0]) is str:
                main["finish_reason"] = reasons[0]
            elif reasons and isinstance(reasons[0], str):
                return _undo(b, main_len, attrs)  # a str subclass: the general path's
        elif isinstance(reasons, (tuple, list)):
            return _undo(b, main_len, attrs)
    if not _move(b, attrs, plan.request, "request", distinct):
        return _undo(b, main_len, attrs)
    for key, field, _ in plan.messages:
        if not _content(b, key, field, attrs[key]):
            return _undo(b, main_len, attrs)
    if has_events and ("input" not in main or "output" not in main):
        return _undo(b, main_len, attrs)  # both paths look in span events for the messages
    if "finish_reason" not in main:
        out = main.get("output")
        if type(out) is list and out and type(out[-1]) is dict:
            reason = out[-1].get("finish_reason")
            if type(reason) is str:
                main["finish_reason"] = reason
    return True


def _move(
    b: FieldBuilder, attrs: Mapping[str, Any], steps: _Steps, into: str | None, distinct: bool
) -> bool:
    """Move each attribute of ``steps`` to its field of the line (``into`` None) or of its
    ``usage`` / ``request`` object, as ``FieldBuilder.move`` does (usage: integers only);
    False for a value of a type only the general path knows how to treat. ``distinct``: the
    plan's fields are all distinct (``_Plan.distinct``) on a fresh line, so no field can be
    set already and none is looked for."""
    main, left, moved = b.main, b.attrs, b.moved
    target = main if into is None else None
    counts = into == "usage"
    for key, field, pointer in steps:
        value = attrs[key]
        t = type(value)
        if counts:
            if t is not int:
                if t is not bool and isinstance(value, int):
                    return False
                continue
        elif not (t is str or t is int or t is bool or (t is float and math.isfinite(value))):
            if t is tuple or t is float or value is None:
                continue  # stays an attribute
            return False
        if target is None:  # the usage / request object, made at its first value
            assert into is not None
            if distinct:
                target = main[into] = {}
            else:
                target = main.get(into) or main.setdefault(into, {})
        if not distinct and field in target:
            old = target[field]
            if type(old) is not t or old != value:
                continue
        else:
            target[field] = value
        del left[key]
        moved[key] = pointer
    return True


def _undo(b: FieldBuilder, main_len: int, attrs: Mapping[str, Any]) -> bool:
    """Put ``b`` back as it was: its line's first ``main_len`` keys, every attribute, nothing
    moved."""
    for key in list(b.main)[main_len:]:
        del b.main[key]
    b.attrs.clear()
    b.attrs.update(attrs)
    b.moved.clear()
    b.native = False
    return False

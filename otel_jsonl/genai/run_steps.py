"""Steps that need the other spans of their run, for the span exporter: which operation an
agent-like span is (nested agent wrappers with no content add no step; OpenInference's LangChain
root chain is the agent), and, once a span's lines are made, what earlier spans of the run fill
in (tool spans without a call id paired with the model's tool calls by name and order; an
agent's ``input``/``final`` without content taking the run's first model input and last
answer; a model input a bridge recorded stale taken off the line). Shapes in
docs/notes/instrumentations.md; per-span rules in :mod:`.frameworks`.

Derived values are fields only: an attribute taken off a line goes back into ``otel.attrs`` as
the very string it was, so a span still comes back exactly from its lines. No I/O; the memory
is bounded.
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..record import codec as _codec
from . import names as n
from .content import text_of
from .frameworks import has_content, langchain_messages
from .jsontext import JSON_STYLES
from .messages import to_parts

__all__ = ["MAX_PENDING", "MAX_RUNS", "RunSteps"]

#: How many runs (traces) :class:`RunSteps` remembers; the least recently used goes first.
MAX_RUNS = 1024
#: Tool calls waiting for their tool span, per run (a runaway loop cannot grow it further).
MAX_PENDING = 256


# --- across the spans of a run -------------------------------------------------------------------


class _Run:
    __slots__ = ("agent_below", "first_input", "last_output", "llm_calls", "pending", "tools")

    def __init__(self) -> None:
        #: Spans with an agent span below them (it ended first).
        self.agent_below: set[str] = set()
        #: Tool calls the model made, waiting for their tool span: [id, name, arguments].
        self.pending: list[list[Any]] = []
        self.first_input: tuple[Any, Any] | None = None
        self.last_output: Any = None
        self.llm_calls = 0
        self.tools = 0


class RunSteps:
    """What one span's steps need from the other spans of its run (see the module doc).

    Spans arrive as they end: children before their parents, a model call before the tool
    span that runs its call. A run is forgotten when its root span ends (:meth:`end`); the
    memory is bounded besides (:data:`MAX_RUNS` runs, :data:`MAX_PENDING` calls and agent marks
    per run).
    """

    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._max_runs = max_runs

    def _run(self, run: str) -> _Run:
        state = self._runs.get(run)
        if state is None:
            state = self._runs[run] = _Run()
            if len(self._runs) > self._max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run)
        return state

    def operation(
        self,
        run: str,
        span_id: str,
        parent_id: str | None,
        op: str | None,
        attrs: Mapping[str, Any],
    ) -> str | None:
        """The operation to map a span as (``op`` as read from its attributes, or another).

        An agent span with an agent span below it and no content of its own (the SDKs'
        "Agent workflow" wrappers, LangGraph's outer span) is a plain span: the inner one holds
        the run's input and answer. A root OpenInference chain span holding LangChain
        messages, in a run that made model calls, is the agent.
        """
        # A run's state is made when there is something to remember (most spans of a run
        # need none: a root model call alone has nothing to learn from or leave to others).
        state = self._runs.get(run)
        nested = False
        if state is not None:
            self._runs.move_to_end(run)
            nested = span_id in state.agent_below
            state.agent_below.discard(span_id)
        if (
            op is None
            and parent_id is None
            and state is not None
            and state.llm_calls
            and attrs.get(n.OPENINFERENCE_SPAN_KIND) == n.OPENINFERENCE_CHAIN
            and langchain_messages(attrs.get(n.INPUT_VALUE)) is not None
        ):
            op = "invoke_agent"
        if op == "invoke_agent" and nested and not has_content(attrs):
            op = None
        if parent_id is not None and (nested or op == "invoke_agent"):
            state = state or self._run(run)
            if len(state.agent_below) < MAX_PENDING:
                state.agent_below.add(parent_id)
        return op

    def end(self, run: str, parent_id: str | None) -> None:
        """A span of ``run`` was written: when it is the root, forget the run."""
        if parent_id is None:
            self._runs.pop(run, None)

    def settle(self, run: str, lines: list[dict[str, Any]], *, root: bool = False) -> None:
        """Complete the lines of one span from what the run's earlier spans said. A ``root``
        span ends its run: with no earlier span of the run known, there is nothing to do."""
        if root and run not in self._runs:
            return
        state = self._run(run)
        for line in lines:
            kind = line.get("kind")
            if kind == "llm_call":
                self._llm_call(state, line)
            elif kind == "tool_result":
                self._tool(state, line, lines)
            elif kind == "input" and "messages" not in line and state.first_input:
                line["messages"] = state.first_input[0]
                if state.first_input[1] is not None and "system" not in line:
                    line["system"] = state.first_input[1]
            elif kind == "final" and line.get("text") is None and state.last_output:
                line.setdefault("output", state.last_output)
                line["text"] = text_of(state.last_output)

    def _llm_call(self, state: _Run, line: dict[str, Any]) -> None:
        state.llm_calls += 1
        inp = line.get("input")
        if isinstance(inp, list):
            if state.first_input is None:
                state.first_input = (_as_parts(inp), line.get("system"))
            elif (
                state.tools
                and len(inp) <= len(state.first_input[0])
                and not any(
                    isinstance(m, dict) and m.get("role") in ("assistant", "tool") for m in inp
                )
            ):
                # The official agents-v2 bridge records the run's input on every model call,
                # not what the call was sent: drop it, so replay rebuilds the conversation.
                _unmove(line, n.GEN_AI_INPUT_MESSAGES, "/input")
        out = _as_parts(line.get("output"))
        if out:
            state.last_output = out
            for message in out:
                for part in message.get("parts") or () if isinstance(message, dict) else ():
                    if (
                        isinstance(part, dict)
                        and part.get("type") == "tool_call"
                        and len(state.pending) < MAX_PENDING
                    ):
                        state.pending.append(
                            [part.get("id"), part.get("name"), part.get("arguments")]
                        )

    def _tool(self, state: _Run, result: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        state.tools += 1
        call = next((line for line in lines if line.get("kind") == "tool_call"), None)
        call_id = result.get("id")
        name = result.get("name")
        match = None
        for i, pending in enumerate(state.pending):
            if (call_id is not None and pending[0] == call_id) or (
                call_id is None and (name is None or pending[1] == name)
            ):
                match = state.pending.pop(i)
                break
        if match is None:
            return
        if call_id is None and match[0] is not None:
            result["id"] = match[0]
            if call is not None:
                call["id"] = match[0]
        if call is not None and call.get("args") is None and match[2] is not None:
            call["args"] = match[2]


def _as_parts(messages: Any) -> list[Any]:
    """Messages in the parts form (a step may keep a provider's own form, e.g. Responses
    items from OpenInference's raw request and response)."""
    if not isinstance(messages, list):
        return []
    out = []
    for m in messages:
        if isinstance(m, dict) and "parts" not in m:
            # Broad: a shape no form knows is kept as it is (this runs on the export path).
            with contextlib.suppress(Exception):
                m = to_parts(m)
        out.append(m)
    return out


def _unmove(line: dict[str, Any], key: str, pointer: str) -> None:
    """Take the field at top-level ``pointer`` off ``line``; if attribute ``key`` had moved
    there, put it back into ``otel.attrs`` as the very string it was."""
    field = pointer[1:]
    value = line.pop(field, None)
    otel = line.get("otel")
    if not isinstance(otel, dict):
        return
    moved = otel.get("moved")
    if not isinstance(moved, dict) or key not in moved:
        return
    where = moved[key]
    if isinstance(where, str):
        where = [where, ""]
    if where[0] != pointer or len(where) > 2:
        line[field] = value
        return
    del moved[key]
    if not moved:
        del otel["moved"]
    codec = where[1]
    if codec == "json/o":
        raw = _codec.dumps(value).decode("utf-8")
    elif codec:
        raw = json.dumps(value, **JSON_STYLES[codec])
    else:
        raw = value
    otel.setdefault("attrs", {})[key] = raw
